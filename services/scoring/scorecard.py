"""Scorecard engine: monotonic WoE binning → logistic regression → points.

The pipeline follows the classic application-scorecard design (as in optbinning: binning, then a
scorecard with scikit-learn style ``fit`` / ``transform`` / ``score`` and readable tables), with
our own implementation:

1. `MonotonicBinner` cuts one numeric characteristic into right-closed intervals whose bad rate
   is monotonic; special values and missing (NaN) get bins of their own.
2. Each bin gets a weight of evidence (WoE); the characteristic an information value (IV).
3. `Scorecard` fits a logistic regression on the WoE matrix and scales it into points per bin.

Conventions used throughout:

* Target ``y``: 1 = bad (the adverse outcome), 0 = good.
* ``WoE_i = ln(%good_i / %bad_i)``: positive WoE = lower risk than the sample average.
* Points: MORE points = LOWER risk.  ``score = offset + factor · ln(odds_good)``.

A fitted scorecard is plain data: `Scorecard.to_dict` / `Scorecard.save` write JSON (never pickle),
so an artifact can be reviewed and diffed, and `Scorecard.load` validates it strictly, raising
`ScorecardFormatError` so a service can refuse a corrupt artifact and keep the previous one.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias, cast

import numpy as np
import numpy.typing as npt

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "BinRow",
    "Binning",
    "CalibrationRow",
    "MonotonicBinner",
    "ReasonCode",
    "Scorecard",
    "ScorecardFormatError",
    "ScorecardRow",
    "auc",
    "calibration_table",
    "gini",
    "ks",
    "psi",
]

FloatArray: TypeAlias = npt.NDArray[np.float64]
IndexArray: TypeAlias = npt.NDArray[np.intp]
CountArray: TypeAlias = npt.NDArray[np.int64]
Trend: TypeAlias = Literal["auto", "ascending", "descending"]
FittedTrend: TypeAlias = Literal["ascending", "descending"]
Features: TypeAlias = Mapping[str, npt.ArrayLike] | npt.ArrayLike

FORMAT_NAME: Final = "credit-platform.scorecard"
FORMAT_VERSION: Final = 1

# Up to this many inner edges, counting `x > edge` (branch-free SIMD compares) beats the binary
# search of np.searchsorted (measured: 20 edges 0.5 ms vs 1.2 ms per 65,536 values); both give
# the same right-closed bin index.
_COMPARE_MAX_EDGES: Final = 48
# Rows per block when scoring: keeps per-characteristic temporaries cache-resident.
_CHUNK_ROWS: Final = 1 << 16
# A loss below this many points is rounding noise, not a reason.
_LOSS_TOL: Final = 1e-9
# Stored WoE / points must match what their inputs imply to this tolerance.
_CONSISTENCY_RTOL: Final = 1e-9
_MAX_ROUND_DECIMALS: Final = 6
# PSI floor for an empty decile, so ln(a/e) stays finite.
_PSI_EPS: Final = 1e-4


class ScorecardFormatError(ValueError):
    """A scorecard artifact is malformed; `reason` says what and where."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"invalid scorecard artifact: {reason}")


# --------------------------------------------------------------------------------------------
# Input helpers


def _target(y: npt.ArrayLike) -> npt.NDArray[np.int8]:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"y must be numeric 0/1, got dtype {arr.dtype}")
    if not np.isin(arr, (0, 1)).all():
        raise ValueError("y must contain only 0 (good) and 1 (bad)")
    out = arr.astype(np.int8)
    if out.size == 0 or out.min() == out.max():
        raise ValueError("y must contain both goods (0) and bads (1)")
    return out


def _column(x: npt.ArrayLike, what: str) -> FloatArray:
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{what} must be numeric, got dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


def _special_tuple(values: Sequence[float], what: str) -> tuple[float, ...]:
    out = tuple(float(v) for v in values)
    if not all(math.isfinite(v) for v in out):
        # NaN already has the missing bin; ±inf cannot be written as a JSON number.
        raise ValueError(f"{what}: special values must be finite numbers, got {out}")
    if len(set(out)) != len(out):
        raise ValueError(f"{what}: duplicate special values in {out}")
    return out


def _fmt(v: float, digits: int = 17) -> str:
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.{digits}g}"


def _edge_labels(edges: FloatArray) -> list[str]:
    """Edges with the fewest significant digits (at least 6) that keep them all distinct."""
    for digits in range(6, 18):
        out = [_fmt(float(v), digits) for v in edges]
        if len(set(out)) == len(out):
            return out
    return [_fmt(float(v)) for v in edges]


