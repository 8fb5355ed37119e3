"""Scorecard engine: binning, WoE/IV, points, reason codes, JSON artifacts, metrics.

Expected numbers are computed independently in the tests (by hand with math.log, or with
scikit-learn directly), never by calling the code under test a second time.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.linear_model import LogisticRegression

from services.scoring.scorecard import (
    FORMAT_NAME,
    FORMAT_VERSION,
    Binning,
    MonotonicBinner,
    Scorecard,
    ScorecardFormatError,
    auc,
    calibration_table,
    gini,
    ks,
    psi,
)

Data = tuple[dict[str, npt.NDArray[np.float64]], npt.NDArray[np.int64]]

SPECIAL = -1.0  # "not applicable" in the synthetic data


def synthetic(n: int, k: int, seed: int) -> Data:
    """k noisy characteristics, alternately raising and lowering risk; -1 and NaN sprinkled in."""
    rng = np.random.default_rng(seed)
    z = np.full(n, -2.5)
    cols: dict[str, npt.NDArray[np.float64]] = {}
    for j in range(k):
        x = rng.uniform(0.0, 100.0, n)
        z += (0.01 + 0.002 * j) * (x - 50.0) * (1 if j % 2 else -1)
        x[rng.random(n) < 0.03] = np.nan
        x[rng.random(n) < 0.03] = SPECIAL
        cols[f"c{j:02d}"] = x
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-z))).astype(np.int64)
    return cols, y


@pytest.fixture(scope="module")
def data() -> Data:
    return synthetic(20_000, 6, seed=7)


@pytest.fixture(scope="module")
def card(data: Data) -> Scorecard:
    X, y = data
    descriptions = {n: (f"{n} 中文说明", f"{n} English text") for n in X}
    return Scorecard(special_values=[SPECIAL]).fit(X, y, descriptions=descriptions)


def bench_score(rows: int, characteristics: int = 15) -> float:
    """Rows per second of Scorecard.score on `rows` synthetic rows (timing only, no assertion).

    Fits on a 20,000-row sample, then times the best of three score() calls on a columnar
    mapping of float64 arrays; used by the benchmarks as well as the test below.
    """
    X, y = synthetic(20_000, characteristics, seed=11)
    card = Scorecard(special_values=[SPECIAL]).fit(X, y)
    big, _ = synthetic(rows, characteristics, seed=12)
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        card.score(big)
        best = min(best, time.perf_counter() - start)
    return rows / best


# --------------------------------------------------------------------------------------------
# WoE / IV by hand


def hand_data() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """x=1: 40 good/20 bad; x=2: 60/15; x=3: 90/10; special -1: 8/2; no missing values."""
    parts = [(1.0, 40, 20), (2.0, 60, 15), (3.0, 90, 10), (SPECIAL, 8, 2)]
    x = np.concatenate([np.full(g + b, v) for v, g, b in parts])
    y = np.concatenate([np.r_[np.zeros(g), np.ones(b)] for _, g, b in parts]).astype(np.int64)
    return x, y


def test_woe_iv_match_hand_computation_with_smoothing() -> None:
    x, y = hand_data()
    binner = MonotonicBinner("x", special_values=[SPECIAL]).fit(x, y)
    b = binner.binning
    assert b.trend == "descending"  # bad rates 1/3, 1/5, 1/10
    assert b.labels == ["(-inf, 1]", "(1, 2]", "(2, inf]", "Special -1", "Missing"]
    assert b.goods.tolist() == [40, 60, 90, 8, 0]
    assert b.bads.tolist() == [20, 15, 10, 2, 0]

    # K = 5 bins, 0.5 pseudo-rows per bin and class: goods 198 + 2.5, bads 47 + 2.5.
    g_tot, b_tot = 198 + 5 * 0.5, 47 + 5 * 0.5
    pg = [40.5 / g_tot, 60.5 / g_tot, 90.5 / g_tot, 8.5 / g_tot, 0.5 / g_tot]
    pb = [20.5 / b_tot, 15.5 / b_tot, 10.5 / b_tot, 2.5 / b_tot, 0.5 / b_tot]
    woe = [math.log(g / b) for g, b in zip(pg, pb, strict=True)]
    iv = [(g - b) * w for g, b, w in zip(pg, pb, woe, strict=True)]
    assert woe[4] == pytest.approx(math.log(49.5 / 200.5))  # empty missing bin: finite
    np.testing.assert_allclose(b.woe, woe, rtol=1e-12)
    np.testing.assert_allclose(b.iv_contributions, iv, rtol=1e-12)
    assert b.iv == pytest.approx(sum(iv), rel=1e-12)

    rows = binner.table()
    assert [r.label for r in rows][-1] == "Total"
    first, total = rows[0], rows[-1]
    assert (first.count, first.goods, first.bads) == (60, 40, 20)
    assert first.share == pytest.approx(60 / 245)
    assert first.bad_rate == pytest.approx(20 / 60)
    assert first.woe == pytest.approx(woe[0])
    assert rows[4].bad_rate is None and rows[4].count == 0
    assert (total.count, total.goods, total.bads, total.woe) == (245, 198, 47, None)
    assert total.iv == pytest.approx(sum(iv))
    text = binner.to_text()
    assert "Special -1" in text and "Missing" in text and "Total" in text

    # transform: right-closed bins, specials and NaN routed to their own bins.
    got = binner.transform(np.array([0.5, 1.0, 1.5, 2.0, 2.5, 99.0, SPECIAL, np.nan]))
    np.testing.assert_allclose(
        got, [woe[0], woe[0], woe[1], woe[1], woe[2], woe[2], woe[3], woe[4]], rtol=1e-12
    )


def test_smoothing_is_configurable() -> None:
    x, y = hand_data()
    b = MonotonicBinner("x", special_values=[SPECIAL], smoothing=2.0).fit(x, y).binning
    g_tot, b_tot = 198 + 5 * 2.0, 47 + 5 * 2.0
    assert b.woe[0] == pytest.approx(math.log((42 / g_tot) / (22 / b_tot)), rel=1e-12)
    assert b.woe[4] == pytest.approx(math.log((2 / g_tot) / (2 / b_tot)), rel=1e-12)


# --------------------------------------------------------------------------------------------
# Monotonic binning


def numeric_rates(b: Binning) -> npt.NDArray[np.float64]:
    m = b.n_numeric
    rates: npt.NDArray[np.float64] = b.bads[:m] / (b.goods[:m] + b.bads[:m])
    return rates


def noisy_monotone(n: int, seed: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 100.0, n)
    p = 0.04 + 0.25 * x / 100.0 + rng.normal(0.0, 0.04, n)  # noisy, increasing in x
    y = (rng.random(n) < np.clip(p, 0.0, 1.0)).astype(np.int64)
    x[rng.random(n) < 0.02] = SPECIAL  # 2 % share: below min_bin_share, still its own bin
    x[rng.random(n) < 0.03] = np.nan
    return x, y


def test_bad_rate_is_monotone_and_special_missing_kept_apart() -> None:
    x, y = noisy_monotone(20_000, seed=3)
    b = MonotonicBinner("x", special_values=[SPECIAL]).fit(x, y).binning
    assert b.trend == "ascending"
    rates = numeric_rates(b)
    assert b.n_numeric >= 3
    assert np.all(np.diff(rates) > 0)
    assert b.edges[0] == -np.inf and b.edges[-1] == np.inf
    assert b.labels[-2:] == ["Special -1", "Missing"]
    special, missing = x == SPECIAL, np.isnan(x)
    assert b.goods[-2] + b.bads[-2] == special.sum()
    assert b.bads[-2] == y[special].sum()
    assert b.goods[-1] + b.bads[-1] == missing.sum()
    assert b.bads[-1] == y[missing].sum()
    # every numeric bin holds at least 5 % of all rows and both classes
    counts = b.goods[: b.n_numeric] + b.bads[: b.n_numeric]
    assert np.all(counts >= 0.05 * x.size)
    assert np.all(b.goods[: b.n_numeric] > 0) and np.all(b.bads[: b.n_numeric] > 0)


def u_shaped(n: int, seed: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, n)
    y = (rng.random(n) < 0.05 + 0.3 * x**2 + 0.08 * x).astype(np.int64)
    return x, y


@pytest.mark.parametrize("trend", ["ascending", "descending"])
def test_forced_trend_is_respected(trend: Any) -> None:
    x, y = u_shaped(20_000, seed=5)
    b = MonotonicBinner("x", trend=trend).fit(x, y).binning
    assert b.trend == trend
    steps = np.diff(numeric_rates(b))
    assert b.n_numeric >= 2
    assert np.all(steps > 0) if trend == "ascending" else np.all(steps < 0)


def test_auto_trend_picks_the_larger_iv() -> None:
    x, y = u_shaped(20_000, seed=5)
    ivs = {
        t: MonotonicBinner("x", trend=t).fit(x, y).binning.iv for t in ("ascending", "descending")
    }
    auto = MonotonicBinner("x").fit(x, y).binning
    assert auto.trend == max(ivs, key=lambda t: ivs[t])
    assert auto.iv == pytest.approx(max(ivs.values()))


def test_small_and_pure_bins_are_merged() -> None:
    rng = np.random.default_rng(9)
    x = rng.uniform(0.0, 100.0, 10_000)
    # Nobody with x < 30 is bad: the pure pre-bins there must merge with a bin that has bads.
    y = ((x >= 30) & (rng.random(x.size) < 0.05 + 0.2 * x / 100)).astype(np.int64)
    b = MonotonicBinner("x", min_bin_share=0.2).fit(x, y).binning
    counts = b.goods[: b.n_numeric] + b.bads[: b.n_numeric]
    assert np.all(counts >= 0.2 * x.size)
    assert np.all(b.bads[: b.n_numeric] > 0) and np.all(b.goods[: b.n_numeric] > 0)
    assert b.n_numeric <= 5


def test_prebins_deduplicate_edges_on_discrete_data() -> None:
    rng = np.random.default_rng(2)
    x = rng.choice([0.0, 1.0, 2.0], size=5_000, p=[0.7, 0.2, 0.1])
    y = (rng.random(x.size) < np.array([0.05, 0.2, 0.4])[x.astype(int)]).astype(np.int64)
    b = MonotonicBinner("x").fit(x, y).binning
    assert b.edges.tolist() == [-np.inf, 0.0, 1.0, np.inf]
    assert b.labels[:3] == ["(-inf, 0]", "(0, 1]", "(1, inf]"]


def test_searchsorted_path_matches_reference() -> None:
    # Many edges take the np.searchsorted branch; check it against a plain reference.
    edges = np.r_[-np.inf, np.arange(60.0), np.inf]
    n_bins = 61 + 1 + 1
    b = Binning(
        "x", edges, (-5.0,), np.ones(n_bins, np.int64), np.ones(n_bins, np.int64), "ascending", 0.5
    )
    x = np.r_[np.arange(-2.0, 63.0, 0.5), -5.0, np.nan, np.inf, -np.inf]
    expected: npt.NDArray[np.intp] = np.asarray(np.searchsorted(edges[1:-1], x, side="left"))
    expected[x == -5.0] = 61
    expected[np.isnan(x)] = 62
    np.testing.assert_array_equal(b.index(x), expected)
    few = Binning(
        "x",
        np.r_[-np.inf, 1.0, 2.0, np.inf],
        (),
        np.ones(4, np.int64),
        np.ones(4, np.int64),
        "ascending",
        0.5,
    )
    np.testing.assert_array_equal(
        few.index(np.array([1.0, 1.5, 2.0, 2.5, np.nan, -np.inf])), [0, 1, 1, 2, 3, 0]
    )


# --------------------------------------------------------------------------------------------
# Points


def logit(p: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    out: npt.NDArray[np.float64] = np.log(p / (1.0 - p))
    return out


def test_points_reproduce_the_logistic_log_odds(card: Scorecard, data: Data) -> None:
    X, y = data
    factor = 20 / math.log(2)
    offset = 600 - factor * math.log(50)
    assert card.factor == pytest.approx(factor) and card.offset == pytest.approx(offset)

    # Independent fit of the same logistic model on the scorecard's WoE matrix.
    woe = card.transform(X)
    lr = LogisticRegression(C=np.inf, max_iter=1000, tol=1e-8).fit(woe, y)
    np.testing.assert_allclose(card.coefficients, lr.coef_[0], rtol=1e-4, atol=1e-5)
    p = lr.predict_proba(woe)[:, 1]
    np.testing.assert_allclose(card.predict_proba(X)[:, 1], p, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(card.predict_proba(X).sum(axis=1), 1.0, rtol=1e-12)

    score = card.score(X)
    p_card = card.predict_proba(X)[:, 1]
    np.testing.assert_allclose(score, offset - factor * logit(p_card), rtol=0, atol=1e-8)
    np.testing.assert_allclose(score, offset - factor * logit(p), rtol=0, atol=1e-3)

    # The card itself: points_ij = -(β_j WoE_ij + α/n)·factor + offset/n
    n = len(card.names)
    beta = dict(zip(card.names, card.coefficients, strict=True))
    for row in card.table():
        expected = -(beta[row.characteristic] * row.woe + card.intercept / n) * factor + offset / n
        assert row.points == pytest.approx(expected, rel=1e-12)
        assert row.points_rounded is None
    # Lower risk must mean more points: risk falls as odd-numbered characteristics rise.
    assert np.all(card.coefficients < 0)


def test_pdo_two_fold_odds_differ_by_pdo_points() -> None:
    # One binary characteristic: x=0 has odds 100:10 = 10, x=1 has 200:10 = 20 (2x).  Intercept
    # and slope on two WoE values make the model saturated, so it reproduces these odds.
    x = np.r_[np.zeros(110), np.ones(210)]
    y = np.r_[np.zeros(100), np.ones(10), np.zeros(200), np.ones(10)].astype(np.int64)
    card = Scorecard().fit({"x": x}, y)
    s0, s1 = card.score({"x": np.array([0.0, 1.0])})
    assert s0 == pytest.approx(600 + 20 * math.log2(10 / 50), abs=1e-4)
    assert s1 == pytest.approx(600 + 20 * math.log2(20 / 50), abs=1e-4)
    assert s1 - s0 == pytest.approx(20.0, abs=1e-4)


def test_scaling_parameters_and_rounding(data: Data) -> None:
    X, y = data
    exact = Scorecard(special_values=[SPECIAL], pdo=40, base_points=500, base_odds=20).fit(X, y)
    rounded = Scorecard(
        special_values=[SPECIAL], pdo=40, base_points=500, base_odds=20, round_points=0
    ).fit(X, y)
    assert exact.offset == pytest.approx(500 - 40 / math.log(2) * math.log(20))
    s_exact, s_round = exact.score(X), rounded.score(X)
    np.testing.assert_allclose(rounded.score(X, rounded=False), s_exact, atol=1e-9)
    # every bin rounded to an integer: the score is an integer, off by at most 0.5 per bin
    assert np.all(s_round == np.round(s_round))
    assert np.max(np.abs(s_round - s_exact)) <= 0.5 * len(exact.names)
    rows = rounded.table()
    assert all(r.points_rounded == round(r.points) for r in rows)
    # the score is the sum of the printed (rounded) points of the row's bins
    first = {k: v[:1] for k, v in X.items()}
    assert s_round[0] == pytest.approx(float(rounded.points_matrix(first).sum()))
    with pytest.raises(ValueError, match="no rounding"):
        exact.score(X, rounded=True)
    assert "Rounded" in rounded.to_text() and "Rounded" not in exact.to_text()


def test_two_dimensional_input_matches_mapping(data: Data, card: Scorecard) -> None:
    X, y = data
    names = list(X)
    arr = np.column_stack([X[n] for n in names])
    card2 = Scorecard(special_values=[SPECIAL]).fit(arr, y, names=names)
    np.testing.assert_array_equal(card2.score(arr), card.score(X))
    np.testing.assert_array_equal(card.score(arr), card.score(X))
    with pytest.raises(ValueError, match="lacks"):
        card.score({n: X[n] for n in names[1:]})
    with pytest.raises(ValueError, match="names"):
        Scorecard().fit(arr, y)
    with pytest.raises(ValueError, match="descriptions"):
        Scorecard().fit(X, y, descriptions={"c00": ("甲", "A")})
    with pytest.raises(ValueError, match=r"one bin: \['flat'\]"):
        Scorecard().fit({**X, "flat": np.full(y.size, np.nan)}, y)


def test_scorecard_text(card: Scorecard) -> None:
    text = card.to_text()
    assert "600 points at 50:1" in text and "more points = lower risk" in text
    assert len(card.table()) == sum(b.n_bins for b in card.binnings)
    assert text.count("c00 (β") == 1  # the characteristic is named once, on its first bin


# --------------------------------------------------------------------------------------------
# Reason codes


def crafted_artifact(coefs: dict[str, float], intercept: float = -1.5) -> dict[str, Any]:
    """A two-bin-per-characteristic card built by hand, WoE and points derived independently."""
    goods, bads, s = [80, 120], [30, 10], 0.5
    g_tot, b_tot = sum(goods) + 3 * s, sum(bads) + 3 * s  # 3 bins: two numeric + missing
    pairs = [*zip(goods, bads, strict=True), (0, 0)]
    woe = [math.log(((g + s) / g_tot) / ((b + s) / b_tot)) for g, b in pairs]
    factor = 20 / math.log(2)
    offset = 600 - factor * math.log(50)
    n = len(coefs)
    chars = []
    for name, beta in coefs.items():
        chars.append(
            {
                "name": name,
                "trend": "descending",
                "smoothing": s,
                "edges": ["-inf", 0.5, "inf"],
                "special_values": [],
                "goods": [*goods, 0],
                "bads": [*bads, 0],
                "woe": woe,
                "description_zh": f"{name}：逾期记录",
                "description_en": f"{name}: overdue records",
                "coefficient": beta,
                "points": [-(beta * w + intercept / n) * factor + offset / n for w in woe],
            }
        )
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "scaling": {"pdo": 20, "base_points": 600, "base_odds": 50, "round_points": None},
        "intercept": intercept,
        "characteristics": chars,
    }


def test_reason_codes_points_below_method() -> None:
    coefs = {"A": -1.0, "B": -1.0, "C": -0.5, "D": -0.8, "E": -0.3}
    card = Scorecard.from_dict(crafted_artifact(coefs))
    # bin (-inf, 0.5] (x=0) is the worse one: higher bad rate, lower WoE; missing is worse still
    woe_gap = card.binnings[0].woe[1] - card.binnings[0].woe[0]
    factor = 20 / math.log(2)
    loss = {k: -b * woe_gap * factor for k, b in coefs.items()}  # points lost in bin x=0
    best = dict.fromkeys(coefs, 1.0)

    def rows(*variants: dict[str, float]) -> dict[str, npt.NDArray[np.float64]]:
        return {k: np.array([v.get(k, best[k]) for v in variants]) for k in coefs}

    X = rows(
        {"A": 0.0},  # worst numeric bin of A only
        {},  # best everywhere
        {"A": 0.0, "B": 0.0},  # tie between A and B
        dict.fromkeys(coefs, 0.0),  # worst everywhere
    )
    reasons = card.reason_codes(X)
    assert [r.code for r in reasons[0]] == ["A"]
    assert reasons[0][0].points_lost == pytest.approx(loss["A"])
    assert reasons[0][0].text_zh == "A：逾期记录" and reasons[0][0].text_en == "A: overdue records"
    assert reasons[1] == []
    assert [r.code for r in reasons[2]] == ["A", "B"]  # equal losses keep model order
    assert reasons[2][0].points_lost == pytest.approx(reasons[2][1].points_lost)
    # all five lost points; the top four by loss, largest first (E, the smallest, drops out)
    assert [r.code for r in reasons[3]] == ["A", "B", "D", "C"]
    assert [r.points_lost for r in reasons[3]] == pytest.approx(
        [loss["A"], loss["B"], loss["D"], loss["C"]]
    )
    assert [r.code for r in card.reason_codes(X, top_n=2)[3]] == ["A", "B"]

    order, lost = card.reason_code_indices(X)
    assert order.shape == lost.shape == (4, 4)
    assert order[1].tolist() == [-1, -1, -1, -1] and lost[1].tolist() == [0.0] * 4
    # missing has the lowest WoE (empty bin, smoothed): it is the worst bin of C
    missing_c = rows({"C": np.nan})
    assert [r.code for r in card.reason_codes(missing_c)[0]] == ["C"]


def test_reason_codes_match_brute_force(card: Scorecard, data: Data) -> None:
    X, _ = data
    sample = {k: v[:300] for k, v in X.items()}
    order, lost = card.reason_code_indices(sample)
    pts = card.points_matrix(sample)
    best = np.array(
        [max(r.points for r in card.table() if r.characteristic == n) for n in card.names]
    )
    for i in range(pts.shape[0]):
        losses = [(best[j] - pts[i, j], j) for j in range(pts.shape[1])]
        ranked = sorted((lo, j) for lo, j in losses if lo > 1e-9)
        ranked.sort(key=lambda t: -t[0])  # stable: ties keep characteristic order
        expected = [j for _, j in ranked[:4]]
        assert order[i][order[i] >= 0].tolist() == expected
        np.testing.assert_allclose(lost[i][: len(expected)], [lo for lo, _ in ranked[:4]])


def test_score_with_reasons_is_score_and_reasons_binned_once(card: Scorecard, data: Data) -> None:
    X, _ = data
    sample = {k: v[:2000].copy() for k, v in X.items()}
    first = card.names[0]
    sample[first][:50] = np.nan  # missing and special bins take the shared path too
    sample[first][50:100] = SPECIAL
    scores, order, lost = card.score_with_reasons(sample, top_n=3)
    np.testing.assert_array_equal(scores, card.score(sample))  # exactly: same additions
    expected_order, expected_lost = card.reason_code_indices(sample, top_n=3)
    np.testing.assert_array_equal(order, expected_order)
    np.testing.assert_array_equal(lost, expected_lost)
    assert card.explain(order, lost) == card.reason_codes(sample, top_n=3)
    with pytest.raises(ValueError, match="top_n"):
        card.score_with_reasons(sample, top_n=0)


# --------------------------------------------------------------------------------------------
# JSON artifact


def test_json_round_trip_scores_identically(card: Scorecard, data: Data, tmp_path: Path) -> None:
    X, _ = data
    path = tmp_path / "card.json"
    card.save(path)
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["format"] == FORMAT_NAME and raw["format_version"] == FORMAT_VERSION
    assert raw["characteristics"][0]["edges"][0] == "-inf"
    assert raw["characteristics"][0]["edges"][-1] == "inf"
    assert "中文说明" in path.read_text(encoding="utf-8")  # readable, not \u-escaped
    loaded = Scorecard.load(path)
    np.testing.assert_array_equal(loaded.score(X), card.score(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), card.predict_proba(X))
    assert loaded.table() == card.table()
    assert loaded.to_dict() == card.to_dict()
    assert loaded.reason_codes({k: v[:50] for k, v in X.items()}) == card.reason_codes(
        {k: v[:50] for k, v in X.items()}
    )
    assert [p.name for p in tmp_path.iterdir()] == ["card.json"]  # no temp file left behind


def test_rounded_card_round_trips(data: Data) -> None:
    X, y = data
    card = Scorecard(special_values=[SPECIAL], round_points=1).fit(X, y)
    again = Scorecard.from_dict(json.loads(json.dumps(card.to_dict())))
    assert again.round_points == 1
    np.testing.assert_array_equal(again.score(X), card.score(X))


Mutation = Callable[[dict[str, Any]], None]


def _set(path: list[Any], value: Any) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        for key in path[:-1]:
            d = d[key]
        d[path[-1]] = value

    return mutate


def _delete(path: list[Any]) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        for key in path[:-1]:
            d = d[key]
        del d[path[-1]]

    return mutate


def _edit(path: list[Any], fn: Callable[[Any], Any]) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        for key in path[:-1]:
            d = d[key]
        d[path[-1]] = fn(d[path[-1]])

    return mutate


C0 = ["characteristics", 0]
CORRUPTIONS: dict[str, tuple[Mutation, str]] = {
    "missing top key": (_delete(["intercept"]), "missing key(s) intercept"),
    "missing scaling key": (_delete(["scaling", "pdo"]), "scaling: missing key(s) pdo"),
    "missing characteristic key": (_delete([*C0, "points"]), "missing key(s) points"),
    "unknown key": (_set(["extra"], 1), "unknown key(s) extra"),
    "wrong format": (_set(["format"], "pickle"), "format: expected"),
    "unknown version": (_set(["format_version"], 2), "unknown version 2"),
    "version as string": (_set(["format_version"], "1"), "format_version: expected an integer"),
    "version as bool": (_set(["format_version"], True), "format_version: expected an integer"),
    "not an object": (lambda d: d["characteristics"].__setitem__(0, []), "expected an object"),
    "coefficient string": (_set([*C0, "coefficient"], "-0.5"), "coefficient: expected a number"),
    "coefficient bool": (_set([*C0, "coefficient"], False), "coefficient: expected a number"),
    "intercept null": (_set(["intercept"], None), "intercept: expected a number"),
    "edges swapped": (
        _edit([*C0, "edges"], lambda e: [e[0], e[2], e[1], *e[3:]]),
        "not strictly increasing at position 2",
    ),
    "edges repeated": (
        _edit([*C0, "edges"], lambda e: [e[0], e[1], e[1], *e[2:]]),
        "not strictly increasing",
    ),
    "edges no -inf": (_edit([*C0, "edges"], lambda e: e[1:]), 'must start with "-inf"'),
    "edges inf inside": (
        _edit([*C0, "edges"], lambda e: [e[0], "inf", *e[1:]]),
        "edges[1]: expected a number",
    ),
    "edges not list": (_set([*C0, "edges"], "-inf,inf"), "edges: expected a list"),
    "points short": (_edit([*C0, "points"], lambda p: p[:-1]), "points: expected"),
    "points long": (_edit([*C0, "points"], lambda p: [*p, 1.0]), "one per bin"),
    "woe short": (_edit([*C0, "woe"], lambda w: w[:-1]), "woe: expected"),
    "goods short": (_edit([*C0, "goods"], lambda g: g[:-1]), "goods: expected"),
    "bads negative": (_edit([*C0, "bads"], lambda b: [-1, *b[1:]]), "bads[0]: expected a count"),
    "goods float": (_edit([*C0, "goods"], lambda g: [1.5, *g[1:]]), "goods[0]: expected a count"),
    "points tampered": (_edit([*C0, "points"], lambda p: [p[0] + 1, *p[1:]]), "do not follow"),
    "woe tampered": (_edit([*C0, "woe"], lambda w: [w[0] + 0.01, *w[1:]]), "does not follow"),
    "no characteristics": (_set(["characteristics"], []), "non-empty list"),
    "duplicate name": (_set(["characteristics", 1, "name"], "c00"), "duplicate name"),
    "empty description": (_set([*C0, "description_zh"], " "), "description_zh"),
    "bad trend": (_set([*C0, "trend"], "auto"), "trend: expected"),
    "pdo zero": (_set(["scaling", "pdo"], 0), "scaling.pdo: expected a positive"),
    "round fraction": (_set(["scaling", "round_points"], 1.5), "round_points"),
    "special duplicated": (_set([*C0, "special_values"], [-1.0, -1.0]), "duplicate"),
    "smoothing zero": (_set([*C0, "smoothing"], 0), "smoothing: expected a positive"),
}


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_every_corruption_is_refused(card: Scorecard, tmp_path: Path, case: str) -> None:
    mutate, message = CORRUPTIONS[case]
    artifact = copy.deepcopy(card.to_dict())
    mutate(artifact)
    path = tmp_path / "card.json"
    path.write_text(json.dumps(artifact), encoding="utf-8")
    with pytest.raises(ScorecardFormatError) as info:
        Scorecard.load(path)
    assert message in info.value.reason


def test_top_level_must_be_an_object() -> None:
    with pytest.raises(ScorecardFormatError, match="expected an object"):
        Scorecard.from_dict([])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"format": "credit-platform.scorecard", ', "not valid JSON"),
        (b'{"intercept": NaN}', "non-finite number NaN"),
        (b'{"intercept": -Infinity}', "non-finite number -Infinity"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_unreadable_files_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "card.json"
    path.write_bytes(content)
    with pytest.raises(ScorecardFormatError, match=message):
        Scorecard.load(path)


# --------------------------------------------------------------------------------------------
# Metrics


def test_auc_ks_gini_by_hand() -> None:
    # goods score 0.1, 0.2, 0.35; bads 0.35, 0.7, 0.9 (higher = riskier).
    y = np.array([0, 0, 0, 1, 1, 1])
    risk = np.array([0.1, 0.2, 0.35, 0.35, 0.7, 0.9])
    # bad-over-good pairs: 0.35 beats 0.1 and 0.2 and ties 0.35 (2.5); 0.7 and 0.9 beat all (3+3)
    assert auc(y, risk) == pytest.approx(8.5 / 9)
    assert gini(y, risk) == pytest.approx(2 * 8.5 / 9 - 1)
    # CDFs at t = 0.2: goods 2/3, bads 0 → 2/3; at 0.35: goods 1, bads 1/3 → 2/3 (the max)
    assert ks(y, risk) == pytest.approx(2 / 3)
    assert ks(y, -risk) == pytest.approx(2 / 3)  # orientation-free
    assert auc(y, -risk) == pytest.approx(0.5 / 9)


def test_psi_by_hand_identical_and_shifted() -> None:
    expected = np.arange(1.0, 11.0)
    actual = np.array([1.0, 2, 3, 6, 7, 8, 9, 10, 11, 12])
    # two bins cut at the median 5: expected 5/10 and 5/10, actual 3/10 and 7/10
    by_hand = (0.3 - 0.5) * math.log(0.3 / 0.5) + (0.7 - 0.5) * math.log(0.7 / 0.5)
    assert psi(expected, actual, bins=2) == pytest.approx(by_hand)

    rng = np.random.default_rng(4)
    base = rng.normal(600, 50, 50_000)
    assert psi(base, base.copy()) == pytest.approx(0.0, abs=1e-12)
    assert psi(base, rng.normal(600, 50, 50_000)) < 0.01
    assert psi(base, rng.normal(630, 50, 50_000)) > 0.1


def test_psi_sees_a_shift_of_a_discrete_score() -> None:
    # A scorecard's score takes few values; 85 % of this population sits at the top one, so
    # its deciles collapse. Half of the top moving down to a middle value is a large shift.
    expected = np.array([636.0] * 850 + [600.0] * 50 + [540.0] * 50 + [480.0] * 50)
    actual = np.array([636.0] * 425 + [600.0] * 50 + [540.0] * 475 + [480.0] * 50)
    shares = {636.0: (0.85, 0.425), 600.0: (0.05, 0.05), 540.0: (0.05, 0.475),
              480.0: (0.05, 0.05)}
    by_hand = sum((a - e) * math.log(a / e) for e, a in shares.values())
    assert psi(expected, actual) == pytest.approx(by_hand) and by_hand > 0.25
    assert psi(expected, expected.copy()) == pytest.approx(0.0, abs=1e-12)
    # A value the expected sample never took falls in the next bin up (right-closed).
    assert psi(expected, np.array([620.0] * 1000)) == psi(expected, np.array([636.0] * 1000))


def test_calibration_table_by_hand() -> None:
    proba = np.array([0.1, 0.2, 0.3, 0.4, 0.3, 0.1])
    y = np.array([0, 1, 0, 1, 1, 0])
    low, high = calibration_table(proba, y, bins=2)  # cut at the lower median 0.2
    assert (low.count, low.observed_bads, high.count, high.observed_bads) == (3, 1, 3, 2)
    assert low.mean_predicted == pytest.approx((0.1 + 0.2 + 0.1) / 3)
    assert high.mean_predicted == pytest.approx((0.3 + 0.4 + 0.3) / 3)
    assert low.observed_bad_rate == pytest.approx(1 / 3)
    assert high.expected_bads == pytest.approx(1.0)
    assert (low.lower, low.upper, high.lower, high.upper) == (-np.inf, 0.2, 0.2, np.inf)


def test_metrics_on_the_fitted_card(card: Scorecard, data: Data) -> None:
    X, y = data
    points = card.score(X)
    p = card.predict_proba(X)[:, 1]
    assert auc(y, -points) == pytest.approx(auc(y, p))  # same ranking, opposite orientation
    assert 0.6 < auc(y, p) < 1.0
    rows = calibration_table(p, y)
    assert sum(r.count for r in rows) == y.size
    # a maximum-likelihood fit with an intercept matches the overall bad count exactly
    assert sum(r.expected_bads for r in rows) == pytest.approx(float(y.sum()), rel=1e-4)


# --------------------------------------------------------------------------------------------
# Throughput (reported, not asserted)


def test_vectorised_score_on_a_million_rows() -> None:
    rate = bench_score(1_000_000)
    print(f"\nScorecard.score: {rate:,.0f} rows/s (1,000,000 rows x 15 characteristics)")
    assert rate > 0
