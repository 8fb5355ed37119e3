"""The committed gRPC stubs are exactly what proto/ generates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_committed_stubs_match_the_protos() -> None:
    check = subprocess.run([sys.executable, "proto/generate.py", "--check"], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr


def test_drift_is_detected(tmp_path: Path) -> None:
    # A copy of the repository's proto/ and stubs with one stub edited must fail the check.
    import shutil

    for part in ("proto", "credit"):
        shutil.copytree(ROOT / part, tmp_path / part,
                        ignore=shutil.ignore_patterns("__pycache__"))
    stub = tmp_path / "credit" / "v1" / "records_pb2.pyi"
    stub.write_text(stub.read_text() + "\n# edited by hand\n")
    check = subprocess.run([sys.executable, "proto/generate.py", "--check"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 1 and "records_pb2.pyi" in check.stderr