def _render(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[bool]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if num else c.ljust(w)
            for c, w, num in zip(cells, widths, numeric, strict=True)
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def _woe_iv(goods: CountArray, bads: CountArray, smoothing: float) -> tuple[FloatArray, FloatArray]:
    """Smoothed WoE and IV contribution per bin (see `Binning` for the formula)."""
    g = goods.astype(np.float64) + smoothing
    b = bads.astype(np.float64) + smoothing
    pg = g / g.sum()
    pb = b / b.sum()
    woe = np.log(pg / pb)
    return woe, (pg - pb) * woe


# --------------------------------------------------------------------------------------------
# Binning


@dataclass(frozen=True)
class BinRow:
    """One line of a binning table; the totals row has ``woe=None``."""

    label: str
    count: int
    share: float
    goods: int
    bads: int
    bad_rate: float | None  # None for a bin with no training rows
    woe: float | None
    iv: float


@dataclass(frozen=True, eq=False)
class Binning:
    """A fitted binning of one characteristic: plain data, serialisable.

    Bin layout (the index used by `index`, `woe`, counts and points arrays)::

        0 .. m-1        numeric bins (edges[i], edges[i+1]], edges[0] = -inf, edges[m] = inf
        m .. m+s-1      one bin per special value, in `special_values` order
        m+s             missing (NaN)

    WoE uses additive (Laplace-style) smoothing of `smoothing` pseudo-rows added to both the
    goods and the bads of EVERY bin, with G, B the totals and K the number of bins::

        %good_i = (g_i + s) / (G + K·s)     %bad_i = (b_i + s) / (B + K·s)
        WoE_i   = ln(%good_i / %bad_i)      (positive = lower risk than average)
        IV_i    = (%good_i - %bad_i) · WoE_i

    so a special or missing bin never seen in training stays finite:
    WoE = ln((B + K·s) / (G + K·s)), i.e. below zero (treated as riskier than average) when
    goods outnumber bads, which is the usual case.
    """

    name: str
    edges: FloatArray
    special_values: tuple[float, ...]
    goods: CountArray
    bads: CountArray
    trend: FittedTrend
    smoothing: float
    woe: FloatArray = field(init=False)
    iv_contributions: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        if self.goods.shape != (self.n_bins,) or self.bads.shape != (self.n_bins,):
            raise ValueError(f"{self.name}: counts must have one entry per bin ({self.n_bins})")
        woe, iv = _woe_iv(self.goods, self.bads, self.smoothing)
        object.__setattr__(self, "woe", woe)
        object.__setattr__(self, "iv_contributions", iv)

    @property
    def n_numeric(self) -> int:
        return len(self.edges) - 1

    @property
    def n_bins(self) -> int:
        return self.n_numeric + len(self.special_values) + 1

    @property
    def missing_index(self) -> int:
        return self.n_bins - 1

    @property
    def iv(self) -> float:
        return float(self.iv_contributions.sum())

    @property
    def labels(self) -> list[str]:
        e = _edge_labels(self.edges)
        numeric = [f"({e[i]}, {e[i + 1]}]" for i in range(self.n_numeric)]
        special = [f"Special {_fmt(v, 10)}" for v in self.special_values]
        return [*numeric, *special, "Missing"]

    def index(self, x: FloatArray) -> IndexArray:
        """Bin index per value; vectorised, no loop over rows."""
        inner = self.edges[1:-1]
        idx: IndexArray
        if inner.size <= _COMPARE_MAX_EDGES:
            # Number of inner edges strictly below x == searchsorted(side="left"): right-closed.
            idx = np.zeros(x.shape, dtype=np.intp)
            for edge in inner:
                idx += x > edge
        else:
            idx = np.searchsorted(inner, x, side="left")
        np.putmask(idx, np.isnan(x), self.missing_index)
        for k, value in enumerate(self.special_values):
            np.putmask(idx, x == value, self.n_numeric + k)
        return idx

    def transform(self, x: npt.ArrayLike) -> FloatArray:
        """WoE of each value's bin."""
        return self.woe[self.index(_column(x, self.name))]

    def table(self) -> list[BinRow]:
        """Per-bin rows plus a final "Total" row."""
        n = int(self.goods.sum() + self.bads.sum())
        rows: list[BinRow] = []
        for i, label in enumerate(self.labels):
            g, b = int(self.goods[i]), int(self.bads[i])
            rows.append(
                BinRow(
                    label=label,
                    count=g + b,
                    share=(g + b) / n if n else 0.0,
                    goods=g,
                    bads=b,
                    bad_rate=b / (g + b) if g + b else None,
                    woe=float(self.woe[i]),
                    iv=float(self.iv_contributions[i]),
                )
            )
        g_tot, b_tot = int(self.goods.sum()), int(self.bads.sum())
        rows.append(
            BinRow(
                "Total", n, 1.0 if n else 0.0, g_tot, b_tot, b_tot / n if n else None, None, self.iv
            )
        )
        return rows

    def to_text(self) -> str:
        header = (
            f"{self.name}: IV {self.iv:.4f}, bad rate {self.trend}, "
            f"smoothing {self.smoothing:g} per bin"
        )
        rows = [
            [
                r.label,
                str(r.count),
                f"{r.share:.2%}",
                str(r.goods),
                str(r.bads),
                "-" if r.bad_rate is None else f"{r.bad_rate:.2%}",
                "-" if r.woe is None else f"{r.woe:+.4f}",
                f"{r.iv:.4f}",
            ]
            for r in self.table()
        ]
        headers = ["Bin", "Count", "Share", "Goods", "Bads", "Bad rate", "WoE", "IV"]
        numeric = [False, *([True] * 7)]
        return header + "\n" + _render(headers, rows, numeric)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "trend": self.trend,
            "smoothing": self.smoothing,
            "edges": [_fmt(v) if math.isinf(v) else float(v) for v in self.edges],
            "special_values": list(self.special_values),
            "goods": [int(v) for v in self.goods],
            "bads": [int(v) for v in self.bads],
            "woe": [float(v) for v in self.woe],
        }


@dataclass
class _Block:
    right: float  # right edge (inclusive); the left edge is the previous block's right
    goods: int
    bads: int

    @property
    def count(self) -> int:
        return self.goods + self.bads


def _merge(blocks: list[_Block], i: int) -> None:
    """Merge blocks i and i+1 in place."""
    a, b = blocks[i], blocks[i + 1]
    blocks[i : i + 2] = [_Block(b.right, a.goods + b.goods, a.bads + b.bads)]


def _merge_weak(blocks: list[_Block], min_count: float) -> None:
    """Merge blocks that are too small or pure (no goods or no bads) into a neighbour.

    The smallest offender goes first, into the neighbour with the closer bad rate, so merging
    disturbs the shape as little as possible.  Merging two neighbours of a strictly monotone
    sequence gives a bad rate strictly between theirs, so monotonicity survives.
    """
    while len(blocks) > 1:
        weak = [
            i
            for i, blk in enumerate(blocks)
            if blk.count < min_count or blk.goods == 0 or blk.bads == 0
        ]
        if not weak:
            return
        i = min(weak, key=lambda k: (blocks[k].count, k))
        if i == 0:
            _merge(blocks, 0)
            continue
        if i == len(blocks) - 1:
            _merge(blocks, i - 1)
            continue
        me, left, right = blocks[i], blocks[i - 1], blocks[i + 1]
        if me.count == 0:
            d_left = d_right = 0.0
        else:
            rate = me.bads / me.count
            d_left = abs(rate - left.bads / left.count) if left.count else 0.0
            d_right = abs(rate - right.bads / right.count) if right.count else 0.0
        _merge(blocks, i - 1 if (d_left, left.count) <= (d_right, right.count) else i)


def _ordered(a: _Block, b: _Block, ascending: bool) -> bool:
    # Strict comparison of bad rates, cross-multiplied so integer counts compare exactly.
    lhs, rhs = a.bads * b.count, b.bads * a.count
    return lhs < rhs if ascending else lhs > rhs


