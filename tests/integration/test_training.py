"""Scorecard training end to end: a small demo history in SQLite, out-of-time snapshots, the
artifact on disk, the strict loader, determinism, and the registry on the shipped model."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from models import registry
from models.train import TrainingError, TrainingResult, main, train_database
from services.records import demo
from services.records.rules.national import add_months
from services.records.store import open_store
from services.scoring.features import FEATURE_NAMES
from services.scoring.policy import default_policy
from services.scoring.scorecard import Scorecard
from services.scoring.serving import ModelSource, load_model

TODAY = date(2025, 11, 20)
SEED = 7
N = 3_000
CREATED = datetime(2025, 11, 20, tzinfo=UTC)
PII_KEY = b"training-test-key-" + b"t" * 32
FILES = ("scorecard.json", "metadata.json", "model_card.md", "score_distribution.png",
         "roc.png", "ks.png")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass
class Trained:
    url: str
    first: TrainingResult
    second: TrainingResult  # same inputs, another output directory


def _train(url: str, out: Path) -> TrainingResult:
    return train_database(url, out, today=TODAY, created=CREATED, synthetic_seed=SEED,
                          synthetic_entities=N, description="demo history for the tests")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    base = tmp_path_factory.mktemp("training")
    url = f"sqlite:///{base / 'records.db'}"
    store = open_store(url, pii_key=PII_KEY, clock=lambda: TODAY)
    try:
        assert demo.load(store, SEED, N, today=TODAY).rejected == 0
    finally:
        store.engine.dispose()
    yield Trained(url, _train(url, base / "a"), _train(url, base / "b"))


def test_artifact_files_exist(trained: Trained) -> None:
    d = trained.first.directory
    assert d.name == trained.first.version
    assert trained.first.version.startswith("scorecard-20251120-")
    for name in FILES:
        assert (d / name).is_file(), name


def test_saved_scorecard_scores_like_the_fitted_one(trained: Trained) -> None:
    loaded = Scorecard.load(trained.first.directory / "scorecard.json")
    X = trained.first.validation.X
    assert loaded.names == trained.first.scorecard.names
    np.testing.assert_array_equal(loaded.score(X), trained.first.scorecard.score(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), trained.first.scorecard.predict_proba(X))


def test_metadata_records_snapshots_metrics_and_data(trained: Trained) -> None:
    meta = json.loads((trained.first.directory / "metadata.json").read_text(encoding="utf-8"))
    assert meta["version"] == trained.first.version
    assert meta["created"] == "2025-11-20T00:00:00Z"
    t1 = date.fromisoformat(meta["snapshots"]["train"]["as_of"])
    t2 = date.fromisoformat(meta["snapshots"]["validation"]["as_of"])
    today = date.fromisoformat(meta["data"]["today"])
    assert today == TODAY
    assert t1 < t2 and add_months(t1, 12) <= t2 and add_months(t2, 12) <= today
    assert (t1, t2) == (date(2023, 11, 20), date(2024, 11, 20))  # the derived defaults
    for part in ("train", "validation"):
        assert set(meta["metrics"][part]) == {"auc", "ks", "gini"}
        m = meta["metrics"][part]
        assert m["gini"] == pytest.approx(2 * m["auc"] - 1, abs=1e-5)
    assert meta["data"]["synthetic"] is True
    assert (meta["data"]["seed"], meta["data"]["entities"]) == (SEED, N)
    assert [r["name"] for r in meta["iv_table"]] == list(FEATURE_NAMES)
    assert meta["features"] == trained.first.scorecard.names
    selected = [r["name"] for r in meta["iv_table"] if r["status"] == "selected"]
    assert selected == meta["features"]
    low = [r for r in meta["iv_table"] if r["iv"] < meta["selection"]["min_iv"]]
    assert low and all(r["status"].startswith("dropped") for r in low)
    assert all(c["coefficient"] < 0 for c in meta["coefficients"])
    assert 0 <= meta["psi"] < 0.25
    assert sum(c["count"] for c in meta["calibration"]) == trained.first.validation.rows
    assert "grade-policy-2025.2" in meta["policy"]["compatible_versions"]
    assert meta["label"]["horizon_months"] == 12


def test_history_predicts_out_of_time(trained: Trained) -> None:
    assert trained.first.metadata["metrics"]["validation"]["auc"] > 0.6


def test_plots_are_real_pngs(trained: Trained) -> None:
    for name in ("score_distribution.png", "roc.png", "ks.png"):
        raw = (trained.first.directory / name).read_bytes()
        assert raw[:8] == PNG_MAGIC, name
        assert raw[12:16] == b"IHDR"
        assert struct.unpack(">II", raw[16:24]) == (800, 500)
        assert 10_000 < len(raw) < 200_000, (name, len(raw))


def test_model_card_says_synthetic(trained: Trained) -> None:
    card = (trained.first.directory / "model_card.md").read_text(encoding="utf-8")
    assert "SYNTHETIC MODEL" in card and "synthetic" in card.lower()
    for section in ("## Intended use", "## Data", "## Label", "## Validation method",
                    "## Metrics", "## Characteristics and information value", "## Calibration",
                    "## Stability", "## Limitations and fairness notes",
                    "## How to retrain on real history"):
        assert section in card


def test_same_inputs_same_bytes(trained: Trained) -> None:
    a, b = trained.first.directory, trained.second.directory
    assert trained.first.version == trained.second.version
    for name in FILES:  # `created` is fixed, so every file matches, plots included
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_cli_defaults_from_the_data_and_no_synthetic_claim(trained: Trained,
                                                            tmp_path: Path) -> None:
    assert main(["--database-url", trained.url, "--out", str(tmp_path), "--version", "v1",
                 "--set-default"]) == 0
    card, meta = registry.load_default(tmp_path)
    assert meta["version"] == "v1" and card.names == meta["features"]
    assert meta["data"]["synthetic"] is False
    assert meta["data"]["today_source"] == "latest decision date in the records"
    today = date.fromisoformat(meta["data"]["today"])
    assert today <= TODAY
    assert add_months(date.fromisoformat(meta["snapshots"]["validation"]["as_of"]), 12) <= today
    text = (tmp_path / "v1" / "model_card.md").read_text(encoding="utf-8")
    assert "SYNTHETIC MODEL" not in text


def test_a_persons_age_stays_out_unless_a_run_allows_it(trained: Trained,
                                                         tmp_path: Path) -> None:
    meta = trained.first.metadata
    assert "entity_age_years" not in meta["features"]
    row = next(r for r in meta["iv_table"] if r["name"] == "entity_age_years")
    # Kept out for the reason, not for weakness: its IV alone would have selected it.
    assert row["iv"] >= meta["selection"]["min_iv"] and row["bins"] > 1
    assert row["status"].startswith("excluded: ") and "age" in row["status"]
    assert meta["selection"]["excluded"] == {
        "entity_age_years": row["status"].removeprefix("excluded: ")}
    assert "entity_age_years" not in meta["selection"]["dropped"]
    card = (trained.first.directory / "model_card.md").read_text(encoding="utf-8")
    assert "`entity_age_years` was excluded" in card and "--allow entity_age_years" in card
    allowed = train_database(trained.url, tmp_path, today=TODAY, allow=["entity_age_years"])
    row = next(r for r in allowed.metadata["iv_table"] if r["name"] == "entity_age_years")
    assert not row["status"].startswith("excluded")
    assert allowed.metadata["selection"]["excluded"] == {}
    with pytest.raises(TrainingError, match="only excluded characteristics can be allowed"):
        train_database(trained.url, tmp_path, today=TODAY, allow=["n_listed_12m"])
    with pytest.raises(SystemExit):  # the command line offers only the excluded ones
        main(["--database-url", trained.url, "--allow", "n_listed_12m"])


def test_snapshot_dates_are_checked(trained: Trained, tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="after the data's today"):
        train_database(trained.url, tmp_path, today=TODAY, t2=date(2025, 1, 1))
    with pytest.raises(TrainingError, match="at least 12 months after T1"):
        train_database(trained.url, tmp_path, today=TODAY, t1=date(2024, 1, 1),
                       t2=date(2024, 6, 1))


def test_a_version_is_not_replaced_by_another_model(trained: Trained, tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "scorecard.json").write_text("{}", encoding="utf-8")
    with pytest.raises(TrainingError, match="already holds a different model"):
        train_database(trained.url, tmp_path, today=TODAY, version="taken")
    assert (tmp_path / "taken" / "scorecard.json").read_text(encoding="utf-8") == "{}"
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]  # no staging left behind


# ---------------------------------------------------------------------------- registry


def test_shipped_default_loads() -> None:
    version = (registry.ARTIFACTS_DIR / "DEFAULT").read_text(encoding="utf-8").strip()
    assert registry.default_artifact_dir() == registry.ARTIFACTS_DIR / version
    card, meta = registry.load_default()
    assert meta["version"] == version
    assert card.names == meta["features"]
    assert meta["data"]["synthetic"] is True
    assert meta["metrics"]["validation"]["auc"] > 0.65
    assert "SYNTHETIC MODEL" in (registry.default_artifact_dir() / "model_card.md").read_text(
        encoding="utf-8")


def _copy_shipped(root: Path) -> Path:
    version = registry.default_version()
    target = root / version
    shutil.copytree(registry.default_artifact_dir(), target)
    (root / "DEFAULT").write_text(version + "\n", encoding="utf-8")
    registry.load_default(root)  # the intact copy loads
    return target


def _tamper_points(d: Path) -> None:
    data = json.loads((d / "scorecard.json").read_text(encoding="utf-8"))
    data["characteristics"][0]["points"][0] += 5.0
    (d / "scorecard.json").write_text(json.dumps(data), encoding="utf-8")


def _edit_scorecard(d: Path, intercept: str) -> None:
    """The scorecard's intercept replaced by raw JSON text, the checksum made to match (so
    only the loader's own checks stand between the text and the service)."""
    text = (d / "scorecard.json").read_text(encoding="utf-8")
    start = text.index('"intercept": ')
    end = min(text.index(c, start) for c in ",\n" if c in text[start:])
    raw = (text[:start] + intercept + text[end:]).encode()
    (d / "scorecard.json").write_bytes(raw)
    meta = json.loads((d / "metadata.json").read_text(encoding="utf-8"))
    meta["scorecard_sha256"] = hashlib.sha256(raw).hexdigest()
    (d / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")


def test_a_model_made_for_another_grade_policy_is_refused(tmp_path: Path) -> None:
    target = _copy_shipped(tmp_path)
    policy = default_policy()
    assert load_model(target, policy).version == target.name
    meta = json.loads((target / "metadata.json").read_text(encoding="utf-8"))
    meta["policy"]["compatible_versions"] = ["grade-policy-2099.1"]
    (target / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(registry.ModelArtifactError, match="another scale") as info:
        load_model(target, policy)
    assert info.value.path == target / "metadata.json"
    with pytest.raises(registry.ModelArtifactError, match="another scale"):
        ModelSource(target, None, policy).load()


def test_a_model_whose_points_are_on_another_scale_is_refused(tmp_path: Path) -> None:
    """The version list is the artifact's word; its scaling is checked against the policy's
    numbers too (600 points at odds 50, PDO 20), or the thresholds would grade everyone."""
    policy = default_policy()
    for field, value in (("pdo", 40.0), ("base_points", 500.0), ("base_odds", 20.0)):
        target = _copy_shipped(tmp_path / field)
        data = json.loads((target / "scorecard.json").read_text(encoding="utf-8"))
        data["scaling"][field] = value
        # Points that follow from the new scaling (the loader checks them): the Scorecard
        # docstring's points_ij = -(β_j · WoE_ij + α / n) · factor + offset / n.
        scaling, chars = data["scaling"], data["characteristics"]
        factor = scaling["pdo"] / math.log(2)
        offset = scaling["base_points"] - factor * math.log(scaling["base_odds"])
        for c in chars:
            c["points"] = [-(c["coefficient"] * w + data["intercept"] / len(chars)) * factor
                           + offset / len(chars) for w in c["woe"]]
        raw = json.dumps(data).encode()
        (target / "scorecard.json").write_bytes(raw)
        meta = json.loads((target / "metadata.json").read_text(encoding="utf-8"))
        meta["scorecard_sha256"] = hashlib.sha256(raw).hexdigest()
        (target / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
        assert load_model(target).version == target.name  # a sound artifact, on its own scale
        with pytest.raises(registry.ModelArtifactError,
                           match="not to the grade policy's 600 at odds 50 with PDO 20") as info:
            load_model(target, policy)
        assert info.value.path == target / "scorecard.json"


def _swap_model(d: Path) -> None:
    # A valid scorecard, but not the one the metadata (metrics, model card) describes.
    data = json.loads((d / "scorecard.json").read_text(encoding="utf-8"))
    data["scaling"]["base_points"] = 700.0
    card = Scorecard.from_dict({**data, "characteristics": [
        {**c, "points": [p + 100.0 / len(data["characteristics"]) for p in c["points"]]}
        for c in data["characteristics"]]})
    card.save(d / "scorecard.json")


@pytest.mark.parametrize(("corrupt", "culprit", "message"), [
    (lambda d: (d / "scorecard.json").write_bytes(
        (d / "scorecard.json").read_bytes()[:200]), "scorecard.json", "not valid JSON"),
    (_tamper_points, "scorecard.json", "do not follow from"),
    (_swap_model, "scorecard.json", "differs from metadata.json"),
    (lambda d: (d / "scorecard.json").unlink(), "scorecard.json", "missing"),
    (lambda d: (d / "metadata.json").write_text("[", encoding="utf-8"), "metadata.json",
     "not JSON"),
    # Hostile numbers: refused as malformed, never an OverflowError or a traceback.
    (lambda d: _edit_scorecard(d, '"intercept": 1' + "0" * 400), "scorecard.json",
     "out of range|not valid JSON"),
    (lambda d: _edit_scorecard(d, '"intercept": ' + "[" * 100_000), "scorecard.json",
     "not valid JSON"),
    (lambda d: (d / "metadata.json").write_text(
        (d / "metadata.json").read_text(encoding="utf-8").replace(
            '"auc": ', '"auc": NaN, "was": ', 1), encoding="utf-8"),
     "metadata.json", "NaN is not JSON"),
    # Far beyond any scorecard: refused by its size, before it is read.
    (lambda d: os.truncate(d / "scorecard.json", registry.MAX_SCORECARD_BYTES + 1),
     "scorecard.json", "a scorecard is at most"),
])
def test_registry_rejects_a_corrupt_copy(tmp_path: Path, corrupt: Callable[[Path], object],
                                         culprit: str, message: str) -> None:
    target = _copy_shipped(tmp_path)
    corrupt(target)
    with pytest.raises(registry.ModelArtifactError, match=message) as info:
        registry.load_default(tmp_path)
    assert info.value.path == target / culprit
    assert str(target / culprit) in str(info.value)
    with pytest.raises(registry.ModelArtifactError):
        registry.set_default(target.name, tmp_path)  # a broken artifact never becomes default


def test_registry_names_a_missing_default_or_version(tmp_path: Path) -> None:
    with pytest.raises(registry.ModelArtifactError, match="DEFAULT") as info:
        registry.load_default(tmp_path)
    assert str(tmp_path / "DEFAULT") in str(info.value)
    with pytest.raises(registry.ModelArtifactError, match="no such artifact directory"):
        registry.load_version("scorecard-19990101-00000000", tmp_path)
    with pytest.raises(registry.ModelArtifactError, match="invalid model version"):
        registry.load_version("../elsewhere", tmp_path)
