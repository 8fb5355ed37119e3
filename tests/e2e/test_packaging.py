"""The installed wheel runs the platform: migrations, policies, the default model and the
dashboard travel with the code, and nothing is read from a checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.gateway_platform import platform
from tests.procs import ROOT

pytestmark = pytest.mark.e2e

# Files the services open at run time, besides their code.
DATA = (
    "services/records/migrations/env.py",
    "services/records/migrations/versions/0001_initial_records_schema.py",
    "services/scoring/migrations/env.py",
    "services/scoring/migrations/versions/0001_initial_scoring_schema.py",
    "services/scoring/policies/grade-policy-2025.1.json",
    "services/scoring/policies/grade-policy-2025.2.json",
    "services/scoring/policies/supervision-2025.1.json",
    "services/gateway/static/index.html",
    "services/gateway/static/app.js",
    "models/registry.py",
    "models/artifacts/DEFAULT",
)


def _build_wheel(tmp: Path) -> Path:
    """The wheel of a copy of the sources (a build in the checkout would leave build/)."""
    src = tmp / "src"
    for part in ("services", "credit", "models"):
        shutil.copytree(ROOT / part, src / part,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", src)
    dist = tmp / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(dist), str(src)], check=True, timeout=300)
    (wheel,) = dist.glob("credit_platform-*.whl")
    return wheel


def test_the_installed_wheel_runs_the_platform(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    wheel = _build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    assert not [f for f in DATA if f not in names]
    default = (ROOT / "models" / "artifacts" / "DEFAULT").read_text().strip()
    assert f"models/artifacts/{default}/scorecard.json" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    scripts = zipfile.ZipFile(wheel).read(entry_points).decode()
    for name in ("credit-records", "credit-scoring", "credit-gateway"):
        assert f"{name} = services." in scripts

    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(site), str(wheel)], check=True, timeout=300)
    run = tmp_path / "run"
    run.mkdir()
    # Every process below (and its HTTP workers) imports the installed copy: run elsewhere,
    # with the installed copy first on the path, ahead of the checkout's editable install.
    monkeypatch.setenv("PYTHONPATH", str(site))
    where = subprocess.run(
        [sys.executable, "-c", "import credit, models, services; "
         "print(credit.__file__, models.__file__, services.__file__)"],
        cwd=run, env=os.environ, capture_output=True, text=True, check=True, timeout=60)
    assert all(Path(p).is_relative_to(site) for p in where.stdout.split()), where.stdout

    with platform(run, cwd=run) as p, p.client("planner") as client:
        # Grades computed (migrations, policies, the default model) and explained.
        grade = client.get(f"/api/v1/entities/{p.seeded['grave']}/grade")
        assert grade.status_code == 200, grade.text
        body = grade.json()
        assert body["grade"]["grade"] == "D" and body["legal_basis"], body
        # The dashboard and its assets.
        page = client.get("/dashboard/")
        assert page.status_code == 200 and "<html" in page.text.lower()
        assert client.get("/dashboard/app.js").status_code == 200
