"""Train a scorecard from the records database with out-of-time validation.

    python -m models.train [--database-url URL] [--out models/artifacts] [--t1 DATE] [--t2 DATE]
        [--today DATE] [--min-iv 0.02] [--version V] [--set-default]
        [--synthetic-seed N --synthetic-entities N]

Design (the history export IS the records database, read through services.scoring.features,
so training sees exactly what grading sees):

* Training snapshot T1: features as of T1, label 1 when a new listed 一般/严重 record is decided
  in (T1, T1 + 12 months].  Validation snapshot T2 ≥ T1 + 12 months: the same as of T2, its
  label window ending on or before the data's "today".  Training outcomes all lie before T2, so
  validation is genuinely later in time than anything the fit saw.
* Defaults: today = the latest decision date in the records (the last day the data is known
  to cover), T2 = today − 12 months, T1 = T2 − 12 months.
* The population at a snapshot is every entity established on or before it (with or without
  records): an entity founded later was not there to be graded.
* Characteristics with IV below `--min-iv`, or with all rows in one bin, are dropped; then,
  one per refit, any whose coefficient has the wrong sign (its points would run against its
  own bad rates, a symptom of collinearity), then the least significant while its Wald
  p-value exceeds `--max-p` (the record counts overlap heavily).

The artifact directory <out>/<version>/ gets scorecard.json (the engine's strict format),
metadata.json, model_card.md and three PNG plots; nothing is pickled.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, func, select
from sqlalchemy.engine import make_url

from models.registry import (
    ARTIFACTS_DIR,
    METADATA_FILE,
    SCORECARD_FILE,
    ModelArtifactError,
    check_version,
    load_dir,
    set_default,
)
from services.records.models import Entity, Record
from services.records.rules.national import add_months
from services.records.store import open_store
from services.scoring.features import FEATURE_NAMES, FEATURES, feature_rows, labels
from services.scoring.policy import GRADES, GradePolicy, default_policy
from services.scoring.scorecard import (
    FORMAT_NAME,
    FORMAT_VERSION,
    MonotonicBinner,
    Scorecard,
    auc,
    calibration_table,
    gini,
    ks,
    psi,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "DEFAULT_MAX_P",
    "DEFAULT_MIN_IV",
    "HORIZON_MONTHS",
    "SPECIAL_VALUES",
    "BinningSettings",
    "DataInfo",
    "IvRow",
    "Snapshot",
    "TrainingError",
    "TrainingResult",
    "default_snapshot_dates",
    "main",
    "read_snapshot",
    "train",
    "train_database",
]

F64 = npt.NDArray[np.float64]
HORIZON_MONTHS: Final = 12
DEFAULT_MIN_IV: Final = 0.02
DEFAULT_MAX_P: Final = 0.05
# Sentinels documented in features.py ("-1: no record", "-1: not an agency"): they must get
# bins of their own, not sit at the low end of the numeric range next to real zeros.
SPECIAL_VALUES: Final[Mapping[str, tuple[float, ...]]] = {
    "months_since_last_listed": (-1.0,),
    "agency_reports_filed": (-1.0,),
}
assert set(SPECIAL_VALUES) <= set(FEATURE_NAMES)
# Characteristics kept out of a model unless its training run allows them (--allow), and why.
EXCLUDED: Final[Mapping[str, str]] = {
    "entity_age_years": (
        "for persons it is age from the date of birth; a person's age is no finding of "
        "dishonesty and no legal basis for differentiated supervision, so a grade rests on "
        "the entity's own credit record"),
}
assert set(EXCLUDED) <= set(FEATURE_NAMES)
DESCRIPTIONS: Final = {f.name: (f.zh, f.en) for f in FEATURES}
LABEL_DEFINITION: Final = (
    "1 (bad) when a new listed 一般 (general) or 严重 (serious) dishonesty record is decided in "
    "(as_of, as_of + 12 months] and not withdrawn by the end of that window; otherwise 0 (good)"
)
# Metrics are rounded in metadata: more digits are noise and would make diffs unreadable.
_DIGITS: Final = 6
_PLOT_SIZE: Final = (8.0, 5.0)  # inches at 100 dpi: 800 × 500 pixels
_PLOT_DPI: Final = 100


class TrainingError(Exception):
    """Training cannot proceed on this data with these settings."""


@dataclass(frozen=True)
class BinningSettings:
    n_prebins: int = 20
    min_bin_share: float = 0.05
    smoothing: float = 0.5


@dataclass(frozen=True)
class DataInfo:
    """What the model was trained on, for metadata and the model card."""

    description: str
    synthetic: bool
    today: date
    today_source: str
    history_start: date | None
    entities_in_database: int
    seed: int | None = None
    entities: int | None = None


@dataclass(frozen=True)
class Snapshot:
    """Features as of `as_of` and labels over (as_of, label_end] for one population."""

    as_of: date
    label_end: date
    entity_ids: npt.NDArray[np.int64]
    X: dict[str, F64]
    y: npt.NDArray[np.int8]
    not_established: int  # entities in the database founded after as_of, left out

    @property
    def rows(self) -> int:
        return int(self.y.size)

    @property
    def bads(self) -> int:
        return int(self.y.sum())


@dataclass(frozen=True)
class IvRow:
    name: str
    iv: float
    bins: int  # bins holding training rows
    trend: str
    status: str  # "selected", "dropped: <why>" or "excluded: <why>" (see EXCLUDED)


@dataclass(frozen=True)
class TrainingResult:
    version: str
    directory: Path
    scorecard: Scorecard
    metadata: dict[str, Any]
    train: Snapshot
    validation: Snapshot
    iv_table: list[IvRow] = field(default_factory=list)


# ------------------------------------------------------------------------------------ data


def default_snapshot_dates(today: date, t1: date | None = None,
                           t2: date | None = None) -> tuple[date, date]:
    """Fill in whichever of T1, T2 is missing: one horizon apart, T2 one horizon before today."""
    if t2 is None:
        t2 = add_months(t1, HORIZON_MONTHS) if t1 is not None else add_months(
            today, -HORIZON_MONTHS)
    if t1 is None:
        t1 = add_months(t2, -HORIZON_MONTHS)
    return t1, t2


def check_snapshot_dates(t1: date, t2: date, today: date) -> None:
    if add_months(t1, HORIZON_MONTHS) > t2:
        raise TrainingError(
            f"T2 {t2} must be at least {HORIZON_MONTHS} months after T1 {t1}, so that no "
            "training outcome falls in the validation period"
        )
    if add_months(t2, HORIZON_MONTHS) > today:
        raise TrainingError(
            f"the validation labels run to {add_months(t2, HORIZON_MONTHS)}, after the data's "
            f"today {today}: choose T2 on or before {add_months(today, -HORIZON_MONTHS)}"
        )


def _as_date(value: Any) -> date | None:
    # Aggregates come back as date or ISO text depending on the driver.
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def data_extent(conn: Connection) -> tuple[date | None, date | None, int]:
    """(first decision date, last decision date, number of entities) in the database."""
    first, last = conn.execute(select(func.min(Record.decided_on),
                                      func.max(Record.decided_on))).one()
    n = conn.execute(select(func.count()).select_from(Entity)).scalar_one()
    return _as_date(first), _as_date(last), int(n)


def read_snapshot(conn: Connection, as_of: date) -> Snapshot:
    """Feature rows as of `as_of` with their labels, for entities that existed by then."""
    ids: list[npt.NDArray[np.int64]] = []
    mats: list[F64] = []
    for batch in feature_rows(conn, as_of):
        ids.append(batch.entity_ids)
        mats.append(batch.matrix)
    if not ids:
        raise TrainingError("the records database has no entities")
    entity_ids = np.concatenate(ids)
    matrix = np.vstack(mats)
    label_of = labels(conn, as_of, HORIZON_MONTHS)
    y = np.fromiter((label_of[int(i)] for i in entity_ids), dtype=np.int8,
                    count=entity_ids.size)
    exists = matrix[:, FEATURE_NAMES.index("entity_age_years")] >= 0
    X = {name: np.ascontiguousarray(matrix[exists, j]) for j, name in enumerate(FEATURE_NAMES)}
    snap = Snapshot(as_of, add_months(as_of, HORIZON_MONTHS), entity_ids[exists], X, y[exists],
                    int((~exists).sum()))
    if snap.bads == 0 or snap.bads == snap.rows:
        raise TrainingError(
            f"snapshot {as_of}: {snap.bads} bads among {snap.rows} entities; training needs "
            "both goods and bads"
        )
    return snap


# ------------------------------------------------------------------------------- modelling


def screen_features(train: Snapshot, settings: BinningSettings, min_iv: float,
                    excluded: Mapping[str, str] = EXCLUDED) -> list[IvRow]:
    """IV of every characteristic on the training snapshot, binned as the scorecard bins it;
    an `excluded` one that would have been selected is marked with the reason instead."""
    rows: list[IvRow] = []
    for name in FEATURE_NAMES:
        binning = MonotonicBinner(
            name, n_prebins=settings.n_prebins, min_bin_share=settings.min_bin_share,
            special_values=SPECIAL_VALUES.get(name, ()), smoothing=settings.smoothing,
        ).fit(train.X[name], train.y).binning
        bins = int(np.count_nonzero(binning.goods + binning.bads))
        if bins < 2:
            # The engine refuses these: a constant WoE column is confounded with the intercept.
            status = "dropped: all rows in one bin"
        elif binning.iv < min_iv:
            status = f"dropped: IV below {min_iv:g}"
        elif name in excluded:
            status = f"excluded: {excluded[name]}"
        else:
            status = "selected"
        rows.append(IvRow(name, binning.iv, bins, binning.trend, status))
    return rows


def wald_p_values(card: Scorecard, snap: Snapshot) -> F64:
    """Two-sided Wald p-value of each coefficient, from the observed information matrix of
    the logistic fit on the WoE design (intercept included)."""
    woe = card.transform(snap.X)
    design = np.column_stack([np.ones(woe.shape[0]), woe])
    p = card.predict_proba(snap.X)[:, 1]
    info = design.T @ (design * (p * (1.0 - p))[:, np.newaxis])
    # pinv: exactly collinear columns must not abort training; elimination then removes one.
    se = np.sqrt(np.maximum(np.diag(np.linalg.pinv(info)), 0.0))[1:]
    z = np.abs(card.coefficients) / np.where(se > 0, se, np.inf)
    return np.array([math.erfc(v / math.sqrt(2.0)) for v in z.tolist()], dtype=np.float64)


def fit_scorecard(train: Snapshot, names: Sequence[str], settings: BinningSettings,
                  max_p: float = DEFAULT_MAX_P) -> tuple[Scorecard, dict[str, str]]:
    """Fit on `names`, then eliminate backwards, one characteristic per refit:

    1. a wrong-sign coefficient, largest first: WoE is positive for low-risk bins, so every
       coefficient should be negative; a positive one means the characteristic's points
       contradict its own bad rates (collinearity with the others), which makes the card
       and its reason codes misleading;
    2. then the least significant coefficient while its Wald p-value exceeds `max_p`:
       overlapping counts otherwise share the weight in slivers of a point each.

    Returns the scorecard and, per eliminated characteristic, why."""
    names = list(names)
    dropped: dict[str, str] = {}
    while True:
        if not names:
            raise TrainingError("no characteristic left to fit")
        card = Scorecard(
            n_prebins=settings.n_prebins, min_bin_share=settings.min_bin_share,
            special_values={n: SPECIAL_VALUES[n] for n in names if n in SPECIAL_VALUES},
            smoothing=settings.smoothing,
        ).fit({n: train.X[n] for n in names}, train.y,
              descriptions={n: DESCRIPTIONS[n] for n in names})
        coef = card.coefficients
        worst = int(np.argmax(coef))
        if coef[worst] > 0:
            dropped[names[worst]] = f"wrong-sign coefficient (+{coef[worst]:.3f})"
            del names[worst]
            continue
        p_values = wald_p_values(card, train)
        worst = int(np.argmax(p_values))
        if p_values[worst] <= max_p or len(names) == 1:
            return card, dropped
        dropped[names[worst]] = f"not significant (p = {p_values[worst]:.3f} > {max_p:g})"
        del names[worst]


def _r(value: float) -> float:
    return round(float(value), _DIGITS)


def _metrics(card: Scorecard, snap: Snapshot) -> dict[str, float]:
    risk = -card.score(snap.X)  # the metrics want risk: more points = lower risk
    return {"auc": _r(auc(snap.y, risk)), "ks": _r(ks(snap.y, risk)),
            "gini": _r(gini(snap.y, risk))}


def _grade_codes(policy: GradePolicy, scores: F64) -> npt.NDArray[np.intp]:
    # Vectorised policy.score_grade: the number of thresholds the score falls below.
    thresholds = np.asarray(policy.thresholds, dtype=np.float64)
    codes: npt.NDArray[np.intp] = (scores[:, np.newaxis] < thresholds).sum(axis=1)
    return codes


def _grades(policy: GradePolicy, scores: F64, y: npt.NDArray[np.int8]) -> list[dict[str, Any]]:
    codes = _grade_codes(policy, scores)
    out = []
    for k, grade in enumerate(GRADES):
        m = codes == k
        n = int(m.sum())
        out.append({"grade": grade, "count": n, "share": _r(n / scores.size),
                    "bads": int(y[m].sum()),
                    "bad_rate": _r(y[m].mean()) if n else None})
    return out


def _by_kind(conn: Connection, card: Scorecard, snap: Snapshot) -> list[dict[str, Any]]:
    """Validation performance per entity kind: one model serves enterprises, agencies,
    institutions and persons alike, so a kind it ranks badly must be visible."""
    kind_of = {int(i): str(k) for i, k in conn.execute(select(Entity.id, Entity.kind))}
    kinds = np.array([kind_of[int(i)] for i in snap.entity_ids])
    scores = card.score(snap.X)
    out = []
    for kind in sorted(set(kinds.tolist())):
        m = kinds == kind
        y = snap.y[m]
        both = 0 < int(y.sum()) < y.size
        out.append({"kind": kind, "count": int(m.sum()), "bad_rate": _r(y.mean()),
                    "mean_score": _r(scores[m].mean()),
                    "auc": _r(auc(y, -scores[m])) if both else None})
    return out


def _policy_block(card: Scorecard, policy: GradePolicy) -> dict[str, Any]:
    same = policy.scale.is_scale_of(card.base_points, card.base_odds, card.pdo)
    return {
        "compatible_versions": [policy.version] if same else [],
        "checked_against": policy.version,
        "scale": {"points": policy.scale.points, "odds": policy.scale.odds,
                  "pdo": policy.scale.pdo},
        "thresholds": dict(zip(GRADES[:3], policy.thresholds, strict=True)),
        "note": ("points are on the policy's scale, so its thresholds apply as they stand"
                 if same else "the scorecard's scaling differs from the policy's scale: "
                 "its thresholds do NOT apply to these points"),
    }


# ----------------------------------------------------------------------------------- plots


def _figure() -> Figure:
    # The object API with an explicit Agg canvas: no pyplot global state, no display needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=_PLOT_SIZE, dpi=_PLOT_DPI)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> None:
    # No "Software" stamp: the bytes then depend on the data only, not the library version.
    fig.savefig(path, dpi=_PLOT_DPI, format="png", metadata={"Software": None})


def _plot_distribution(path: Path, scores: F64, y: npt.NDArray[np.int8],
                       policy: GradePolicy) -> None:
    fig = _figure()
    ax = fig.add_subplot()
    bins = np.linspace(float(np.floor(scores.min())), float(np.ceil(scores.max())), 41)
    for mask, label, color in ((y == 0, "good", "#2b7bba"), (y == 1, "bad", "#d7301f")):
        ax.hist(scores[mask], bins=bins.tolist(), density=True, alpha=0.55, color=color,
                label=f"{label} (n={int(mask.sum()):,})")
    for grade, t in zip(GRADES[:3], policy.thresholds, strict=True):
        ax.axvline(t, color="0.3", linestyle=":", linewidth=1)
        ax.text(t, ax.get_ylim()[1] * 0.97, f" {grade} ≥ {t:g}", fontsize=8, va="top")
    ax.set_xlabel("score (points; more = lower risk)")
    ax.set_ylabel("density")
    ax.set_title("Validation score distribution: goods vs bads")
    ax.legend(loc="upper left")
    fig.tight_layout()
    _save(fig, path)


def _plot_roc(path: Path, curves: Sequence[tuple[str, npt.NDArray[np.int8], F64, float]]) -> None:
    from sklearn.metrics import roc_curve

    fig = _figure()
    ax = fig.add_subplot()
    for label, y, scores, area in curves:
        fpr, tpr, _ = roc_curve(y, -scores)
        ax.plot(fpr, tpr, label=f"{label} (AUC {area:.3f})")
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="chance")
    ax.set_xlabel("false positive rate (goods flagged)")
    ax.set_ylabel("true positive rate (bads flagged)")
    ax.set_title("ROC: training (T1) and out-of-time validation (T2)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    _save(fig, path)


def _plot_ks(path: Path, scores: F64, y: npt.NDArray[np.int8], ks_value: float) -> None:
    t = np.unique(scores)
    cdf_bad = np.searchsorted(np.sort(scores[y == 1]), t, side="right") / max(int(y.sum()), 1)
    cdf_good = np.searchsorted(np.sort(scores[y == 0]), t, side="right") / max(
        int((y == 0).sum()), 1)
    k = int(np.argmax(np.abs(cdf_bad - cdf_good)))
    fig = _figure()
    ax = fig.add_subplot()
    ax.step(t, cdf_bad, where="post", color="#d7301f", label="bads: cumulative share")
    ax.step(t, cdf_good, where="post", color="#2b7bba", label="goods: cumulative share")
    ax.vlines(t[k], cdf_good[k], cdf_bad[k], color="k", linewidth=2,
              label=f"KS {ks_value:.3f} at {t[k]:.1f} points")
    ax.set_xlabel("score (points; more = lower risk)")
    ax.set_ylabel("share at or below score")
    ax.set_title("KS on validation (T2)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    _save(fig, path)


# ------------------------------------------------------------------------------ model card


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join("—" if c is None else str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _interval(lower: float | None, upper: float | None) -> str:
    # None stands for an infinite end (JSON has no infinity).
    if lower is None:
        return "all" if upper is None else f"≤ {upper:.4f}"
    return f"> {lower:.4f}" if upper is None else f"({lower:.4f}, {upper:.4f}]"


def _psi_reading(value: float) -> str:
    if value < 0.1:
        return "stable (< 0.10)"
    if value < 0.25:
        return "moderate shift (0.10–0.25): investigate"
    return "major shift (≥ 0.25): the population changed, retrain or investigate"


def model_card(meta: Mapping[str, Any], card: Scorecard) -> str:
    data, snaps, metrics = meta["data"], meta["snapshots"], meta["metrics"]
    tr, va = snaps["train"], snaps["validation"]
    synthetic = bool(data["synthetic"])
    out: list[str] = [f"# Model card: {meta['version']}", ""]
    if synthetic:
        who = ", ".join(
            p for p in (f"seed {data['seed']}" if data.get("seed") is not None else "",
                        f"{data['entities']:,} entities" if data.get("entities") else "") if p)
        out += [
            f"> **SYNTHETIC MODEL.** Trained on synthetic data generated by "
            f"`services.records.demo`{f' ({who})' if who else ''}, not on real credit records. "
            "Its points and grades say nothing about any real entity: do not use them for real "
            "decisions. It exists so that the platform runs end to end and so that the "
            "training pipeline is exercised and reviewable.", "",
        ]
    val = metrics["validation"]
    out += [
        _table(["", ""], [
            ["Version", f"`{meta['version']}`"],
            ["Created", meta["created"]],
            ["Artifact", f"`{SCORECARD_FILE}` ({FORMAT_NAME} v{FORMAT_VERSION}), sha256 "
                         f"`{meta['scorecard_sha256'][:16]}…`"],
            ["Data", "synthetic (generated)" if synthetic else "records database history"],
            ["Characteristics", f"{len(meta['features'])} of {len(meta['iv_table'])}"],
            ["Training snapshot (T1)", f"{tr['as_of']}: {tr['rows']:,} entities, "
                                       f"bad rate {tr['bad_rate']:.2%}"],
            ["Validation snapshot (T2)", f"{va['as_of']}: {va['rows']:,} entities, "
                                         f"bad rate {va['bad_rate']:.2%}"],
            ["Validation AUC / KS / Gini", f"{val['auc']:.3f} / {val['ks']:.3f} / "
                                           f"{val['gini']:.3f}"],
            ["Score PSI (T1 → T2)", f"{meta['psi']:.4f}"],
            ["Grade policy", ", ".join(meta["policy"]["compatible_versions"]) or
             "NOT compatible: " + meta["policy"]["note"]],
        ]), "",
        "## Intended use", "",
        "Rank the entities on the public-credit platform (enterprises, credit service agencies, "
        "institutions, persons) by the risk of a new 一般 (general) or 严重 (serious) "
        "dishonesty record within the next 12 months. The score feeds the grade policy "
        f"({meta['policy']['checked_against']}: A ≥ {meta['policy']['thresholds']['A']:g}, "
        f"B ≥ {meta['policy']['thresholds']['B']:g}, C ≥ {meta['policy']['thresholds']['C']:g} "
        "points), whose hard rules override the score, and the reason codes that explain a "
        "grade. It is decision support for supervision (e.g. how often an entity is drawn for "
        "双随机 inspection); it is not a finding of dishonesty, not a lending model, and no "
        "right of an entity should turn on the score without human review.", "",
        "## Data", "",
    ]
    if synthetic:
        out += [
            "**Synthetic.** The records database was filled by the demo generator "
            "(`services.records.demo`): every entity has a hidden propensity (a lognormal "
            "yearly rate of records shifted by region, industry and segment, modulated by a "
            "persistent quarterly factor), and records arrive as a Poisson process at that "
            "rate. The metrics below therefore show that the pipeline recovers a signal the "
            "generator planted; they say nothing about how well history predicts real "
            "records.", "",
        ]
    out += [
        _table(["", ""], [
            ["Source", data["description"]],
            ["Synthetic", "yes" if synthetic else "no"],
            ["Generator seed / entities", f"{data.get('seed')} / {data.get('entities')}"
             if synthetic else "—"],
            ["Data's today", f"{data['today']} ({data['today_source']})"],
            ["Earliest decision in the data", data["history_start"]],
            ["Entities in the database", f"{data['entities_in_database']:,}"],
        ]), "",
        "Population at a snapshot: every entity established on or before it, with or without "
        "records (left out as not yet established: "
        f"{tr['not_established']:,} at T1, {va['not_established']:,} at T2). Features are "
        "computed by `services.scoring.features` exactly as grading computes them (listed, "
        "not withdrawn, not shielded records decided on or before the snapshot), so no "
        "record decided after a snapshot enters its features. They are read as the database "
        "holds the records today, though: a record entered or corrected after the snapshot "
        "(while decided before it) counts as it now stands. On history loaded at once, as "
        "this synthetic one, that changes nothing; on real history it lets later knowledge "
        "into past snapshots, which flatters the validation.", "",
        "## Label", "",
        f"{meta['label']['definition']}. Horizon {meta['label']['horizon_months']} months "
        "(`services.scoring.features.labels`). Shields do not apply to the label: it is the "
        "event itself.", "",
        "## Validation method", "",
        "Out of time. The model is fitted on the training snapshot T1 only (binning, IV "
        "screening, coefficients); it is evaluated unchanged on T2, a later snapshot whose "
        "outcome window starts when the training outcome window ends. Metrics take a "
        "risk-oriented score (−points).", "",
        _table(["Snapshot", "as of", "label window", "entities", "bads", "bad rate"], [
            [name, s["as_of"], f"({s['as_of']}, {s['label_end']}]", f"{s['rows']:,}",
             f"{s['bads']:,}", f"{s['bad_rate']:.2%}"]
            for name, s in (("training (T1)", tr), ("validation (T2)", va))
        ]), "",
        "## Metrics", "",
        _table(["", "AUC", "KS", "Gini"], [
            [name, f"{m['auc']:.4f}", f"{m['ks']:.4f}", f"{m['gini']:.4f}"]
            for name, m in (("training (T1)", metrics["train"]), ("validation (T2)", val))
        ]), "",
        "![ROC](roc.png)", "", "![KS](ks.png)", "",
        "![Score distribution](score_distribution.png)", "",
        "Validation by entity kind (one model serves all kinds):", "",
        _table(["kind", "entities", "bad rate", "mean score", "AUC"], [
            [k["kind"], f"{k['count']:,}", f"{k['bad_rate']:.2%}", f"{k['mean_score']:.1f}",
             None if k["auc"] is None else f"{k['auc']:.3f}"] for k in meta["by_kind"]
        ]), "",
        "## Characteristics and information value", "",
        "IV on the training snapshot, with the scorecard's own binning. Dropped: IV below "
        f"{meta['selection']['min_iv']:g} or all rows in one bin; then, one per refit, a "
        "wrong-sign coefficient (points running against the characteristic's own bad rates, "
        "a sign of collinearity) and the least significant coefficient while its Wald p-value "
        f"exceeds {meta['selection']['max_p']:g}. The record counts overlap heavily (totals, "
        "per category, per source), so a dropped characteristic with a high IV is usually "
        "carried by a selected one. Entity kind is not a characteristic, so empty bins "
        "(e.g. sources or agency findings absent from the data) show as one bin.", "",
        _table(["characteristic", "中文", "IV", "bins", "bad rate trend", "status"], [
            [f"`{r['name']}`", DESCRIPTIONS[r["name"]][0], f"{r['iv']:.4f}", r["bins"],
             r["trend"], "excluded (see the fairness notes)"
             if r["status"].startswith("excluded") else r["status"]] for r in meta["iv_table"]
        ]), "",
        "Fitted coefficients (on WoE; negative = more points for lower-risk bins):", "",
        _table(["characteristic", "coefficient", "Wald p-value"], [
            [f"`{c['name']}`", f"{c['coefficient']:+.4f}", f"{c['p_value']:.3g}"]
            for c in meta["coefficients"]
        ]), "",
        "## Calibration (validation)", "",
        "Deciles of predicted P(bad) on T2 against what happened. The model's base rate is "
        "T1's; a shift of the bad rate between T1 and T2 shows here as a uniform gap.", "",
        _table(["P(bad) in", "entities", "mean predicted", "observed bad rate",
                "expected bads", "observed bads"], [
            [_interval(c["lower"], c["upper"]), f"{c['count']:,}",
             f"{c['mean_predicted']:.4f}", f"{c['observed_bad_rate']:.4f}",
             f"{c['expected_bads']:.1f}", f"{c['observed_bads']:,}"]
            for c in meta["calibration"]
        ]), "",
        "Grades from the score alone on T2 (before hard rules):", "",
        _table(["grade", "entities", "share", "bads", "bad rate"], [
            [g["grade"], f"{g['count']:,}", f"{g['share']:.2%}", f"{g['bads']:,}",
             None if g["bad_rate"] is None else f"{g['bad_rate']:.2%}"]
            for g in meta["grades_validation"]
        ]), "",
        "## Stability", "",
        f"PSI of the score, training (T1) → validation (T2), on T1's deciles: "
        f"**{meta['psi']:.4f}**, {_psi_reading(meta['psi'])}. Monitor it on every regrade: "
        "above 0.25 the model no longer sees the population it was fitted on.", "",
        "## Scorecard", "",
        "```", card.to_text(), "```", "",
        "## Limitations and fairness notes", "",
    ]
    if synthetic:
        out += ["- **The data is synthetic.** Nothing here is evidence about real entities; "
                "the shipped model must be retrained on real history before its grades mean "
                "anything.", ]
    out += [
        "- The label is a *recorded* finding, not behaviour: it depends on how intensely each "
        "department and region inspects and enforces. The model learns enforcement patterns "
        "along with conduct, and entities already inspected more often accumulate more "
        "records.",
        "- Feedback loop: grades steer supervision (双随机 draw frequency), supervision "
        "produces records, records become labels and features. Retraining on data shaped by "
        "an earlier model can entrench its grades; compare against random-draw outcomes "
        "where they exist.",
        "- Every characteristic counts past records (plus entity age where allowed). An "
        "entity without history, new or simply unobserved, gets the same points as a "
        "long-clean one; thin files are not evidence of good conduct.",
        *(["- `entity_age_years` is selected (allowed for this run). For persons it is age "
           "from the date of birth, for organisations years since establishment: its top "
           "bins largely separate persons from organisations, and for persons it makes age "
           "itself a scoring factor. Check the per-kind table."]
          if "entity_age_years" in meta["features"] else []),
        *([f"- `{name}` was excluded from the candidates (its IV would have selected it): "
           f"{reason}. A training run admits it only with `--allow {name}`, a decision to "
           "record in the model's review." for name, reason in
           meta["selection"].get("excluded", {}).items()]),
        "- Region, industry and entity kind are not characteristics, but outcomes differ by "
        "them; check the per-kind table above (and regions) before use, and check that a "
        "grade gap between groups is explained by records, not by who was inspected.",
        "- Records shielded by a bankruptcy reorganisation (国办发〔2025〕22号 九) are "
        "excluded from features, as grading excludes them.",
        "- Calibration is tied to T1's base rate; if the bad rate moves, ranking (AUC, KS) "
        "can hold while probabilities drift. Grade thresholds are set in points, so a drift "
        "moves entities between grades.",
        "- Validation covers one later period; a single out-of-time window cannot show how "
        "the model degrades over several years.",
        "", "## How to retrain on real history", "",
        "```sh",
        "# the records database is the history export; features and labels are read from it",
        ".venv/bin/python -m models.train --database-url postgresql://USER@HOST/DB \\",
        "    --t1 YYYY-MM-DD --t2 YYYY-MM-DD   # optional: default T2 = today − 12 months, "
        "T1 = T2 − 12 months",
        "```", "",
        "T2 must be at least 12 months after T1 and at most 12 months before the data's "
        "today (by default the latest decision date in the records). Review the new "
        "model_card.md (metrics, IV table, calibration, PSI, per-kind table) and then make it "
        "the default with `python -m models.registry set-default VERSION`. See "
        "models/README.md.", "",
    ]
    if meta.get("warnings"):
        out += ["## Warnings", "", *(f"- {w}" for w in meta["warnings"]), ""]
    return "\n".join(out)


# ------------------------------------------------------------------------------- training


def _redacted(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL fails later when opened; never echo it raw
        return "(unparsable database URL)"


def train(conn: Connection, out: Path, *, data: DataInfo, t1: date, t2: date,
          min_iv: float = DEFAULT_MIN_IV, max_p: float = DEFAULT_MAX_P,
          settings: BinningSettings | None = None, version: str | None = None,
          created: datetime | None = None, policy: GradePolicy | None = None,
          allow: Collection[str] = ()) -> TrainingResult:
    """Train on `conn`'s records and write <out>/<version>/; returns what was written.
    `allow` admits characteristics that EXCLUDED keeps out."""
    unknown = sorted(set(allow) - set(EXCLUDED))
    if unknown:
        raise TrainingError(f"--allow {', '.join(unknown)}: only excluded characteristics "
                            f"can be allowed ({', '.join(EXCLUDED)})")
    excluded = {k: v for k, v in EXCLUDED.items() if k not in allow}
    settings = settings or BinningSettings()
    policy = policy or default_policy()
    created = (created or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    if version is not None:
        check_version(version)
    check_snapshot_dates(t1, t2, data.today)

    train_snap = read_snapshot(conn, t1)
    val_snap = read_snapshot(conn, t2)
    iv_rows = screen_features(train_snap, settings, min_iv, excluded)
    candidates = [r.name for r in iv_rows if r.status == "selected"]
    if not candidates:
        raise TrainingError(f"no characteristic reaches IV {min_iv:g}")
    card, eliminated = fit_scorecard(train_snap, candidates, settings, max_p)
    iv_rows = [IvRow(r.name, r.iv, r.bins, r.trend, f"dropped: {eliminated[r.name]}")
               if r.name in eliminated else r for r in iv_rows]
    p_values = wald_p_values(card, train_snap)

    train_scores, val_scores = card.score(train_snap.X), card.score(val_snap.X)
    metrics = {"train": _metrics(card, train_snap), "validation": _metrics(card, val_snap)}
    calibration = [
        {"lower": None if math.isinf(c.lower) else _r(c.lower),
         "upper": None if math.isinf(c.upper) else _r(c.upper),
         "count": c.count, "mean_predicted": _r(c.mean_predicted),
         "observed_bad_rate": _r(c.observed_bad_rate), "expected_bads": _r(c.expected_bads),
         "observed_bads": c.observed_bads}
        for c in calibration_table(card.predict_proba(val_snap.X)[:, 1], val_snap.y)
    ]
    warnings: list[str] = []
    window_start = add_months(t1, -36) + timedelta(days=1)
    if data.history_start is not None and data.history_start > window_start:
        warnings.append(
            f"the earliest record is dated {data.history_start}, after the first day of T1's "
            f"36-month window ({window_start}): if the history starts there, the 36-month "
            "characteristics see a truncated window at T1 and shift between T1 and T2"
        )
    if metrics["validation"]["auc"] < 0.65:
        warnings.append(f"validation AUC {metrics['validation']['auc']:.3f} is below 0.65")

    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out, prefix=".staging-"))
    try:
        card.save(staging / SCORECARD_FILE)
        raw = (staging / SCORECARD_FILE).read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        version = version or f"scorecard-{created:%Y%m%d}-{digest[:8]}"
        meta: dict[str, Any] = {
            "version": version,
            "created": created.isoformat().replace("+00:00", "Z"),
            "scorecard_file": SCORECARD_FILE,
            "scorecard_sha256": digest,
            "engine": {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
                       "binning": {"n_prebins": settings.n_prebins,
                                   "min_bin_share": settings.min_bin_share,
                                   "smoothing": settings.smoothing,
                                   "special_values": {k: list(v)
                                                      for k, v in SPECIAL_VALUES.items()}},
                       "scaling": {"base_points": card.base_points, "base_odds": card.base_odds,
                                   "pdo": card.pdo, "round_points": card.round_points},
                       "regularisation": "none (maximum likelihood)"},
            "data": {"description": data.description, "synthetic": data.synthetic,
                     "generator": "services.records.demo" if data.synthetic else None,
                     "seed": data.seed, "entities": data.entities,
                     "today": data.today.isoformat(), "today_source": data.today_source,
                     "history_start": None if data.history_start is None
                     else data.history_start.isoformat(),
                     "entities_in_database": data.entities_in_database},
            "label": {"definition": LABEL_DEFINITION, "horizon_months": HORIZON_MONTHS,
                      "categories": ["general", "serious"],
                      "function": "services.scoring.features.labels"},
            "snapshots": {
                name: {"as_of": s.as_of.isoformat(), "label_end": s.label_end.isoformat(),
                       "rows": s.rows, "bads": s.bads, "bad_rate": _r(s.bads / s.rows),
                       "not_established": s.not_established}
                for name, s in (("train", train_snap), ("validation", val_snap))
            },
            "features": card.names,
            "selection": {"min_iv": min_iv, "max_p": max_p,
                          "dropped": {r.name: r.status.removeprefix("dropped: ")
                                      for r in iv_rows if r.status.startswith("dropped")},
                          "excluded": {r.name: r.status.removeprefix("excluded: ")
                                       for r in iv_rows if r.status.startswith("excluded")}},
            "coefficients": [
                {"name": n, "coefficient": _r(c), "p_value": float(f"{p:.3g}")}
                for n, c, p in zip(card.names, card.coefficients.tolist(), p_values.tolist(),
                                   strict=True)
            ],
            "iv_table": [{"name": r.name, "iv": _r(r.iv), "bins": r.bins, "trend": r.trend,
                          "status": r.status} for r in iv_rows],
            "metrics": metrics,
            "psi": _r(psi(train_scores, val_scores)),
            "calibration": calibration,
            "grades_validation": _grades(policy, val_scores, val_snap.y),
            "by_kind": _by_kind(conn, card, val_snap),
            "policy": _policy_block(card, policy),
            "warnings": warnings,
        }
        (staging / METADATA_FILE).write_text(
            json.dumps(meta, ensure_ascii=False, indent=2, allow_nan=False) + "\n",
            encoding="utf-8")
        (staging / "model_card.md").write_text(model_card(meta, card), encoding="utf-8")
        _plot_distribution(staging / "score_distribution.png", val_scores, val_snap.y, policy)
        _plot_roc(staging / "roc.png", [
            ("training (T1)", train_snap.y, train_scores, metrics["train"]["auc"]),
            ("validation (T2)", val_snap.y, val_scores, metrics["validation"]["auc"]),
        ])
        _plot_ks(staging / "ks.png", val_scores, val_snap.y, metrics["validation"]["ks"])
        # mkstemp/mkdtemp make files private; an artifact is meant to be read and shipped.
        staging.chmod(0o755)
        for path in staging.iterdir():
            path.chmod(0o644)
        target = out / version
        _install(staging, target, raw)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    load_dir(target)  # what was written must pass the registry's own checks
    return TrainingResult(version, target, card, meta, train_snap, val_snap, iv_rows)


def _install(staging: Path, target: Path, raw: bytes) -> None:
    """Move the finished artifact into place; a version is never silently replaced by a
    different model (retraining the same model rewrites it, which is harmless)."""
    if target.exists():
        existing = target / SCORECARD_FILE
        if not existing.is_file() or existing.read_bytes() != raw:
            raise TrainingError(
                f"{target} already holds a different model: choose another --version")
        shutil.rmtree(target)
    os.replace(staging, target)


def train_database(url: str, out: Path, *, t1: date | None = None, t2: date | None = None,
                   today: date | None = None, min_iv: float = DEFAULT_MIN_IV,
                   max_p: float = DEFAULT_MAX_P, settings: BinningSettings | None = None,
                   version: str | None = None, created: datetime | None = None,
                   synthetic_seed: int | None = None,
                   synthetic_entities: int | None = None, description: str | None = None,
                   today_source: str = "given", allow: Collection[str] = ()) -> TrainingResult:
    """Open the records database at `url` (read only, no migration) and train from it."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:" and not Path(path).is_file():
            raise TrainingError(f"no records database at {path}")
    store = open_store(url, migrate_schema=False, pool_size=1)
    try:
        with store.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                # One snapshot of the database for every query: both samples and the extent
                # must describe the same data even while ingestion goes on.
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                first, last, n_entities = data_extent(conn)
                if today is None:
                    if last is None:
                        raise TrainingError("the records database holds no records")
                    today, source = last, "latest decision date in the records"
                else:
                    source = today_source
                t1, t2 = default_snapshot_dates(today, t1, t2)
                synthetic = synthetic_seed is not None or synthetic_entities is not None
                info = DataInfo(
                    description=description or f"records database {_redacted(url)}",
                    synthetic=synthetic, today=today, today_source=source,
                    history_start=first, entities_in_database=n_entities,
                    seed=synthetic_seed, entities=synthetic_entities)
                return train(conn, out, data=info, t1=t1, t2=t2, min_iv=min_iv,
                             max_p=max_p, settings=settings, version=version, created=created,
                             allow=allow)
    finally:
        store.engine.dispose()


