"""Generates the Python stubs of proto/credit/v1 into the `credit` package at the repo root.

`python proto/generate.py` writes them; `python proto/generate.py --check` fails (exit 1)
when the committed stubs differ from what the .proto files generate (drift).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
PACKAGE = "credit"


def _googleapis_include() -> str:
    # google/rpc/*.proto ship inside googleapis-common-protos, next to their _pb2 modules.
    spec = importlib.util.find_spec("google.rpc.status_pb2")
    if spec is None or spec.origin is None:
        raise SystemExit("googleapis-common-protos is not installed")
    return str(Path(spec.origin).parent.parent.parent)


def _grpc_tools_include() -> str:
    spec = importlib.util.find_spec("grpc_tools")
    assert spec is not None and spec.origin is not None
    return str(Path(spec.origin).parent / "_proto")


def generate(out: Path) -> list[Path]:
    protos = sorted(str(p.relative_to(PROTO_DIR)) for p in PROTO_DIR.rglob("*.proto"))
    args = [
        "protoc",
        f"-I{PROTO_DIR}",
        f"-I{_googleapis_include()}",
        f"-I{_grpc_tools_include()}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for package_dir in {p.parent for p in (out / PACKAGE).rglob("*.py")} | {out / PACKAGE}:
        (package_dir / "__init__.py").touch()
    return sorted(p.relative_to(out) for p in (out / PACKAGE).rglob("*") if p.is_file())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only compare, write nothing")
    check = parser.parse_args().check
    if not check:
        generate(ROOT)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        committed = sorted(
            p.relative_to(ROOT)
            for p in (ROOT / PACKAGE).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        )
        drift = [str(p) for p in fresh if (Path(tmp) / p).read_bytes() != _read(ROOT / p)]
        drift += [str(p) for p in committed if p not in fresh]
    if drift:
        print("generated stubs drift from proto/: " + ", ".join(drift), file=sys.stderr)
        print("run: python proto/generate.py", file=sys.stderr)
        return 1
    return 0


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


if __name__ == "__main__":
    sys.exit(main())