def _pava(blocks: list[_Block], ascending: bool) -> list[_Block]:
    """Pool adjacent violators: the finest strictly monotone merging of `blocks`."""
    out: list[_Block] = []
    for blk in blocks:
        out.append(blk)
        while len(out) >= 2 and not _ordered(out[-2], out[-1], ascending):
            _merge(out, len(out) - 2)
    return out


class MonotonicBinner:
    """Supervised monotonic binning of one numeric characteristic (binary target, 1 = bad).

    Fitting: quantile pre-bins (`n_prebins`, duplicate edges dropped) over the ordinary numeric
    values, then adjacent bins are merged (a) while any has fewer than `min_bin_share` of ALL
    fitted rows or no goods or no bads, and (b) until the bad rate is strictly monotonic
    (pool-adjacent-violators), in the direction forced by `trend` or, for ``"auto"``, the one
    giving the larger IV.  Each value in `special_values` (e.g. -1 = "not applicable") and NaN
    get a bin of their own and are never merged.  See `Binning` for WoE / IV.
    """

    def __init__(
        self,
        name: str = "x",
        *,
        n_prebins: int = 20,
        min_bin_share: float = 0.05,
        special_values: Sequence[float] = (),
        trend: Trend = "auto",
        smoothing: float = 0.5,
    ) -> None:
        if n_prebins < 1:
            raise ValueError(f"n_prebins must be >= 1, got {n_prebins}")
        if not 0.0 <= min_bin_share < 0.5:
            raise ValueError(f"min_bin_share must be in [0, 0.5), got {min_bin_share}")
        if trend not in ("auto", "ascending", "descending"):
            raise ValueError(f"trend must be auto, ascending or descending, got {trend!r}")
        if not (math.isfinite(smoothing) and smoothing > 0):
            raise ValueError(f"smoothing must be a positive count, got {smoothing}")
        self.name = name
        self.n_prebins = n_prebins
        self.min_bin_share = min_bin_share
        self.special_values = _special_tuple(special_values, name)
        self.trend: Trend = trend
        self.smoothing = float(smoothing)
        self._binning: Binning | None = None

    @property
    def binning(self) -> Binning:
        if self._binning is None:
            raise RuntimeError(f"binner {self.name!r} is not fitted")
        return self._binning

    def fit(self, x: npt.ArrayLike, y: npt.ArrayLike) -> MonotonicBinner:
        xs = _column(x, self.name)
        ys = _target(y)
        if xs.shape != ys.shape:
            raise ValueError(f"{self.name}: x has {xs.size} rows but y has {ys.size}")
        missing = np.isnan(xs)
        special = np.zeros(xs.shape, dtype=bool)
        special_counts: list[tuple[int, int]] = []
        for value in self.special_values:
            m = xs == value
            special |= m
            nb = int(ys[m].sum())
            special_counts.append((int(m.sum()) - nb, nb))
        numeric = ~(missing | special)
        prebins = self._prebins(xs[numeric], ys[numeric])

        min_count = self.min_bin_share * xs.size
        directions: list[FittedTrend] = (
            ["ascending", "descending"] if self.trend == "auto" else [self.trend]
        )
        best: tuple[float, FittedTrend, list[_Block]] | None = None
        for direction in directions:
            blocks = list(prebins)
            _merge_weak(blocks, min_count)
            blocks = _pava(blocks, direction == "ascending")
            _merge_weak(blocks, min_count)
            g = np.array([b.goods for b in blocks], dtype=np.int64)
            b_ = np.array([b.bads for b in blocks], dtype=np.int64)
            iv = float(_woe_iv(g, b_, self.smoothing)[1].sum())
            if best is None or iv > best[0]:  # ties keep the first (ascending)
                best = (iv, direction, blocks)
        assert best is not None
        _, trend, blocks = best

        nb_missing = int(ys[missing].sum())
        goods = [b.goods for b in blocks] + [c[0] for c in special_counts]
        bads = [b.bads for b in blocks] + [c[1] for c in special_counts]
        goods.append(int(missing.sum()) - nb_missing)
        bads.append(nb_missing)
        edges = np.array([-np.inf, *(b.right for b in blocks[:-1]), np.inf], dtype=np.float64)
        self._binning = Binning(
            name=self.name,
            edges=edges,
            special_values=self.special_values,
            goods=np.array(goods, dtype=np.int64),
            bads=np.array(bads, dtype=np.int64),
            trend=trend,
            smoothing=self.smoothing,
        )
        return self

    def _prebins(self, x: FloatArray, y: npt.NDArray[np.int8]) -> list[_Block]:
        finite = x[np.isfinite(x)]  # ±inf rows are binned but must not become edges
        cuts = np.empty(0, dtype=np.float64)
        if finite.size:
            levels = np.linspace(0.0, 1.0, self.n_prebins + 1)[1:-1]
            # "lower" picks observed values, so every right-closed pre-bin holds data.
            cuts = np.unique(np.quantile(finite, levels, method="lower"))
            cuts = cuts[cuts < finite.max()]
        idx = np.searchsorted(cuts, x, side="left")
        goods = np.bincount(idx[y == 0], minlength=cuts.size + 1)
        bads = np.bincount(idx[y == 1], minlength=cuts.size + 1)
        rights = [*(float(c) for c in cuts), math.inf]
        return [_Block(r, int(g), int(b)) for r, g, b in zip(rights, goods, bads, strict=True)]

    def transform(self, x: npt.ArrayLike) -> FloatArray:
        return self.binning.transform(x)

    def fit_transform(self, x: npt.ArrayLike, y: npt.ArrayLike) -> FloatArray:
        return self.fit(x, y).transform(x)

    def table(self) -> list[BinRow]:
        return self.binning.table()

    def to_text(self) -> str:
        return self.binning.to_text()


# --------------------------------------------------------------------------------------------
# Scorecard


@dataclass(frozen=True)
class ScorecardRow:
    """One line of the scorecard: the points a bin contributes to the score."""

    characteristic: str
    bin: str
    woe: float
    points: float
    points_rounded: float | None  # None when the scorecard does not round


