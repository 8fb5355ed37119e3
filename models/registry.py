"""Versioned scorecard artifacts under models/artifacts/<version>/, and which one is the default.

    python -m models.registry show                # the default version and its metrics
    python -m models.registry set-default VERSION # validate VERSION, then point DEFAULT at it

An artifact directory holds `scorecard.json` (the engine's JSON format), `metadata.json`,
`model_card.md` and plots; `DEFAULT` is a one-line text file naming the default version.
Loading is strict: a missing, corrupt or inconsistent artifact raises `ModelArtifactError`
naming the file, so a service can refuse it and keep the model it has.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from services.scoring.scorecard import Scorecard, ScorecardFormatError

__all__ = [
    "ARTIFACTS_DIR",
    "DEFAULT_FILE",
    "METADATA_FILE",
    "SCORECARD_FILE",
    "VERSION_RE",
    "ModelArtifactError",
    "check_version",
    "default_artifact_dir",
    "default_pointer",
    "default_version",
    "load_default",
    "load_dir",
    "load_version",
    "set_default",
]

ARTIFACTS_DIR: Final = Path(__file__).resolve().parent / "artifacts"
DEFAULT_FILE: Final = "DEFAULT"
SCORECARD_FILE: Final = "scorecard.json"
METADATA_FILE: Final = "metadata.json"
# A version is one path component: no separators, no leading dot (no "..", no hidden dirs).
VERSION_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class ModelArtifactError(Exception):
    """A model artifact is missing, unreadable or inconsistent; `path` names the culprit."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"model artifact {path}: {reason}")


def _root(root: Path | None) -> Path:
    return ARTIFACTS_DIR if root is None else Path(root)


def check_version(version: str) -> str:
    if not VERSION_RE.fullmatch(version):
        raise ValueError(
            f"invalid model version {version!r}: letters, digits, '.', '_', '-' only, "
            "starting with a letter or digit, at most 100 characters"
        )
    return version


def default_version(root: Path | None = None) -> str:
    """The version named by <root>/DEFAULT."""
    path = _root(root) / DEFAULT_FILE
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ModelArtifactError(path, "missing (no default model chosen)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelArtifactError(path, f"unreadable ({exc})") from None
    try:
        return check_version(text)
    except ValueError as exc:
        raise ModelArtifactError(path, str(exc)) from None


def default_pointer(root: Path | None = None) -> Path:
    """The DEFAULT file that names the default version."""
    return _root(root) / DEFAULT_FILE


def default_artifact_dir(root: Path | None = None) -> Path:
    """The directory of the default model (not checked; `load_default` checks it)."""
    return _root(root) / default_version(root)


# A scorecard is a few characteristics of a few bins: kilobytes. A file far beyond that is no
# model of ours, and loading it (a 159 MB one took 18 s and 700 MB) would stall the service.
MAX_SCORECARD_BYTES = 10 * 1024 * 1024


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def load_dir(directory: Path) -> tuple[Scorecard, dict[str, Any]]:
    """Load and cross-check one artifact directory: (scorecard, metadata)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelArtifactError(directory, "no such artifact directory")
    card_path = directory / SCORECARD_FILE
    try:
        size = card_path.stat().st_size
        if size > MAX_SCORECARD_BYTES:  # checked before reading it all, let alone parsing
            raise ModelArtifactError(card_path, f"{size:,} bytes; a scorecard is at most "
                                                f"{MAX_SCORECARD_BYTES:,}")
        raw = card_path.read_bytes()
    except FileNotFoundError:
        raise ModelArtifactError(card_path, "missing") from None
    except OSError as exc:
        raise ModelArtifactError(card_path, f"unreadable ({exc})") from None
    try:
        card = Scorecard.loads(raw)  # the very bytes the checksum below is taken of
    except ScorecardFormatError as exc:
        raise ModelArtifactError(card_path, exc.reason) from None

    meta_path = directory / METADATA_FILE
    try:
        # Strict JSON: NaN or Infinity would reach GetModelCard's clients as invalid JSON.
        meta = json.loads(meta_path.read_text(encoding="utf-8"), parse_constant=_no_constant)
    except FileNotFoundError:
        raise ModelArtifactError(meta_path, "missing") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelArtifactError(meta_path, f"unreadable or not JSON ({str(exc)[:200]})"
                                 ) from None
    if not isinstance(meta, dict):
        raise ModelArtifactError(meta_path, "expected a JSON object")
    if meta.get("version") != directory.name:
        raise ModelArtifactError(
            meta_path, f"version {meta.get('version')!r} does not match the directory name"
        )
    # The checksum ties the metadata (metrics, data, model card) to exactly this scorecard.
    digest = hashlib.sha256(raw).hexdigest()
    if meta.get("scorecard_sha256") != digest:
        raise ModelArtifactError(
            card_path, f"sha256 {digest} differs from metadata.json's scorecard_sha256"
        )
    if meta.get("features") != card.names:
        raise ModelArtifactError(meta_path, "features differ from the scorecard's characteristics")
    return card, meta


def load_version(version: str, root: Path | None = None) -> tuple[Scorecard, dict[str, Any]]:
    try:
        check_version(version)
    except ValueError as exc:
        raise ModelArtifactError(_root(root), str(exc)) from None
    return load_dir(_root(root) / version)


def load_default(root: Path | None = None) -> tuple[Scorecard, dict[str, Any]]:
    """The default model: (scorecard, metadata)."""
    return load_dir(default_artifact_dir(root))


def set_default(version: str, root: Path | None = None) -> None:
    """Point DEFAULT at `version` after loading it (a broken artifact never becomes default)."""
    load_version(version, root)
    target = _root(root) / DEFAULT_FILE
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".DEFAULT.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(version + "\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m models.registry",
                                 description="Show or choose the default scorecard model.")
    ap.add_argument("--root", type=Path, default=None, help=f"default: {ARTIFACTS_DIR}")
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("show", help="print the default version and its validation metrics")
    sd = sub.add_parser("set-default", help="validate VERSION and make it the default")
    sd.add_argument("version")
    args = ap.parse_args(argv)
    try:
        if args.command == "set-default":
            set_default(args.version, args.root)
            print(f"default model: {args.version}")
            return 0
        _, meta = load_default(args.root)
    except ModelArtifactError as exc:
        print(f"registry: {exc}", file=sys.stderr)
        return 1
    val = meta.get("metrics", {}).get("validation", {})
    synthetic = " (SYNTHETIC data)" if meta.get("data", {}).get("synthetic") else ""
    print(f"default model: {meta['version']}{synthetic}")
    print("validation: " + ", ".join(f"{k.upper()} {v:.4f}" for k, v in val.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