def report(result: TrainingResult) -> str:
    """The console summary of a training run."""
    meta = result.metadata
    lines = [f"model {result.version} -> {result.directory}"]
    if meta["data"]["synthetic"]:
        lines.append("SYNTHETIC data: not for real decisions")
    for name in ("train", "validation"):
        s, m = meta["snapshots"][name], meta["metrics"][name]
        lines.append(f"{name:<10} as of {s['as_of']}: {s['rows']:,} entities, bad rate "
                     f"{s['bad_rate']:.2%}; AUC {m['auc']:.4f} KS {m['ks']:.4f} "
                     f"Gini {m['gini']:.4f}")
    lines.append(f"score PSI train -> validation: {meta['psi']:.4f}")
    lines.append("IV table (training):")
    lines += [f"  {r['name']:<32} IV {r['iv']:.4f}  bins {r['bins']}  {r['status']}"
              for r in meta["iv_table"]]
    lines.append("calibration (validation): mean predicted vs observed bad rate")
    lines += [f"  n={c['count']:>7,}  {c['mean_predicted']:.4f}  {c['observed_bad_rate']:.4f}"
              for c in meta["calibration"]]
    lines += [f"warning: {w}" for w in meta["warnings"]]
    return "\n".join(lines)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {text!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m models.train",
        description="Train a scorecard from the records database with out-of-time validation.")
    ap.add_argument("--database-url", default=None,
                    help="records database (default: RECORDS_DATABASE_URL or "
                         "sqlite:///data/records.db)")
    ap.add_argument("--out", type=Path, default=ARTIFACTS_DIR,
                    help="artifacts directory (default: models/artifacts)")
    ap.add_argument("--t1", type=_date, help="training snapshot (default: T2 − 12 months)")
    ap.add_argument("--t2", type=_date,
                    help="validation snapshot (default: today − 12 months, or T1 + 12 months)")
    ap.add_argument("--today", type=_date,
                    help="the data's today (default: latest decision date in the records)")
    ap.add_argument("--min-iv", type=float, default=DEFAULT_MIN_IV,
                    help="drop characteristics with a lower IV (default 0.02)")
    ap.add_argument("--max-p", type=float, default=DEFAULT_MAX_P,
                    help="eliminate characteristics whose Wald p-value exceeds this (0.05)")
    ap.add_argument("--n-prebins", type=int, default=BinningSettings.n_prebins)
    ap.add_argument("--min-bin-share", type=float, default=BinningSettings.min_bin_share)
    ap.add_argument("--version", help="artifact version (default: scorecard-YYYYMMDD-<hash>)")
    ap.add_argument("--allow", action="append", default=[], choices=sorted(EXCLUDED),
                    metavar="NAME",
                    help="admit a characteristic kept out by default (" + ", ".join(
                        f"{k}: {v}" for k, v in EXCLUDED.items()) + "); repeatable")
    ap.add_argument("--set-default", action="store_true",
                    help="make the new model the default (models/artifacts/DEFAULT)")
    ap.add_argument("--synthetic-seed", type=int,
                    help="the data is demo-generated with this seed (recorded in metadata)")
    ap.add_argument("--synthetic-entities", type=int,
                    help="the data is demo-generated with this many entities (recorded)")
    args = ap.parse_args(argv)
    url = args.database_url or os.environ.get("RECORDS_DATABASE_URL", "sqlite:///data/records.db")
    try:
        result = train_database(
            url, args.out, t1=args.t1, t2=args.t2, today=args.today, min_iv=args.min_iv,
            max_p=args.max_p,
            settings=BinningSettings(args.n_prebins, args.min_bin_share),
            version=args.version, synthetic_seed=args.synthetic_seed,
            synthetic_entities=args.synthetic_entities, allow=args.allow)
        if args.set_default:
            set_default(result.version, args.out)
    except (TrainingError, ModelArtifactError, ValueError) as exc:
        print(f"train: {exc}", file=sys.stderr)
        return 2
    print(report(result))
    if args.set_default:
        print(f"default model is now {result.version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
