"""Which model the scoring service serves, and switching to a new one without a restart.

The service polls its artifact location (SCORING_MODEL_DIR, or the registry's DEFAULT
pointer). When it names another artifact, or the artifact's files change, the new artifact is
loaded and checked in full (checksums, metadata, features this service can compute) before it
replaces the serving one. A corrupt or incompatible artifact is refused with the reason in the
log and in `scoring_model_reload_failures_total`; the previous model keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from prometheus_client import Counter, Gauge

from models.registry import (
    METADATA_FILE,
    SCORECARD_FILE,
    ModelArtifactError,
    default_artifact_dir,
    default_pointer,
    load_dir,
)
from services.scoring.evaluate import Model
from services.scoring.features import FEATURE_NAMES
from services.scoring.policy import GradePolicy

__all__ = ["ModelSource", "load_model"]

log = logging.getLogger(__name__)
RELOAD_FAILURES = Counter("scoring_model_reload_failures_total",
                          "Model artifacts refused at reload (the previous model kept serving)")
MODEL_INFO = Gauge("scoring_model_info", "The serving model (value 1)", ["version"])


MODEL_CARD_FILE = "model_card.md"


def load_model(directory: Path, policy: GradePolicy | None = None) -> Model:
    """Loads and checks an artifact; ModelArtifactError names the file and the reason.
    With `policy`, the model must have been trained for that grade policy: made for its
    version, and its points on the policy's scale, or the thresholds grade everyone wrongly."""
    card, metadata = load_dir(directory)
    if policy is not None:
        made_for = metadata.get("policy")
        fits = made_for.get("compatible_versions") if isinstance(made_for, dict) else None
        if not isinstance(fits, list) or policy.version not in fits:
            raise ModelArtifactError(
                directory / METADATA_FILE,
                f"made for grade policies {fits!r}, not {policy.version!r} that this service "
                "grades with: its points may be on another scale")
        # The version is the artifact's word; the scaling is what its points are made of.
        scale = policy.scale
        if not scale.is_scale_of(card.base_points, card.base_odds, card.pdo):
            raise ModelArtifactError(
                directory / SCORECARD_FILE,
                f"points scaled to {card.base_points:g} at odds {card.base_odds:g} with PDO "
                f"{card.pdo:g}, not to the grade policy's {scale.points:g} at odds "
                f"{scale.odds:g} with PDO {scale.pdo:g}")
    # GetModelCard serves it: an artifact without a readable card (e.g. half copied) is as
    # incomplete as one without its scorecard.
    try:
        (directory / MODEL_CARD_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelArtifactError(directory / MODEL_CARD_FILE, "missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelArtifactError(directory / MODEL_CARD_FILE, f"unreadable ({exc})") from None
    unknown = [n for n in card.names if n not in FEATURE_NAMES]
    if unknown:
        raise ModelArtifactError(directory / SCORECARD_FILE,
                                 f"characteristics this service cannot compute: {unknown}")
    return Model(card, metadata)


class ModelSource:
    """The artifact location and the identity of what was last loaded from it."""

    def __init__(self, fixed_dir: Path | None, registry: Path | None = None,
                 policy: GradePolicy | None = None) -> None:
        self.fixed_dir, self.registry = fixed_dir, registry
        self.policy = policy  # the grade policy a model must be made for
        self.loaded: tuple[Path, tuple[float, ...]] | None = None
        # What the last load read (stamped before reading): a refused artifact is remembered
        # as it was then, so a deploy that completes during the refusal is still noticed.
        self._attempted: tuple[Path, tuple[float, ...]] | None = None
        self._refused_pointer: tuple[float, ...] | None = None

    def directory(self) -> Path:
        """A fixed artifact directory, else the one the registry's DEFAULT names."""
        return self.fixed_dir or default_artifact_dir(self.registry)

    @staticmethod
    def _stamp_of(path: Path) -> tuple[float, ...]:
        try:
            return (path.stat().st_mtime,)
        except OSError:
            return (-1.0,)

    @classmethod
    def _stamp(cls, directory: Path) -> tuple[float, ...]:
        return tuple(t for name in (SCORECARD_FILE, METADATA_FILE, MODEL_CARD_FILE)
                     for t in cls._stamp_of(directory / name))

    def load(self) -> tuple[Model, Path]:
        """The current artifact, checked (raises ModelArtifactError); `serving` says when
        it serves."""
        self._attempted = None  # (a broken DEFAULT pointer fails before anything is read)
        directory = self.directory()
        stamp = self._stamp(directory)
        self._attempted = (directory, stamp)
        model = load_model(directory, self.policy)
        self.loaded = (directory, stamp)
        return model, directory

    @staticmethod
    def serving(model: Model) -> None:
        MODEL_INFO.clear()
        MODEL_INFO.labels(version=model.version).set(1)

    def _pointer(self) -> tuple[float, ...]:
        """The DEFAULT pointer's state (a fixed directory has none)."""
        if self.fixed_dir is not None:
            return ()
        return self._stamp_of(default_pointer(self.registry))

    def changed(self) -> bool:
        try:
            directory = self.directory()
        except ModelArtifactError:
            # A broken DEFAULT pointer: reported once, again only when the pointer changes.
            return self._refused_pointer != self._pointer()
        return self.loaded != (directory, self._stamp(directory))

    async def follow(self, install: Callable[[Model, Path], None], every: float) -> None:
        """Polls until cancelled; installs each new artifact that loads and checks clean."""
        while True:
            await asyncio.sleep(every)
            if not self.changed():
                continue
            try:
                model, directory = await asyncio.to_thread(self.load)
                install(model, directory)
            except Exception as exc:  # the loop must outlive any artifact
                RELOAD_FAILURES.inc()
                # Remember the refused state so that the log says it once, not every poll.
                self._refused_pointer = self._pointer()
                if self._attempted is not None:
                    self.loaded = self._attempted
                if isinstance(exc, ModelArtifactError):
                    log.error("model artifact refused; the previous model keeps serving",
                              extra={"path": str(exc.path), "reason": exc.reason})
                else:
                    log.exception("model artifact refused; the previous model keeps serving")
                continue
            self.serving(model)
            log.info("serving a new model", extra={"version": model.version,
                                                   "path": str(directory)})