@dataclass(frozen=True)
class ReasonCode:
    """Why a score is not higher: the points lost on one characteristic vs its best bin."""

    code: str  # the characteristic name: stable across model versions
    points_lost: float
    text_zh: str
    text_en: str


@dataclass(frozen=True, eq=False)
class _Model:
    binnings: tuple[Binning, ...]
    coefficients: FloatArray
    intercept: float
    descriptions: dict[str, tuple[str, str]]
    points: tuple[FloatArray, ...]  # exact
    score_points: tuple[FloatArray, ...]  # what score() adds up: rounded if configured
    best_points: FloatArray  # per characteristic, max of score_points


class Scorecard:
    """Binned logistic-regression scorecard scaled to points (more points = lower risk).

    Scaling (PDO = points to double the odds, odds = good:bad)::

        factor = PDO / ln 2
        offset = base_points - factor · ln(base_odds)
        score  = offset + factor · ln(odds_good) = offset - factor · logit(P(bad))

    The logistic model is ``logit(P(bad)) = α + Σ_j β_j · WoE_j``; since WoE is positive for
    low-risk bins, β_j is normally negative.  Distributing α and the offset evenly over the n
    characteristics gives the points of bin i of characteristic j::

        points_ij = -(β_j · WoE_ij + α / n) · factor + offset / n

    so the points of a row's bins add up exactly to its score.  With `round_points` set, each
    bin's points are rounded to that many decimals and the score is the sum of the rounded
    points (what is printed on the card is what is added); `table` reports both.
    """

    def __init__(
        self,
        *,
        n_prebins: int = 20,
        min_bin_share: float = 0.05,
        special_values: Sequence[float] | Mapping[str, Sequence[float]] = (),
        trend: Trend | Mapping[str, Trend] = "auto",
        smoothing: float = 0.5,
        C: float | None = None,
        pdo: float = 20.0,
        base_points: float = 600.0,
        base_odds: float = 50.0,
        round_points: int | None = None,
    ) -> None:
        if not (math.isfinite(pdo) and pdo > 0):
            raise ValueError(f"pdo must be positive, got {pdo}")
        if not (math.isfinite(base_odds) and base_odds > 0):
            raise ValueError(f"base_odds must be positive, got {base_odds}")
        if not math.isfinite(base_points):
            raise ValueError(f"base_points must be finite, got {base_points}")
        if round_points is not None and not 0 <= round_points <= _MAX_ROUND_DECIMALS:
            raise ValueError(f"round_points must be in 0..{_MAX_ROUND_DECIMALS} or None")
        if C is not None and not C > 0:
            raise ValueError(f"C must be positive or None (no penalty), got {C}")
        self.n_prebins = n_prebins
        self.min_bin_share = min_bin_share
        self.special_values = special_values
        self.trend = trend
        self.smoothing = smoothing
        self.C = C
        # Read-only below: the fitted points are derived from the scaling.
        self._pdo = float(pdo)
        self._base_points = float(base_points)
        self._base_odds = float(base_odds)
        self._round_points = round_points
        self._model: _Model | None = None

    # -- scaling ------------------------------------------------------------------------------

    @property
    def pdo(self) -> float:
        return self._pdo

    @property
    def base_points(self) -> float:
        return self._base_points

    @property
    def base_odds(self) -> float:
        return self._base_odds

    @property
    def round_points(self) -> int | None:
        return self._round_points

    @property
    def factor(self) -> float:
        return self.pdo / math.log(2.0)

    @property
    def offset(self) -> float:
        return self.base_points - self.factor * math.log(self.base_odds)

    # -- fitted state -------------------------------------------------------------------------

    @property
    def _state(self) -> _Model:
        if self._model is None:
            raise RuntimeError("scorecard is not fitted")
        return self._model

    @property
    def names(self) -> list[str]:
        return [b.name for b in self._state.binnings]

    @property
    def binnings(self) -> tuple[Binning, ...]:
        return self._state.binnings

    @property
    def coefficients(self) -> FloatArray:
        return self._state.coefficients.copy()

    @property
    def intercept(self) -> float:
        return self._state.intercept

    def _install(
        self,
        binnings: Sequence[Binning],
        coefficients: FloatArray,
        intercept: float,
        descriptions: Mapping[str, tuple[str, str]],
    ) -> None:
        n = len(binnings)
        points = tuple(
            -(beta * b.woe + intercept / n) * self.factor + self.offset / n
            for b, beta in zip(binnings, coefficients, strict=True)
        )
        score_points = (
            points
            if self.round_points is None
            else tuple(np.round(p, self.round_points) for p in points)
        )
        self._model = _Model(
            binnings=tuple(binnings),
            coefficients=np.asarray(coefficients, dtype=np.float64),
            intercept=float(intercept),
            descriptions=dict(descriptions),
            points=points,
            score_points=score_points,
            best_points=np.array([p.max() for p in score_points], dtype=np.float64),
        )

    # -- fitting ------------------------------------------------------------------------------

    def fit(
        self,
        X: Features,
        y: npt.ArrayLike,
        *,
        names: Sequence[str] | None = None,
        descriptions: Mapping[str, tuple[str, str]] | None = None,
    ) -> Scorecard:
        """Bin every characteristic, fit the logistic regression on WoE, derive points.

        `X` is a mapping name → 1-D array, or a 2-D array whose columns are `names`.
        `descriptions` maps every characteristic to its (Chinese, English) reason text; when
        omitted the name is used for both.
        """
        from sklearn.linear_model import LogisticRegression  # only needed to fit

        if isinstance(X, Mapping):
            if names is not None:
                raise ValueError("names is only for a 2-D array; a mapping names its columns")
            names = list(X.keys())
            cols = [_column(X[n], n) for n in names]
        else:
            arr = np.asarray(X)
            if arr.ndim != 2:
                raise ValueError(f"X must be a mapping or a 2-D array, got shape {arr.shape}")
            if names is None or len(names) != arr.shape[1]:
                raise ValueError("a 2-D X needs names, one per column")
            cols = [_column(arr[:, j], n) for j, n in enumerate(names)]
        names = list(names)
        if not names or len(set(names)) != len(names) or not all(names):
            raise ValueError(f"characteristic names must be unique and non-empty: {names}")
        if descriptions is None:
            descriptions = {n: (n, n) for n in names}
        if set(descriptions) != set(names):
            raise ValueError(
                "descriptions must cover exactly the characteristics; missing "
                f"{sorted(set(names) - set(descriptions))}, "
                f"unknown {sorted(set(descriptions) - set(names))}"
            )
        ys = _target(y)

        binnings: list[Binning] = []
        for name, col in zip(names, cols, strict=True):
            specials = (
                self.special_values.get(name, ())
                if isinstance(self.special_values, Mapping)
                else self.special_values
            )
            trend = self.trend.get(name, "auto") if isinstance(self.trend, Mapping) else self.trend
            binner = MonotonicBinner(
                name,
                n_prebins=self.n_prebins,
                min_bin_share=self.min_bin_share,
                special_values=specials,
                trend=trend,
                smoothing=self.smoothing,
            )
            binnings.append(binner.fit(col, ys).binning)
        # A characteristic whose rows all share one bin has a constant WoE column: it carries
        # no information, and its coefficient (hence the points of its unseen bins) would be
        # arbitrary because it is confounded with the intercept.
        flat = [b.name for b in binnings if np.count_nonzero(b.goods + b.bads) < 2]
        if flat:
            raise ValueError(f"characteristics with all training rows in one bin: {flat}")

        woe = np.column_stack([b.transform(c) for b, c in zip(binnings, cols, strict=True)])
        lr = LogisticRegression(
            C=np.inf if self.C is None else self.C,  # C=inf: unpenalised maximum likelihood
            solver="lbfgs",
            class_weight=None,
            max_iter=1000,
            tol=1e-8,
        )
        lr.fit(woe, ys)
        self._install(
            binnings,
            np.asarray(lr.coef_[0], dtype=np.float64),
            float(lr.intercept_[0]),
            descriptions,
        )
        return self

    # -- applying -----------------------------------------------------------------------------

    def _columns(self, X: Features) -> list[npt.NDArray[Any]]:
        names = self.names
        if isinstance(X, Mapping):
            absent = [n for n in names if n not in X]
            if absent:
                raise ValueError(f"X lacks characteristics {absent}")
            cols = [np.asarray(X[n]) for n in names]
        else:
            arr = np.asarray(X)
            if arr.ndim != 2 or arr.shape[1] != len(names):
                raise ValueError(f"X must be 2-D with columns {names}, got shape {arr.shape}")
            cols = [arr[:, j] for j in range(len(names))]
        for n, c in zip(names, cols, strict=True):
            if c.ndim != 1 or c.dtype.kind not in "biuf":
                raise ValueError(f"{n}: expected a 1-D numeric array, got {c.dtype} {c.shape}")
            if c.shape != cols[0].shape:
                raise ValueError(f"{n}: {c.size} rows, but {names[0]} has {cols[0].size}")
        return cols

    def _sum_lookup(
        self, cols: list[npt.NDArray[Any]], tables: Sequence[FloatArray], start: float
    ) -> FloatArray:
        """start + Σ_j tables[j][bin_j(row)], vectorised within blocks of rows."""
        n = cols[0].shape[0]
        out = np.empty(n, dtype=np.float64)
        for lo in range(0, n, _CHUNK_ROWS):
            acc = out[lo : lo + _CHUNK_ROWS]
            acc.fill(start)
            for binning, col, table in zip(self._state.binnings, cols, tables, strict=True):
                x = np.asarray(col[lo : lo + _CHUNK_ROWS], dtype=np.float64)
                acc += table.take(binning.index(x))
        return out

    def score(self, X: Features, *, rounded: bool | None = None) -> FloatArray:
        """Score per row (more points = lower risk).

        `rounded` None follows `round_points`; False gives the exact (unrounded) score; True
        requires `round_points`.
        """
        model = self._state
        if rounded is None:
            tables = model.score_points
        elif rounded:
            if self.round_points is None:
                raise ValueError("this scorecard has no rounding (round_points is None)")
            tables = model.score_points
        else:
            tables = model.points
        return self._sum_lookup(self._columns(X), tables, 0.0)

    def log_odds(self, X: Features) -> FloatArray:
        """logit(P(bad)) = α + Σ β_j · WoE_j."""
        model = self._state
        tables = [beta * b.woe for b, beta in zip(model.binnings, model.coefficients, strict=True)]
        return self._sum_lookup(self._columns(X), tables, model.intercept)

    def predict_proba(self, X: Features) -> FloatArray:
        """(n, 2) array of [P(good), P(bad)], as scikit-learn orders classes 0, 1."""
        z = self.log_odds(X)
        p_bad = 1.0 / (1.0 + np.exp(-z))
        p_good = 1.0 / (1.0 + np.exp(z))  # not 1 - p_bad: keeps precision for tiny P(good)
        return np.column_stack([p_good, p_bad])

    def transform(self, X: Features) -> FloatArray:
        """(n, k) WoE matrix, columns in `names` order."""
        cols = self._columns(X)
        return np.column_stack(
            [
                b.woe.take(b.index(np.asarray(c, dtype=np.float64)))
                for b, c in zip(self._state.binnings, cols, strict=True)
            ]
        )

    def points_matrix(self, X: Features) -> FloatArray:
        """(n, k) points per row and characteristic (the points score() adds up)."""
        cols = self._columns(X)
        model = self._state
        return np.column_stack(
            [
                p.take(b.index(np.asarray(c, dtype=np.float64)))
                for b, p, c in zip(model.binnings, model.score_points, cols, strict=True)
            ]
        )

    def reason_code_indices(self, X: Features, top_n: int = 4) -> tuple[IndexArray, FloatArray]:
        """Vectorised "points below" reasons.

        Returns (characteristic index, points lost), each (n, top_n), largest loss first; a
        loss is points_max_j - points_ij.  Slots without a positive loss hold -1 and 0.0, so a
        row that lost points on fewer than `top_n` characteristics gets fewer reasons.  Equal
        losses keep the model's characteristic order.
        """
        return self._reasons(self.points_matrix(X), top_n)

    def score_with_reasons(self, X: Features, top_n: int = 4
                           ) -> tuple[FloatArray, IndexArray, FloatArray]:
        """``score(X)`` and ``reason_code_indices(X, top_n)`` together, each value binned
        once: both read the same points (scoring one entity, the binning is most of it)."""
        points = self.points_matrix(X)
        # Added column by column from 0.0, as score() adds them: the same float results.
        scores = np.zeros(points.shape[0], dtype=np.float64)
        for j in range(points.shape[1]):
            scores += points[:, j]
        return (scores, *self._reasons(points, top_n))

    def _reasons(self, points: FloatArray, top_n: int) -> tuple[IndexArray, FloatArray]:
        if top_n < 1:
            raise ValueError(f"top_n must be >= 1, got {top_n}")
        loss = self._state.best_points[np.newaxis, :] - points
        order = np.argsort(-loss, axis=1, kind="stable")[:, :top_n]
        top = np.take_along_axis(loss, order, axis=1)
        keep = top > _LOSS_TOL
        return np.where(keep, order, -1), np.where(keep, top, 0.0)

    def reason_texts(self) -> dict[str, tuple[str, str]]:
        """Each characteristic's (Chinese, English) reason text."""
        return dict(self._state.descriptions)

    def reason_codes(self, X: Features, top_n: int = 4) -> list[list[ReasonCode]]:
        """Per row, up to `top_n` reasons with their Chinese and English texts."""
        return self.explain(*self.reason_code_indices(X, top_n))

    def explain(self, order: IndexArray, lost: FloatArray) -> list[list[ReasonCode]]:
        """Reason codes with their texts from ``reason_code_indices``' arrays."""
        names = self.names
        texts = [self._state.descriptions[n] for n in names]
        return [
            [
                ReasonCode(names[j], float(p), texts[j][0], texts[j][1])
                for j, p in zip(row_j.tolist(), row_p.tolist(), strict=True)
                if j >= 0
            ]
            for row_j, row_p in zip(order, lost, strict=True)
        ]

    # -- reporting ----------------------------------------------------------------------------

    def table(self) -> list[ScorecardRow]:
        model = self._state
        rows: list[ScorecardRow] = []
        for b, pts, spts in zip(model.binnings, model.points, model.score_points, strict=True):
            for i, label in enumerate(b.labels):
                rows.append(
                    ScorecardRow(
                        characteristic=b.name,
                        bin=label,
                        woe=float(b.woe[i]),
                        points=float(pts[i]),
                        points_rounded=None if self.round_points is None else float(spts[i]),
                    )
                )
        return rows

    def to_text(self) -> str:
        model = self._state
        lines = [
            f"Scorecard, {len(model.binnings)} characteristics: {self.base_points:g} points at "
            f"{self.base_odds:g}:1 good:bad odds, {self.pdo:g} points to double the odds "
            "(more points = lower risk)",
            f"factor {self.factor:.6f}, offset {self.offset:.6f}, intercept {model.intercept:+.6f}",
            "",
        ]
        coef = dict(zip(self.names, model.coefficients.tolist(), strict=True))
        iv = {b.name: b.iv for b in model.binnings}
        headers = ["Characteristic", "Bin", "WoE", "Points"]
        rounded = self.round_points is not None
        if rounded:
            headers.append("Rounded")
        rows: list[list[str]] = []
        previous = ""
        for r in self.table():
            label = ""
            if r.characteristic != previous:  # name the characteristic on its first bin only
                label = f"{r.characteristic} (β {coef[r.characteristic]:+.4f}, IV "
                label += f"{iv[r.characteristic]:.4f})"
                previous = r.characteristic
            cells = [label, r.bin, f"{r.woe:+.4f}", f"{r.points:.4f}"]
            if rounded:
                cells.append(f"{r.points_rounded:g}")
            rows.append(cells)
        numeric = [False, False, *([True] * (len(headers) - 2))]
        return "\n".join(lines) + _render(headers, rows, numeric)

    # -- persistence --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe artifact: only dicts, lists, strings, ints, finite floats, null."""
        model = self._state
        chars: list[dict[str, Any]] = []
        for b, beta, pts in zip(model.binnings, model.coefficients, model.points, strict=True):
            zh, en = model.descriptions[b.name]
            chars.append(
                {
                    **b.to_dict(),
                    "description_zh": zh,
                    "description_en": en,
                    "coefficient": float(beta),
                    "points": [float(v) for v in pts],
                }
            )
        return {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "scaling": {
                "pdo": self.pdo,
                "base_points": self.base_points,
                "base_odds": self.base_odds,
                "round_points": self.round_points,
            },
            "intercept": model.intercept,
            "characteristics": chars,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Scorecard:
        """Rebuild a fitted scorecard, validating everything; raises ScorecardFormatError."""
        top = _obj(data, "artifact", _TOP_KEYS)
        if top["format"] != FORMAT_NAME:
            raise ScorecardFormatError(f"format: expected {FORMAT_NAME!r}, got {top['format']!r}")
        version = top["format_version"]
        if type(version) is not int:
            raise ScorecardFormatError(f"format_version: expected an integer, got {version!r}")
        if version != FORMAT_VERSION:
            raise ScorecardFormatError(
                f"format_version: unknown version {version} (this code reads {FORMAT_VERSION})"
            )
        scaling = _obj(top["scaling"], "scaling", _SCALING_KEYS)
        rp = scaling["round_points"]
        if rp is not None and (type(rp) is not int or not 0 <= rp <= _MAX_ROUND_DECIMALS):
            raise ScorecardFormatError(
                f"scaling.round_points: expected null or an integer 0..{_MAX_ROUND_DECIMALS}, "
                f"got {rp!r}"
            )
        card = cls(
            pdo=_num(scaling["pdo"], "scaling.pdo", positive=True),
            base_points=_num(scaling["base_points"], "scaling.base_points"),
            base_odds=_num(scaling["base_odds"], "scaling.base_odds", positive=True),
            round_points=rp,
        )
        intercept = _num(top["intercept"], "intercept")
        chars = top["characteristics"]
        if not isinstance(chars, list) or not chars:
            raise ScorecardFormatError("characteristics: expected a non-empty list")
        binnings: list[Binning] = []
        coefs: list[float] = []
        descriptions: dict[str, tuple[str, str]] = {}
        stored_points: list[FloatArray] = []
        for j, raw in enumerate(chars):
            path = f"characteristics[{j}]"
            c = _obj(raw, path, _CHAR_KEYS)
            binning = _binning_from(c, path)
            if binning.name in descriptions:
                raise ScorecardFormatError(f"{path}.name: duplicate name {binning.name!r}")
            descriptions[binning.name] = (
                _text(c["description_zh"], f"{path}.description_zh"),
                _text(c["description_en"], f"{path}.description_en"),
            )
            coefs.append(_num(c["coefficient"], f"{path}.coefficient"))
            stored_points.append(_num_list(c["points"], f"{path}.points", binning.n_bins))
            binnings.append(binning)
        card._install(binnings, np.array(coefs, dtype=np.float64), intercept, descriptions)
        # Points are derived data; a mismatch means the file was corrupted or hand-edited.
        for j, (stored, derived) in enumerate(zip(stored_points, card._state.points, strict=True)):
            if not np.allclose(stored, derived, rtol=_CONSISTENCY_RTOL, atol=_CONSISTENCY_RTOL):
                raise ScorecardFormatError(
                    f"characteristics[{j}].points: do not follow from coefficient, WoE, "
                    "intercept and scaling"
                )
        return card

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the JSON artifact atomically (a reader never sees a half-written file)."""
        target = Path(path)
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=2, allow_nan=False) + "\n"
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Scorecard:
        """Read and strictly validate an artifact; OSError if unreadable, else
        ScorecardFormatError for anything malformed."""
        return cls.loads(Path(path).read_bytes())

    @classmethod
    def loads(cls, raw: bytes) -> Scorecard:
        """An artifact's bytes, strictly validated: ScorecardFormatError for anything
        malformed, hostile input included (numbers beyond float or int64, deep nesting)."""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ScorecardFormatError(f"not UTF-8 text ({exc})") from exc
        try:
            data = json.loads(text, parse_constant=_reject_constant)
        except (json.JSONDecodeError, RecursionError, ValueError) as exc:
            # ValueError: e.g. an integer of more digits than int() converts.
            raise ScorecardFormatError(f"not valid JSON ({type(exc).__name__}: "
                                       f"{str(exc)[:200]})") from None
        try:
            return cls.from_dict(data)
        except ScorecardFormatError:
            raise
        except (OverflowError, RecursionError, TypeError, ValueError) as exc:
            raise ScorecardFormatError(f"a value out of range ({type(exc).__name__}: "
                                       f"{str(exc)[:200]})") from None


# --------------------------------------------------------------------------------------------
# Artifact validation

_TOP_KEYS: Final = frozenset(
    {"format", "format_version", "scaling", "intercept", "characteristics"}
)
_SCALING_KEYS: Final = frozenset({"pdo", "base_points", "base_odds", "round_points"})
_CHAR_KEYS: Final = frozenset(
    {
        "name",
        "trend",
        "smoothing",
        "edges",
        "special_values",
        "goods",
        "bads",
        "woe",
        "description_zh",
        "description_en",
        "coefficient",
        "points",
    }
)


def _reject_constant(name: str) -> Any:
    raise ScorecardFormatError(f"non-finite number {name} (not valid JSON)")


def _obj(value: Any, path: str, keys: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScorecardFormatError(f"{path}: expected an object, got {type(value).__name__}")
    missing = sorted(keys - value.keys())
    if missing:
        raise ScorecardFormatError(f"{path}: missing key(s) {', '.join(missing)}")
    unknown = sorted(str(k) for k in value.keys() - keys)
    if unknown:
        raise ScorecardFormatError(f"{path}: unknown key(s) {', '.join(unknown)}")
    return cast(dict[str, Any], value)


def _num(value: Any, path: str, *, positive: bool = False) -> float:
    # bool is an int subclass; true/false in a number field is corruption, not 1/0.
    if type(value) not in (int, float):
        raise ScorecardFormatError(f"{path}: expected a number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise ScorecardFormatError(f"{path}: expected a finite number, got {value!r}")
    if positive and out <= 0:
        raise ScorecardFormatError(f"{path}: expected a positive number, got {value!r}")
    return out


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ScorecardFormatError(f"{path}: expected a non-empty string, got {value!r}")
    return value


def _list(value: Any, path: str, length: int | None = None) -> list[Any]:
    if not isinstance(value, list):
        raise ScorecardFormatError(f"{path}: expected a list, got {type(value).__name__}")
    if length is not None and len(value) != length:
        raise ScorecardFormatError(
            f"{path}: expected {length} entries (one per bin), got {len(value)}"
        )
    return value


def _num_list(value: Any, path: str, length: int | None = None) -> FloatArray:
    items = _list(value, path, length)
    return np.array([_num(v, f"{path}[{i}]") for i, v in enumerate(items)], dtype=np.float64)


def _count_list(value: Any, path: str, length: int) -> CountArray:
    items = _list(value, path, length)
    for i, v in enumerate(items):
        if type(v) is not int or v < 0:
            raise ScorecardFormatError(f"{path}[{i}]: expected a count >= 0, got {v!r}")
    return np.array(items, dtype=np.int64)


def _edges(value: Any, path: str) -> FloatArray:
    items = _list(value, path)
    if len(items) < 2 or items[0] != "-inf" or items[-1] != "inf":
        raise ScorecardFormatError(f'{path}: must start with "-inf" and end with "inf"')
    inner = [_num(v, f"{path}[{i}]") for i, v in enumerate(items[1:-1], start=1)]
    edges = np.array([-np.inf, *inner, np.inf], dtype=np.float64)
    bad = np.flatnonzero(np.diff(edges) <= 0)
    if bad.size:
        i = int(bad[0])
        raise ScorecardFormatError(
            f"{path}: not strictly increasing at position {i + 1} "
            f"({_fmt(edges[i])} then {_fmt(edges[i + 1])})"
        )
    return edges


def _binning_from(c: dict[str, Any], path: str) -> Binning:
    name = _text(c["name"], f"{path}.name")
    trend = c["trend"]
    if trend not in ("ascending", "descending"):
        raise ScorecardFormatError(f"{path}.trend: expected ascending or descending, got {trend!r}")
    smoothing = _num(c["smoothing"], f"{path}.smoothing", positive=True)
    edges = _edges(c["edges"], f"{path}.edges")
    specials = _num_list(c["special_values"], f"{path}.special_values")
    if np.unique(specials).size != specials.size:
        raise ScorecardFormatError(f"{path}.special_values: duplicate values")
    n_bins = len(edges) - 1 + specials.size + 1
    binning = Binning(
        name=name,
        edges=edges,
        special_values=tuple(float(v) for v in specials),
        goods=_count_list(c["goods"], f"{path}.goods", n_bins),
        bads=_count_list(c["bads"], f"{path}.bads", n_bins),
        trend=cast(FittedTrend, trend),
        smoothing=smoothing,
    )
    woe = _num_list(c["woe"], f"{path}.woe", n_bins)
    if not np.allclose(woe, binning.woe, rtol=_CONSISTENCY_RTOL, atol=_CONSISTENCY_RTOL):
        raise ScorecardFormatError(f"{path}.woe: does not follow from goods, bads and smoothing")
    return binning


# --------------------------------------------------------------------------------------------
# Metrics
#
# Score orientation follows scikit-learn: a higher `risk` means more likely bad (y = 1).  Pass
# P(bad) or log-odds as they are, and scorecard points (more = safer) negated.


def _pair(y: npt.ArrayLike, risk: npt.ArrayLike) -> tuple[npt.NDArray[np.int8], FloatArray]:
    ys = _target(y)
    rs = _column(risk, "risk")
    if rs.shape != ys.shape:
        raise ValueError(f"y has {ys.size} rows but the scores have {rs.size}")
    if np.isnan(rs).any():
        raise ValueError("scores contain NaN")
    return ys, rs


def auc(y: npt.ArrayLike, risk: npt.ArrayLike) -> float:
    """Area under the ROC curve (ties count one half)."""
    from sklearn.metrics import roc_auc_score

    ys, rs = _pair(y, risk)
    return float(roc_auc_score(ys, rs))


def gini(y: npt.ArrayLike, risk: npt.ArrayLike) -> float:
    """Gini (accuracy ratio) = 2·AUC − 1."""
    return 2.0 * auc(y, risk) - 1.0


def ks(y: npt.ArrayLike, risk: npt.ArrayLike) -> float:
    """Kolmogorov–Smirnov: max |F_bad(t) − F_good(t)| over all thresholds t (orientation-free)."""
    ys, rs = _pair(y, risk)
    bad = np.sort(rs[ys == 1])
    good = np.sort(rs[ys == 0])
    # Evaluate the empirical CDFs at every distinct score, so tied scores move together.
    t = np.unique(rs)
    cdf_bad = np.searchsorted(bad, t, side="right") / bad.size
    cdf_good = np.searchsorted(good, t, side="right") / good.size
    return float(np.max(np.abs(cdf_bad - cdf_good)))


def _quantile_cuts(values: FloatArray, bins: int) -> FloatArray:
    """Inner cut points at the quantiles of `values` (observed values, unique, below the max)."""
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    levels = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    cuts: FloatArray = np.unique(np.quantile(values, levels, method="lower"))
    below_max: FloatArray = cuts[cuts < float(values.max())]
    return below_max


_PSI_MAX_VALUE_BINS: Final = 100


def psi(expected_scores: npt.ArrayLike, actual_scores: npt.ArrayLike, bins: int = 10) -> float:
    """Population stability index Σ (a_i − e_i)·ln(a_i / e_i).

    Bins are right-closed intervals cut at the quantiles (deciles by default) of the expected
    sample. A discrete score repeats quantiles, which merge: when that leaves fewer bins than
    asked, each distinct expected value is a bin of its own instead (up to
    _PSI_MAX_VALUE_BINS of them; else the merged quantile bins stand). A scorecard's score is
    discrete, and with 85 % of a population at one value its deciles made two bins, which a
    shift of half the A grades to C did not move. A share of zero is floored at 1e-4 so an
    empty bin contributes a large but finite term.
    """
    e = _column(expected_scores, "expected_scores")
    a = _column(actual_scores, "actual_scores")
    if e.size == 0 or a.size == 0 or np.isnan(e).any() or np.isnan(a).any():
        raise ValueError("psi needs non-empty samples without NaN")
    cuts = _quantile_cuts(e, bins)
    if cuts.size + 1 < bins:
        values = np.unique(e)
        if values.size <= _PSI_MAX_VALUE_BINS:
            cuts = values[:-1]
    k = cuts.size + 1
    pe = np.bincount(np.searchsorted(cuts, e, side="left"), minlength=k) / e.size
    pa = np.bincount(np.searchsorted(cuts, a, side="left"), minlength=k) / a.size
    pe = np.maximum(pe, _PSI_EPS)
    pa = np.maximum(pa, _PSI_EPS)
    return float(np.sum((pa - pe) * np.log(pa / pe)))


@dataclass(frozen=True)
class CalibrationRow:
    """One quantile bin of predicted P(bad) against what happened."""

    lower: float  # exclusive
    upper: float  # inclusive
    count: int
    mean_predicted: float
    observed_bad_rate: float
    expected_bads: float
    observed_bads: int


def calibration_table(
    proba: npt.ArrayLike, y: npt.ArrayLike, bins: int = 10
) -> list[CalibrationRow]:
    """Quantile bins (deciles by default) of predicted P(bad), with predicted vs observed."""
    ys, p = _pair(y, proba)
    if p.min() < 0.0 or p.max() > 1.0:
        raise ValueError("proba must be probabilities of bad in [0, 1]")
    cuts = _quantile_cuts(p, bins)
    idx = np.searchsorted(cuts, p, side="left")
    bounds = np.concatenate([[-np.inf], cuts, [np.inf]])
    counts = np.bincount(idx, minlength=cuts.size + 1)
    sum_p = np.bincount(idx, weights=p, minlength=cuts.size + 1)
    bads = np.bincount(idx, weights=ys, minlength=cuts.size + 1)
    return [
        CalibrationRow(
            lower=float(bounds[i]),
            upper=float(bounds[i + 1]),
            count=int(counts[i]),
            mean_predicted=float(sum_p[i] / counts[i]),
            observed_bad_rate=float(bads[i] / counts[i]),
            expected_bads=float(sum_p[i]),
            observed_bads=round(bads[i]),
        )
        for i in range(cuts.size + 1)
        if counts[i]
    ]
