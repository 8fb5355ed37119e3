"""Demo and benchmark data for Jilin: entities, their dishonesty records and agency registers.

    python -m services.records.demo [--database-url URL] [--entities 1000] [--seed 7]
        [--records-per-entity 3] [--compliant-share 0.85] [--truth FILE] [--if-empty]
        [--batch-size 5000]

Every entity has a hidden propensity: a latent yearly rate of records, lognormal across
entities and shifted by region, industry and segment; a compliant majority (85 %) has a
thousandth of the rate it would otherwise have, so that, as in life, most entities never earn a
record and a clean history means something (`--compliant-share`; 0 gives the earlier population
where every entity is at risk, which the benchmarks keep using). Records arrive as a Poisson
process at that rate, modulated quarter by quarter by an AR(1) factor (bursts and quiet spells
lasting a few quarters), so past records predict future ones. The severity of what an entity
does rises with its propensity. Only records the rules accept are produced. The propensity
never reaches the database; `--truth FILE` exports it for validating scoring models.

Everything is a pure function of (seed, entities, records_per_entity, compliant_share, today):
entities are drawn in fixed chunks from their own numpy streams, so a larger run starts with the
same entities as a smaller one, and the same arguments give byte-identical submissions.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from typing import Final, TextIO

import numpy as np
import numpy.typing as npt
from sqlalchemy import select, text

from credit.v1 import common_pb2, records_pb2
from services.common.auth import Principal
from services.common.codes import (
    USCC_ALPHABET,
    PersonalIdProtector,
    china_today,
    resident_id_check_char,
    uscc_check_char,
)
from services.common.config import ConfigError
from services.common.db import bulk_insert, next_id
from services.records import departments
from services.records.ingest import Result, entity_row, ingest
from services.records.models import AnnualReport, Base, Entity
from services.records.rules.credit_service_agency import last_due_report_year
from services.records.rules.national import add_months
from services.records.store import Change, Store, now, open_store, publish
from services.records.submission import Invalid, SubjectIn, decode_subject

__all__ = [
    "ADMIN",
    "REGIONS",
    "AnnualReportEntry",
    "DemoEntity",
    "LoadStats",
    "Region",
    "annual_reports",
    "entities",
    "generate",
    "load",
    "main",
    "truth_rows",
]

ADMIN: Final = Principal("demo-loader", None, frozenset({"admin"}))
YEARS: Final = 5  # records cover the last five years up to `today`
CHUNK: Final = 10_000  # entities per generation chunk; part of the seed → data contract
_PILOT: Final = 100_000  # entities drawn once to calibrate the mean records per entity

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


# ------------------------------------------------------------------------------ regions


@dataclass(frozen=True)
class Region:
    code: str  # GB/T 2260 county-level division
    name: str
    place: str  # how it opens an organisation's name; districts use their city
    city: str  # 地级市 / 自治州
    abbr: str  # the city's short form in decision numbers
    weight: float  # share of entities (Dehui is over-represented: the pilot county)


def _regions() -> tuple[Region, ...]:
    cities = {
        "2201": ("长春市", "长", "长春"),
        "2202": ("吉林市", "吉市", "吉林"),
        "2203": ("四平市", "四", "四平"),
        "2204": ("辽源市", "辽", "辽源"),
        "2205": ("通化市", "通", "通化"),
        "2206": ("白山市", "白山", "白山"),
        "2207": ("松原市", "松", "松原"),
        "2208": ("白城市", "白城", "白城"),
        "2224": ("延边朝鲜族自治州", "延", "延边"),
    }
    table = [
        ("220102", "南关区", 3.0), ("220103", "宽城区", 2.5), ("220104", "朝阳区", 3.0),
        ("220105", "二道区", 2.5), ("220106", "绿园区", 2.5), ("220112", "双阳区", 1.2),
        ("220113", "九台区", 1.5), ("220122", "农安县", 2.0), ("220182", "榆树市", 2.0),
        ("220183", "德惠市", 16.0), ("220184", "公主岭市", 2.0),
        ("220202", "昌邑区", 2.0), ("220203", "龙潭区", 1.5), ("220204", "船营区", 1.5),
        ("220211", "丰满区", 1.0), ("220221", "永吉县", 0.8), ("220281", "蛟河市", 0.8),
        ("220282", "桦甸市", 0.7), ("220283", "舒兰市", 0.7), ("220284", "磐石市", 0.8),
        ("220302", "铁西区", 1.0), ("220303", "铁东区", 1.0), ("220322", "梨树县", 1.0),
        ("220382", "双辽市", 0.6),
        ("220402", "龙山区", 0.8), ("220403", "西安区", 0.5), ("220421", "东丰县", 0.5),
        ("220502", "东昌区", 1.0), ("220581", "梅河口市", 1.0), ("220582", "集安市", 0.5),
        ("220602", "浑江区", 0.8), ("220681", "临江市", 0.4),
        ("220702", "宁江区", 1.2), ("220781", "扶余市", 0.8),
        ("220802", "洮北区", 0.8), ("220881", "洮南市", 0.5),
        ("222401", "延吉市", 2.0), ("222403", "敦化市", 0.8), ("222404", "珲春市", 0.7),
    ]
    out = []
    for code, name, weight in table:
        city, abbr, short = cities[code[:4]]
        place = short if name.endswith("区") else name
        out.append(Region(code, name, place, city, abbr, weight))
    return tuple(out)


REGIONS: Final = _regions()
_REGION_P: Final = np.array([r.weight for r in REGIONS]) / sum(r.weight for r in REGIONS)

# ------------------------------------------------------------------- industries, segments

_SECTIONS: Final = "ABCDEFGHIJKLMNOPQRST"
# GB/T 4754 section mix of Jilin enterprises (wholesale/retail and manufacturing lead).
_ENTERPRISE_MIX: Final = {"A": 5, "B": 1, "C": 13, "D": 1, "E": 8, "F": 30, "G": 5, "H": 7,
                          "I": 4, "J": 1, "K": 3, "L": 9, "M": 5, "N": 1, "O": 4, "P": 1,
                          "Q": 1, "R": 1}
_INSTITUTION_MIX: Final = {"P": 35, "Q": 35, "S": 15, "M": 8, "R": 7}
_PERSON_MIX: Final = {"O": 40, "F": 35, "A": 15, "H": 10}
_AGENCY_MIX: Final = {"L": 60, "M": 40}
# Log-rate shifts: wage arrears and site safety make construction the riskiest trade.
_INDUSTRY_EFFECT: Final = {"A": 0.0, "B": 0.3, "C": 0.2, "D": -0.2, "E": 0.5, "F": 0.1,
                           "G": 0.2, "H": 0.2, "I": -0.3, "J": -0.2, "K": 0.3, "L": 0.0,
                           "M": -0.2, "N": -0.1, "O": 0.1, "P": -0.4, "Q": -0.3, "R": 0.0,
                           "S": -0.6, "T": 0.0}

# Segments decide which sources can reach an entity.
GENERAL, MEDICAL, FIRE, AGENCY, INSTITUTION, PERSON = range(6)
_SEGMENT_EFFECT: Final = np.array([0.0, 0.3, 0.3, 0.4, -0.5, 0.0])
# Pharma producers (C) and distributors (F); fire-product makers (C), sellers (F), installers
# and users (E), and a few inspection or certification bodies (M).
_MEDICAL_SHARE: Final = {"C": 0.20, "F": 0.25}
_FIRE_SHARE: Final = {"C": 0.20, "F": 0.12, "E": 0.30, "M": 0.05}

KIND_NAMES: Final = ("enterprise", "credit_service_agency", "institution", "person")
_KIND_P: Final = np.array([0.85, 0.02, 0.05, 0.08])
_KIND_ENUM: Final = {
    "enterprise": common_pb2.ENTITY_KIND_ENTERPRISE,
    "credit_service_agency": common_pb2.ENTITY_KIND_CREDIT_SERVICE_AGENCY,
    "institution": common_pb2.ENTITY_KIND_INSTITUTION,
    "person": common_pb2.ENTITY_KIND_PERSON,
}

_SIGMA: Final = 1.1  # spread of the latent log-rate across entities
_AR_RHO: Final = 0.85  # quarter-to-quarter persistence of the time-varying factor
_AR_SD: Final = 0.5  # its stationary standard deviation
_MAX_RATE: Final = 12.0  # records/year: caps the lognormal tail
# Most organisations and people never earn a dishonesty record: a compliant majority whose
# rate is a small fraction of the rest's. Without it a clean history would say little (every
# entity would carry a rate of several records a decade) and no one would deserve grade A.
COMPLIANT_SHARE: Final = 0.85  # the default; `compliant_share` sets another
_COMPLIANT_FACTOR: Final = 0.001


def _mix(table: dict[str, int]) -> tuple[npt.NDArray[np.int64], F64]:
    letters = np.array([_SECTIONS.index(k) for k in table], dtype=np.int64)
    weights = np.array(list(table.values()), dtype=np.float64)
    return letters, np.cumsum(weights / weights.sum())


_MIXES: Final = {name: _mix(t) for name, t in (
    ("enterprise", _ENTERPRISE_MIX), ("institution", _INSTITUTION_MIX),
    ("person", _PERSON_MIX), ("agency", _AGENCY_MIX))}

# -------------------------------------------------------------------------------- names

# 字号 are two characters, one from each pool.
_FIRST: Final = ("鑫恒华宏金瑞盛龙天永隆嘉福兴长鼎博信汇百万正聚"
                 "东北吉松亿鸿晟泰丰润昊佳远德立众新同开裕辰银圣元")
_SECOND: Final = ("源泰顺达鼎丰世腾宇昌兴禾瑞业青盛远通川和升方江"
                  "运诺鑫航润信诚亚创元泽辉安康程晨阳利旺")
_TRADE: Final = {
    "A": ("农业发展", "牧业", "种植", "农牧"), "B": ("矿业", "石材"),
    "C": ("食品", "机械制造", "塑料制品", "木业", "建材", "米业", "酒业", "汽车零部件", "服装"),
    "D": ("热力", "电力工程", "燃气"), "E": ("建筑工程", "建设工程", "装饰工程", "市政工程"),
    "F": ("商贸", "贸易", "粮食贸易", "农资", "汽车销售", "超市"),
    "G": ("物流", "运输", "货运"), "H": ("餐饮管理", "酒店管理", "饭店"),
    "I": ("网络科技", "信息技术", "软件"), "J": ("投资管理",),
    "K": ("房地产开发", "物业服务"), "L": ("商务服务", "人力资源服务", "广告", "劳务派遣"),
    "M": ("科技", "工程设计", "技术服务"), "N": ("环保科技", "园林绿化"),
    "O": ("家政服务", "汽车维修"), "P": ("教育科技",), "Q": ("健康管理",),
    "R": ("文化传媒", "体育发展"), "S": ("社会服务",), "T": ("国际交流",),
}
_MEDICAL_TRADE: Final = {"C": ("制药", "药业", "生物制药"), "F": ("医药", "医药连锁", "药品经销")}
_FIRE_TRADE: Final = {"C": ("消防设备", "消防器材制造"), "F": ("消防器材", "消防设备销售"),
                      "E": ("消防工程", "消防安全工程"), "M": ("消防检测", "检测认证")}
_AGENCY_TRADE: Final = ("信用管理", "信用评估", "信用服务", "信用评价")
_FORMS: Final = ("有限公司",) * 15 + ("有限责任公司",) * 3 + ("股份有限公司",)
_SURNAMES: Final = ("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许"
                    "傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎金崔姜")
_MALE: Final = "伟强磊军勇杰涛明超辉刚鹏华飞鑫波宇浩凯健俊帆东峰斌亮林成志国"
_FEMALE: Final = "芳娜敏静丽艳娟霞燕玲婷雪慧红梅莉丹萍颖琳倩欣怡晶佳月秀"


def _pick(options: Sequence[str], u: float) -> str:
    return options[min(int(u * len(options)), len(options) - 1)]


# ------------------------------------------------------------------------------- public types


@dataclass(frozen=True)
class DemoEntity:
    index: int  # position in the generated order
    kind: str
    uscc: str  # "" for persons
    resident_id: str  # persons only; fake but valid (check digit, birth date)
    name: str
    region_code: str
    industry: str
    established_on: date  # persons: the birth date
    # Latent records/year (0 where no source applies). For --truth only, never stored.
    propensity: float

    def subject(self) -> records_pb2.Subject:
        ref = (common_pb2.EntityRef(resident_id=self.resident_id) if self.kind == "person"
               else common_pb2.EntityRef(uscc=self.uscc))
        return records_pb2.Subject(ref=ref, kind=_KIND_ENUM[self.kind], name=self.name,
                                   region_code=self.region_code, industry=self.industry,
                                   established_on=self.established_on.isoformat())


@dataclass(frozen=True)
class AnnualReportEntry:
    """A credit service agency's annual report (art. 13) as the register records it."""

    uscc: str
    year: int
    filed_on: date


@dataclass
class LoadStats:
    entities: int = 0  # generated
    entities_created: int = 0  # new in the database (a re-run creates none)
    annual_reports: int = 0  # new register entries
    records: int = 0  # submitted
    created: int = 0
    unchanged: int = 0
    corrected: int = 0
    rejected: int = 0
    seconds: float = 0.0
    # Of the records this run wrote; category "not_listed" when no dishonesty arises.
    by_source: Counter[str] = field(default_factory=Counter)
    by_category: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)  # the first rejections, for diagnosis


# ------------------------------------------------------------------------------ generation


@dataclass
class _Attrs:
    """Vectorised entity draws of one chunk (or of the calibration pilot)."""

    kind: I64
    segment: I64
    region: I64
    industry: I64
    established: I64  # proleptic ordinals
    log_rate: F64  # before calibration
    severity: F64  # 0..1: how bad an entity's findings tend to be
    gap: F64  # uniform draw deciding a two-year annual-report gap (agencies)
    u: F64  # (n, 8) uniforms for names, codes and registers

    def head(self, m: int) -> _Attrs:
        return _Attrs(*(getattr(self, f.name)[:m] for f in fields(self)))


@dataclass
class _Chunk:
    entities: list[DemoEntity]
    attrs: _Attrs
    gaps: dict[int, int]  # local index → first of two unfiled report years
    reports: list[AnnualReportEntry]


class _Generator:
    def __init__(self, seed: int, n: int, records_per_entity: float, today: date,
                 compliant_share: float = COMPLIANT_SHARE) -> None:
        if n < 0:
            raise ValueError("entities must not be negative")
        if records_per_entity < 0:
            raise ValueError("records_per_entity must not be negative")
        if today < date(2000, 1, 1):
            raise ValueError("today must be 2000-01-01 or later")
        if not 0 <= compliant_share < 1:
            raise ValueError("compliant_share must be at least 0 and below 1")
        self.seed, self.n, self.today = seed, n, today
        self.compliant_share = compliant_share
        self.start = add_months(today, -12 * YEARS) + timedelta(days=1)
        self.first_report_year = self.start.year - 2
        rng = self._rng(0, 0)
        self.region_effect = rng.normal(0.0, 0.3, len(REGIONS))
        # Affine maps of the entity index give unique organisation codes without a lookup.
        self.num_a, self.num_b = _unit(rng, 10**8, (2, 5)), int(rng.integers(10**8))
        self.ma_a, self.ma_b = _unit(rng, 31**6, (31,)), int(rng.integers(31**6))
        pilot = self._attrs(self._rng(0, 1), _PILOT)
        exposure = np.clip(self.today.toordinal() + 1 - np.maximum(
            pilot.established, self.start.toordinal()), 0, None) / 365.25
        raw = self._raw_rate(pilot)
        # The rate cap bites harder as the scale grows: iterate to the scale that meets the
        # mean (a contraction, so a few steps are exact to well under a percent).
        self.scale = 0.0
        expected = float(np.mean(raw * exposure))
        if expected > 0 and records_per_entity > 0:
            self.scale = records_per_entity / expected
            for _ in range(20):
                got = float(np.mean(np.minimum(raw * self.scale, _MAX_RATE) * exposure))
                self.scale *= records_per_entity / got
        self.used_ids: set[str] = set()
        self.numbers: Counter[tuple[str, int]] = Counter()

    def _rng(self, stream: int, chunk: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence([self.seed, stream, chunk]))

    def _raw_rate(self, a: _Attrs) -> F64:
        rate = np.exp(a.log_rate)
        # Natural persons meet HR penalties only as individual employers (个体雇主): rarely.
        rate[a.segment == PERSON] *= 0.15
        return rate

    def _attrs(self, rng: np.random.Generator, n: int) -> _Attrs:
        kind = np.searchsorted(np.cumsum(_KIND_P), rng.random(n), side="right")
        kind = np.minimum(kind, 3)
        region = rng.choice(len(REGIONS), size=n, p=_REGION_P)
        u_ind, u_seg = rng.random(n), rng.random(n)
        industry = np.empty(n, dtype=np.int64)
        for k, mix in enumerate(("enterprise", "agency", "institution", "person")):
            letters, cum = _MIXES[mix]
            pick = np.minimum(np.searchsorted(cum, u_ind, side="right"), len(letters) - 1)
            industry = np.where(kind == k, letters[pick], industry)
        segment = np.select([kind == 1, kind == 2, kind == 3], [AGENCY, INSTITUTION, PERSON],
                            GENERAL)
        medical = np.zeros(n)
        fire = np.zeros(n)
        for letter, share in _MEDICAL_SHARE.items():
            medical[industry == _SECTIONS.index(letter)] = share
        for letter, share in _FIRE_SHARE.items():
            fire[industry == _SECTIONS.index(letter)] = share
        enterprise = kind == 0
        segment = np.where(enterprise & (u_seg < medical), MEDICAL, segment)
        segment = np.where(enterprise & (u_seg >= medical) & (u_seg < medical + fire), FIRE,
                           segment)
        # Founding dates lean recent (most firms are young); persons carry their birth date.
        hi = (self.today - timedelta(days=365)).toordinal()
        lo_org, lo_agency = date(1995, 1, 1).toordinal(), date(2003, 1, 1).toordinal()
        frac = np.where(kind == 2, rng.beta(1.0, 1.2, n), rng.beta(2.2, 1.3, n))
        lo = np.where(kind == 1, lo_agency, lo_org)
        established = (lo + frac * (hi - lo)).astype(np.int64)
        born_lo = date(1955, 1, 1).toordinal()
        born_hi = (self.today - timedelta(days=365 * 20 + 5)).toordinal()
        born = rng.integers(born_lo, born_hi, n)
        established = np.where(kind == 3, born, established)
        latent, noise = rng.standard_normal(n), rng.standard_normal(n)
        ind_effect = np.array([_INDUSTRY_EFFECT[s] for s in _SECTIONS])
        log_rate = (self.region_effect[region] + ind_effect[industry]
                    + _SEGMENT_EFFECT[segment] + _SIGMA * latent)
        severity = 1.0 / (1.0 + np.exp(-(0.9 * latent + 0.6 * noise - 0.4)))
        gap, rows = rng.random(n), rng.random((n, 8))
        # Drawn last, so every other attribute of an entity is what it was before.
        compliant = rng.random(n) < self.compliant_share
        log_rate = np.where(compliant, log_rate + math.log(_COMPLIANT_FACTOR), log_rate)
        return _Attrs(kind.astype(np.int64), segment.astype(np.int64), region.astype(np.int64),
                      industry, established, log_rate, severity, gap, rows)

    # -- entities

    def chunks(self) -> Iterator[_Chunk]:
        for k, i0 in enumerate(range(0, self.n, CHUNK)):
            # Whole chunks are drawn, so that a smaller run is a prefix of a larger one.
            a = self._attrs(self._rng(1, k), CHUNK).head(min(CHUNK, self.n - i0))
            rates = np.minimum(self._raw_rate(a) * self.scale, _MAX_RATE)
            ents: list[DemoEntity] = []
            gaps: dict[int, int] = {}
            reports: list[AnnualReportEntry] = []
            u_rows = a.u.tolist()
            for j in range(len(a.kind)):
                e = self._entity(i0 + j, a, j, u_rows[j], float(rates[j]))
                ents.append(e)
                if e.kind == "credit_service_agency":
                    gap = self._gap_year(e, float(a.gap[j]), float(a.severity[j]), u_rows[j])
                    if gap is not None:
                        gaps[j] = gap
                    reports.extend(self._register(e, gap, u_rows[j]))
            yield _Chunk(ents, a, gaps, reports)

    def _entity(self, index: int, a: _Attrs, j: int, u: list[float], rate: float) -> DemoEntity:
        kind = KIND_NAMES[int(a.kind[j])]
        region = REGIONS[int(a.region[j])]
        industry = _SECTIONS[int(a.industry[j])]
        segment = int(a.segment[j])
        established = date.fromordinal(int(a.established[j]))
        if kind == "person":
            rid, name = self._person(region, established, u)
            return DemoEntity(index, kind, "", rid, name, region.code, industry, established,
                              rate)
        if kind == "enterprise":
            trades = (_MEDICAL_TRADE.get(industry) if segment == MEDICAL
                      else _FIRE_TRADE.get(industry) if segment == FIRE else None)
            trade = _pick(trades or _TRADE[industry], u[2])
            name = f"{region.place}{_pick(_FIRST, u[0])}{_pick(_SECOND, u[1])}{trade}" \
                   f"{_pick(_FORMS, u[3])}"
            authority = "91"
        elif kind == "credit_service_agency":
            place = "吉林省" if u[4] < 0.3 else region.place
            name = f"{place}{_pick(_FIRST, u[0])}{_pick(_SECOND, u[1])}" \
                   f"{_pick(_AGENCY_TRADE, u[2])}有限公司"
            authority = "91"
        else:
            name, authority = _institution(region, industry, u)
        return DemoEntity(index, kind, self._uscc(index, authority, region.code, established),
                          "", name, region.code, industry, established, rate)

    def _uscc(self, index: int, authority: str, region: str, established: date) -> str:
        # Codes issued since the 2015 reform carry "MA" organisation codes; older ones kept
        # their 8-digit GB 11714 code.
        if established >= date(2015, 10, 1):
            v = (self.ma_a * index + self.ma_b) % 31**6
            body = "MA" + "".join(USCC_ALPHABET[(v // 31**p) % 31] for p in range(5, -1, -1))
        else:
            body = f"{(self.num_a * index + self.num_b) % 10**8:08d}"
        first17 = f"{authority}{region}{body}{_org_check(body)}"
        return first17 + uscc_check_char(first17)

    def _person(self, region: Region, born: date, u: list[float]) -> tuple[str, str]:
        male = u[0] < 0.5
        seq = int(u[1] * 500) * 2 + (1 if male else 0)  # 17th digit: odd for men
        while True:
            first17 = f"{region.code}{born:%Y%m%d}{seq:03d}"
            rid = first17 + resident_id_check_char(first17)
            if rid not in self.used_ids:
                break
            seq = (seq + 2) % 1000
        self.used_ids.add(rid)
        given = _MALE if male else _FEMALE
        name = _pick(_SURNAMES, u[2]) + _pick(given, u[3]) + (
            _pick(given, u[5]) if u[4] < 0.7 else "")
        return rid, name

    def _gap_year(self, e: DemoEntity, draw: float, severity: float,
                  u: list[float]) -> int | None:
        """First of two consecutive unfiled report years, or None (riskier agencies skip)."""
        if draw >= 0.08 + 0.35 * severity:
            return None
        first = max(e.established_on.year, self.first_report_year)
        last = last_due_report_year(self.today) - 1
        if first > last:
            return None
        return first + min(int(u[6] * (last - first + 1)), last - first)

    def _register(self, e: DemoEntity, gap: int | None, u: list[float]) -> list[AnnualReportEntry]:
        out = []
        late_share = 0.05 + 0.2 * u[7]
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 3, e.index]))
        first = max(e.established_on.year, self.first_report_year)
        years = range(first, last_due_report_year(self.today) + 1)
        draws = rng.random((len(years), 2)).tolist()
        for year, (late, day) in zip(years, draws, strict=True):
            if gap is not None and year in (gap, gap + 1):
                continue
            if late < late_share:  # after the 30 June deadline
                filed = date(year + 1, 7, 1) + timedelta(days=int(day * 150))
            else:
                filed = date(year + 1, 1, 10) + timedelta(days=int(day * 170))
            if filed <= self.today and filed > e.established_on:
                out.append(AnnualReportEntry(e.uscc, year, filed))
        return out

    # -- records

    def records(self, chunk: _Chunk, k: int) -> list[records_pb2.RecordSubmission]:
        rng = self._rng(2, k)
        a, n = chunk.attrs, len(chunk.entities)
        rate = np.array([e.propensity for e in chunk.entities]) / 365.25
        edges = _quarter_edges(self.start, self.today)
        w = len(edges) - 1
        lo = np.maximum(edges[None, :-1], a.established[:, None])
        span = np.clip(edges[None, 1:] - lo, 0, None)
        # AR(1) factor with mean one: bursts and quiet spells that persist for quarters.
        z = np.empty((n, w))
        z[:, 0] = rng.standard_normal(n) * _AR_SD
        innov = rng.standard_normal((n, w)) * _AR_SD * math.sqrt(1 - _AR_RHO**2)
        for q in range(1, w):
            z[:, q] = _AR_RHO * z[:, q - 1] + innov[:, q]
        lam = rate[:, None] * np.exp(z - _AR_SD**2 / 2) * span
        counts = rng.poisson(lam).ravel()
        cells = np.repeat(np.arange(n * w), counts)
        ent = cells // w
        day = lo.ravel()[cells] + (rng.random(len(cells)) * span.ravel()[cells]).astype(np.int64)
        # Item (五) of art. 16: agencies that skipped two report years, decided while both are
        # the last two due years (1 July Y+2 .. 30 June Y+3).
        extra_ent, extra_day = [], []
        gap_draws = rng.random((max(len(chunk.gaps), 1), 2)).tolist()
        for (j, gap), (take, pos) in zip(sorted(chunk.gaps.items()), gap_draws, strict=False):
            first = max(date(gap + 2, 7, 1).toordinal(), int(a.established[j]) + 1,
                        self.start.toordinal())
            last = min(date(gap + 3, 6, 30).toordinal(), self.today.toordinal())
            if first <= last and take < 0.8:
                extra_ent.append(j)
                extra_day.append(first + int(pos * (last - first + 1)))
        item5 = np.concatenate([np.zeros(len(ent), bool), np.ones(len(extra_ent), bool)])
        ent = np.concatenate([ent, np.array(extra_ent, dtype=np.int64)])
        day = np.concatenate([day, np.array(extra_day, dtype=np.int64)])
        order = np.lexsort((day, ent))
        ent, day, item5 = ent[order], day[order], item5[order]
        m = len(ent)
        source = _sources(a.segment[ent], rng.random(m))
        u_all = rng.random((m, 11)).tolist()
        bounds = np.searchsorted(ent, np.arange(n + 1))
        out: list[records_pb2.RecordSubmission] = []
        day_l, src_l, item5_l = day.tolist(), source.tolist(), item5.tolist()
        for j in range(n):
            b0, b1 = int(bounds[j]), int(bounds[j + 1])
            if b0 == b1:
                continue
            ctx = _EntityCtx(self, chunk.entities[j], float(a.severity[j]),
                             _SECTIONS[int(a.industry[j])], float(a.u[j, 5]))
            hr_days = [day_l[i] for i in range(b0, b1) if src_l[i] == _HR]
            for r in range(b0, b1):
                decided = date.fromordinal(day_l[r])
                u = u_all[r]
                s = src_l[r]
                if s == _MP:
                    drawn = ctx.medical(decided, u)
                elif s == _FP:
                    drawn = ctx.fire(decided, u)
                elif s == _CSA:
                    drawn = ctx.agency(decided, u, item5_l[r])
                else:
                    # Exemption needs no earlier HR record, not even one of the same day.
                    first_hr = hr_days[0] == day_l[r] and hr_days.count(day_l[r]) == 1
                    drawn = ctx.hr(decided, u, first_hr and not ctx.hr_seen)
                    ctx.hr_seen = True
                out.append(ctx.submission(s, r - b0, decided, drawn))
        return out

    def number(self, source: str, year: int) -> int:
        self.numbers[(source, year)] += 1
        return self.numbers[(source, year)]


def _unit(rng: np.random.Generator, modulus: int, primes: tuple[int, ...]) -> int:
    a = int(rng.integers(modulus // 10, modulus))
    while any(a % p == 0 for p in primes):
        a += 1
    return a


def _org_check(body: str) -> str:
    """GB 11714 check character of an 8-character organisation code."""
    values = [int(c) if c.isdigit() else ord(c) - 55 for c in body]
    c9 = 11 - sum(v * w for v, w in zip(values, (3, 7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
    return "X" if c9 == 10 else "0" if c9 == 11 else str(c9)


def _institution(region: Region, industry: str, u: list[float]) -> tuple[str, str]:
    brand = _pick(_FIRST, u[0]) + _pick(_SECOND, u[1])
    place = region.place if not region.name.endswith("区") else region.city + region.name
    if industry == "S":  # 社会团体
        trade = _pick(("个体劳动者", "餐饮行业", "物流行业", "建筑业", "企业家"), u[2])
        return f"{place}{trade}协会", "51"
    if u[3] < 0.4 and industry in "PQ":  # 民办非企业单位
        kind = ("职业培训学校", "幼儿园", "艺术培训学校") if industry == "P" else (
            "养老院", "康复中心", "诊所")
        return f"{place}{brand}{_pick(kind, u[2])}", "52"
    names = {
        "P": (f"第{1 + int(u[2] * 12)}中学", f"{brand}小学", "职业技术学校",
              f"第{1 + int(u[2] * 9)}幼儿园"),
        "Q": ("人民医院", "中医院", f"{brand}社区卫生服务中心", "妇幼保健院"),
        "M": ("农业技术推广中心", "产品质量检验所", "气象服务中心"),
        "R": ("文化馆", "图书馆", "体育中心"),
    }[industry]
    return f"{place}{_pick(names, u[2])}", "12"


def _quarter_edges(start: date, today: date) -> I64:
    edges = [start.toordinal()]
    while edges[-1] <= today.toordinal():
        edges.append(add_months(date.fromordinal(edges[-1]), 3).toordinal())
    edges[-1] = today.toordinal() + 1  # exclusive: nothing after today
    return np.array(edges, dtype=np.int64)


_MP, _FP, _CSA, _HR = 0, 1, 2, 3
_SOURCE_ENUM: Final = (common_pb2.SOURCE_MEDICAL_PROCUREMENT, common_pb2.SOURCE_FIRE_PRODUCTS,
                       common_pb2.SOURCE_CREDIT_SERVICE_AGENCY, common_pb2.SOURCE_HR_PENALTY)
_ID_PREFIX: Final = ("YBXY", "XFCP", "XYFW", "RSCF")


def _sources(segment: I64, u: F64) -> I64:
    """Pharma and fire firms mostly meet their own regulator; everyone employs staff."""
    own = u < 0.65
    return np.select(
        [segment == MEDICAL, segment == FIRE, segment == AGENCY],
        [np.where(own, _MP, _HR), np.where(own, _FP, _HR), np.full(len(u), _CSA)],
        _HR,
    ).astype(np.int64)


# --------------------------------------------------------------------------- record facts

_MEDICAL_CN: Final = {"commercial_bribery": "给予回扣等商业贿赂", "tax_violation": "涉税违法",
                      "bribing_insurance_staff": "向医保部门、采购机构工作人员行贿",
                      "bid_rigging_vbp": "在国家组织药品集中带量采购中围标串标"}
_CASE_CN: Final = {"court_judgment": "人民法院判决", "administrative_penalty": "行政处罚决定",
                   "audit": "审计结果"}
_PRODUCTS: Final = (
    ("portable_extinguisher", 6), ("standalone_smoke_alarm", 4), ("fire_door", 4),
    ("emergency_lighting", 4), ("flame_retardant_cable", 3), ("fire_resistant_cable", 2),
    ("sprinkler", 2), ("fire_hose", 2), ("fire_coupling", 1), ("fire_shutter", 2),
    ("fire_resistant_glass", 1), ("filter_self_rescue_respirator", 2), ("fire_blanket", 1),
    ("combustible_gas_detector", 2), ("electrical_fire_monitoring_detector", 1),
    ("fire_retardant_coating", 1), ("foam_extinguishing_agent", 1), ("fire_pump_set", 1),
    ("heptafluoropropane_system", 1), ("micro_fire_station_equipment", 1),
)
_PRODUCT_CUM: Final = np.cumsum([w for _, w in _PRODUCTS]) / sum(w for _, w in _PRODUCTS)
_FINDING_CN: Final = {
    "unqualified_sampling": "质量监督抽查不合格",
    "fake_certification": "虚假认证",
    "forged_certificate_or_mark": "伪造、冒用、买卖认证证书和标志",
    "false_inspection_report": "出具虚假、不实检验报告",
    "out_of_scope_inspection": "超出资质能力范围开展检验检测",
    "substandard_extinguisher_repair": "灭火器维修不符合行业标准",
}
_FIELD_CN: Final = {"production": "生产领域", "circulation": "流通领域", "use": "使用领域",
                    "certification": "认证领域", "inspection": "检验领域"}
_AGENCY_ITEMS: Final = ((1, 0.15), (2, 0.10), (3, 0.27), (4, 0.20), (6, 0.05), (7, 0.08),
                        (8, 0.15))
_AGENCY_CN: Final = {
    1: "信用报告未能真实反映企业信用状况", 2: "作出虚假评价、虚假商业宣传",
    3: "一年内被服务对象投诉二次以上且经查实", 4: "未按照规定及时核查处理异议信息",
    5: "连续二年未提交信用服务年度报告", 6: "拒绝、阻碍监督检查",
    7: "虚假填报从业人员信息", 8: "违反法律法规规定的其他情形",
}
_HR_VIOLATIONS: Final = {
    "minor": ("未按规定建立职工名册", "未按规定保存录用登记材料", "未按时办理社会保险登记变更",
              "未按规定公示劳动规章制度"),
    "serious": ("未依法订立书面劳动合同", "违反工作时间和休息休假规定", "未按时足额支付劳动报酬",
                "未依法为职工参加社会保险"),
    "grave": ("使用童工", "拒不支付劳动报酬", "以欺诈手段骗取社会保险基金支出",
              "违法延长工作时间造成严重后果"),
}
_TIER_CN: Final = {"minor": "较轻", "serious": "较重", "grave": "严重"}
# Thresholds the medical amount tables turn on (yuan), hit exactly now and then: a shared
# boundary belongs to the higher tier.
_THRESHOLDS: Final = {"commercial_bribery": (500_000, 1_000_000),
                      "tax_violation": (50_000, 500_000, 2_500_000)}
_AMOUNT_LOG10: Final = {"commercial_bribery": (3.0, 6.8),
                        "tax_violation": (math.log10(50_000), 7.2),
                        "bribing_insurance_staff": (4.0, 6.5), "bid_rigging_vbp": (5.0, 7.5)}

Facts = (records_pb2.MedicalProcurementFacts | records_pb2.FireProductFacts
         | records_pb2.AgencyViolationFacts | records_pb2.HrPenaltyFacts)
_FACTS_FIELD: Final = ("medical_procurement", "fire_products", "credit_service_agency",
                       "hr_penalty")
_REGION_BY_CODE: Final = {r.code: r for r in REGIONS}


@dataclass
class _Drawn:
    facts: Facts
    number: str  # 决定文书号
    summary: str


class _EntityCtx:
    """One entity while its records are drawn: its fixed trade role and its history so far."""

    def __init__(self, gen: _Generator, e: DemoEntity, severity: float, industry: str,
                 u_fixed: float) -> None:
        self.gen, self.e, self.sev = gen, e, severity
        self.subject = e.subject()
        self.region = _REGION_BY_CODE[e.region_code]
        self.hr_seen = False
        self.fire_count = 0
        self.role = ("distributor" if industry == "F"
                     else "mah" if u_fixed < 0.3 else "producer")
        self.activity = {"C": "production", "F": "circulation", "E": "use"}.get(
            industry, "inspection" if u_fixed < 0.7 else "certification")

    def submission(self, source: int, j: int, decided: date,
                   drawn: _Drawn) -> records_pb2.RecordSubmission:
        sub = records_pb2.RecordSubmission(
            source=_SOURCE_ENUM[source],
            source_record_id=f"{_ID_PREFIX[source]}-{decided.year}-{self.gen.seed}-"
                             f"{self.e.index}-{j}",
            subject=self.subject, decided_on=decided.isoformat(),
            decision_number=drawn.number, summary=drawn.summary)
        getattr(sub, _FACTS_FIELD[source]).CopyFrom(drawn.facts)
        return sub

    def _no(self, source: str, year: int) -> int:
        return self.gen.number(source, year)

    def medical(self, decided: date, u: list[float]) -> _Drawn:
        sev = self.sev
        if u[0] < 0.04 + 0.12 * sev:
            violation = "bribing_insurance_staff" if u[1] < 0.4 else "bid_rigging_vbp"
        else:
            violation = "commercial_bribery" if u[1] < 0.6 else "tax_violation"
        amount = ""
        if violation in _THRESHOLDS or u[2] < 0.5:  # optional for the 顶格 violations
            amount = _amount(violation, u[3], u[4], sev)
        completed = decided - timedelta(days=0 if u[5] < 0.6 else int(u[6] * 30))
        slow = u[7] < 0.08  # beyond the six-month evaluation deadline: a note, not a rejection
        received = completed - timedelta(days=int(185 + u[8] * 90) if slow
                                         else int(15 + u[8] * 160))
        floor = self.e.established_on
        completed, received = max(completed, floor), max(received, floor)
        source = _pick(("court_judgment", "administrative_penalty", "administrative_penalty",
                        "audit"), u[9])
        facts = records_pb2.MedicalProcurementFacts(
            violation=violation, amount_yuan=amount, case_source=source,
            enterprise_role=self.role, case_received_on=received.isoformat(),
            evaluation_completed_on=completed.isoformat(),
            proactive_correction=u[10] < 0.15 - 0.1 * sev,
            effective_testimony=self.role == "distributor" and u[10] > 0.92)
        return _Drawn(
            facts, f"吉医保信评〔{decided.year}〕{self._no('mp', decided.year)}号",
            f"据{_CASE_CN[source]}，{self.e.name}存在{_MEDICAL_CN[violation]}行为"
            + (f"，涉案金额{amount}元" if amount else "") + "。")

    def fire(self, decided: date, u: list[float]) -> _Drawn:
        sev, activity = self.sev, self.activity
        product = _PRODUCTS[min(int(np.searchsorted(_PRODUCT_CUM, u[0], side="right")),
                                len(_PRODUCTS) - 1)][0]
        if activity == "inspection":
            finding = ("false_inspection_report" if u[1] < 0.3 + 0.3 * sev
                       else "out_of_scope_inspection")
        elif activity == "certification":
            finding = ("fake_certification" if u[1] < 0.6
                       else "forged_certificate_or_mark")
        elif u[1] < 0.03 + 0.12 * sev and activity != "use":
            finding = "forged_certificate_or_mark"
        elif u[1] > 0.9:  # the repair standard concerns extinguishers only
            finding, product = "substandard_extinguisher_repair", "portable_extinguisher"
        else:
            finding = "unqualified_sampling"
        self.fire_count += 1
        facts = records_pb2.FireProductFacts(
            product=product, field=activity, finding=finding,
            caused_death=u[2] < 0.003 + 0.01 * sev, major_impact=u[3] < 0.015 + 0.05 * sev,
            # Repeat offenders end up on the market-supervision serious list.
            serious_list=u[4] < (0.08 + 0.2 * sev if self.fire_count > 2 else 0.01))
        return _Drawn(
            facts, f"{self.region.abbr}消产罚〔{decided.year}〕{self._no('fp', decided.year)}号",
            f"{_FIELD_CN[activity]}{_FINDING_CN[finding]}（产品：{product}）。")

    def agency(self, decided: date, u: list[float], item5: bool) -> _Drawn:
        item = 5 if item5 else _agency_item(u[0])
        complaints: list[str] = []
        if item == 3:
            # Two or more verified complaints, the first two within a year; none after the
            # decision, none before the agency existed.
            first = max(decided - timedelta(days=30 + int(u[1] * 330)), self.e.established_on)
            second = first + timedelta(days=int(u[2] * min(300, (decided - first).days)))
            dates = [first, second]
            if u[3] < 0.4:
                dates.append(second + timedelta(days=int(u[4] * (decided - second).days)))
            complaints = [d.isoformat() for d in dates]
        refused = u[5] < 0.04 + 0.15 * self.sev
        facts = records_pb2.AgencyViolationFacts(
            article16_item=item, verified_complaint_dates=complaints,
            refused_rectification=refused)
        return _Drawn(
            facts, f"吉信用整改〔{decided.year}〕{self._no('csa', decided.year)}号",
            f"{self.e.name}{_AGENCY_CN[item]}" + ("，拒不整改。" if refused else "。"))

    def hr(self, decided: date, u: list[float], may_exempt: bool) -> _Drawn:
        sev = self.sev
        grave, serious = 0.01 + 0.1 * sev, 0.2 + 0.15 * sev
        tier = "grave" if u[0] < grave else "serious" if u[0] < grave + serious else "minor"
        violation = _pick(_HR_VIOLATIONS[tier], u[1])
        no_penalty = exempt = False
        mitigation = "none"
        if tier == "minor" and may_exempt and u[2] < 0.3:
            exempt = True  # 首违不罚: only a first violation (第九条)
        elif tier == "minor" and u[2] > 0.92:
            no_penalty = True
        elif u[3] < 0.12:
            mitigation = "lenient"
        elif u[3] < 0.2:
            mitigation = "mitigated"
        facts = records_pb2.HrPenaltyFacts(tier=tier, violation=violation,
                                           no_penalty=no_penalty, first_minor_exempt=exempt,
                                           mitigation=mitigation)
        number = self._no("hr", decided.year)
        return _Drawn(
            facts, f"{self.region.abbr}人社监罚字〔{decided.year}〕第{number}号",
            f"{self.e.name}{violation}，情节{_TIER_CN[tier]}。")


def _agency_item(u: float) -> int:
    acc = 0.0
    for item, p in _AGENCY_ITEMS:
        acc += p
        if u < acc:
            return item
    return _AGENCY_ITEMS[-1][0]


def _amount(violation: str, u_level: float, u_snap: float, sev: float) -> str:
    thresholds = _THRESHOLDS.get(violation, ())
    if thresholds and u_snap < 0.06:
        yuan = thresholds[min(int(u_snap / 0.06 * len(thresholds)), len(thresholds) - 1)]
        return f"{yuan}.00"
    lo, hi = _AMOUNT_LOG10[violation]
    # Riskier entities are caught with larger sums.
    fen = round(10 ** (lo + (hi - lo) * u_level ** (1.6 - sev)) * 100)
    if violation == "tax_violation":
        fen = max(fen, 5_000_000)  # below 50,000 yuan no rating arises: the rule rejects it
    return f"{fen // 100}.{fen % 100:02d}"


# ------------------------------------------------------------------------------- public API


def _today(today: date | None) -> date:
    return today or china_today()


def entities(seed: int, n: int, *, records_per_entity: float = 3.0,
             today: date | None = None,
             compliant_share: float = COMPLIANT_SHARE) -> Iterator[DemoEntity]:
    """The `n` entities of `seed`, in generation order."""
    for chunk in _Generator(seed, n, records_per_entity, _today(today),
                            compliant_share).chunks():
        yield from chunk.entities


def generate(seed: int, entities: int, *, records_per_entity: float = 3.0,
             today: date | None = None, compliant_share: float = COMPLIANT_SHARE
             ) -> Iterator[records_pb2.RecordSubmission]:
    """The records of `entities` entities, entity by entity, each entity's in date order."""
    gen = _Generator(seed, entities, records_per_entity, _today(today), compliant_share)
    for k, chunk in enumerate(gen.chunks()):
        yield from gen.records(chunk, k)


def annual_reports(seed: int, entities: int, *,
                   today: date | None = None) -> Iterator[AnnualReportEntry]:
    """The agencies' annual-report register; item (五) records rely on its gaps."""
    for chunk in _Generator(seed, entities, 3.0, _today(today)).chunks():
        yield from chunk.reports


def truth_rows(seed: int, n: int, protector: PersonalIdProtector, *,
               records_per_entity: float = 3.0, today: date | None = None,
               compliant_share: float = COMPLIANT_SHARE) -> Iterator[tuple[str, float]]:
    """(entity_key, latent records/year) for model validation; keys as the store makes them."""
    for e in entities(seed, n, records_per_entity=records_per_entity, today=today,
                      compliant_share=compliant_share):
        key = "P" + protector.hash(e.resident_id) if e.kind == "person" else e.uscc
        yield key, e.propensity


def load(store: Store, seed: int, entities: int, *, records_per_entity: float = 3.0,
         today: date | None = None, batch_size: int = 5_000, principal: Principal = ADMIN,
         progress: TextIO | None = None,
         compliant_share: float = COMPLIANT_SHARE) -> LoadStats:
    """Writes the entities, the agencies' annual reports and all records into `store`.

    Chunk by chunk: entities and register entries first (so that records find the register
    the item (五) rule reads), then the records through ingestion in batches. Idempotent: a
    re-run with the same arguments creates nothing new.
    """
    if not all(departments.may_write(principal, source) for source in departments.SOURCE_OWNER):
        # Entities and the agency register are written directly: only an admin may.
        raise PermissionError(f"{principal.name} may not write every source")
    today = today or store.today()
    gen = _Generator(seed, entities, records_per_entity, today, compliant_share)
    stats = LoadStats()
    began = last_note = time.perf_counter()
    analyzed = 0
    for k, chunk in enumerate(gen.chunks()):
        stats.entities += len(chunk.entities)
        created, reports = _write_entities(store, chunk, today, principal)
        stats.entities_created += created
        stats.annual_reports += reports
        subs = gen.records(chunk, k)
        for i in range(0, len(subs), batch_size):
            _count(stats, ingest(store, principal, subs[i:i + batch_size],
                                 base_index=stats.records + i))
        stats.records += len(subs)
        if stats.records >= max(2 * analyzed, 10_000):
            _analyze(store)
            analyzed = stats.records
        if progress is not None and time.perf_counter() - last_note > 2.0 \
                and stats.entities < entities:
            last_note = time.perf_counter()
            _report(progress, stats, entities, last_note - began)
    if analyzed != stats.records:
        _analyze(store)  # the services query the loaded tables next
    stats.seconds = time.perf_counter() - began
    if progress is not None:
        _report(progress, stats, entities, stats.seconds)
    return stats


def _analyze(store: Store) -> None:
    """Refreshes PostgreSQL's planner statistics while the tables grow.

    Statistics taken when the tables were nearly empty make the planner scan `records` and
    `entities` sequentially for every batch, and autovacuum lags a bulk load (or is off): on
    a 2-core server ingestion fell from about 6,000 to 2,800 records/s by 300,000 records.
    Re-analysing whenever the load has doubled costs a few ANALYZEs in all.
    """
    if store.engine.dialect.name != "postgresql":
        return  # SQLite plans these look-ups by their indexes without statistics
    with store.engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            conn.execute(text(f'ANALYZE "{table.schema}"."{table.name}"'))


def _count(stats: LoadStats, results: list[Result]) -> None:
    for res in results:
        if res.outcome == "rejected":
            stats.rejected += 1
            if len(stats.errors) < 20:
                stats.errors.append(f"{res.source_record_id}: {res.error}")
            continue
        if res.outcome == "created":
            stats.created += 1
        elif res.outcome == "unchanged":
            stats.unchanged += 1
        else:
            stats.corrected += 1
        if res.record is not None:
            stats.by_source[res.record["source"]] += 1
            stats.by_category[res.record["category"] or "not_listed"] += 1


def _report(out: TextIO, stats: LoadStats, total: int, elapsed: float) -> None:
    print(f"demo: {stats.entities:,}/{total:,} entities, {stats.records:,} records, "
          f"{stats.records / max(elapsed, 1e-9):,.0f} records/s", file=out, flush=True)


def _write_entities(store: Store, chunk: _Chunk, today: date,
                    principal: Principal) -> tuple[int, int]:
    subjects = [_subject_in(e, store.protector, today) for e in chunk.entities]
    at = now()
    with store.writer() as session:
        keys = [s.ref.key for s in subjects]
        ids: dict[str, int] = {}
        for part in _parts(keys):
            ids.update((key, id_) for key, id_ in session.execute(
                select(Entity.entity_key, Entity.id).where(Entity.entity_key.in_(part))))
        new = [s for s in subjects if s.ref.key not in ids]
        if new:
            first = next_id(session, Entity.__table__)  # type: ignore[arg-type]
            rows = [entity_row(s, first + i, at) for i, s in enumerate(new)]
            bulk_insert(session, Entity.__table__, rows)  # type: ignore[arg-type]
            ids.update((r["entity_key"], r["id"]) for r in rows)
        if not chunk.reports:
            return len(new), 0
        have: set[tuple[int, int]] = set()
        agency_ids = sorted({ids[r.uscc] for r in chunk.reports})
        for part in _parts(agency_ids):
            have.update((id_, year) for id_, year in session.execute(
                select(AnnualReport.entity_id, AnnualReport.year)
                .where(AnnualReport.entity_id.in_(part))))
        todo = [r for r in chunk.reports if (ids[r.uscc], r.year) not in have]
        if todo:
            # The register as workflows.file_annual_report keeps it, with its feed and audit.
            first = next_id(session, AnnualReport.__table__)  # type: ignore[arg-type]
            rows = [{"id": first + i, "entity_id": ids[r.uscc], "year": r.year,
                     "filed_on": r.filed_on} for i, r in enumerate(todo)]
            bulk_insert(session, AnnualReport.__table__, rows)  # type: ignore[arg-type]
            publish(session, [Change(r.uscc, "annual_report_filed", None, principal.name,
                                     "annual_report", str(row["id"]), {"year": r.year})
                              for r, row in zip(todo, rows, strict=True)], at)
        return len(new), len(todo)


def _subject_in(e: DemoEntity, protector: PersonalIdProtector, today: date) -> SubjectIn:
    violations: list[tuple[str, str]] = []
    s = decode_subject(e.subject(), "subject", protector, today, violations)
    if s is None:
        raise Invalid(violations)  # a generator bug: every entity must be valid
    return s


def _parts(items: Sequence[object], size: int = 900) -> list[Sequence[object]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


# ------------------------------------------------------------------------------------ CLI


def main(argv: Sequence[str] | None = None) -> int:
    from services.records.config import RecordsSettings

    ap = argparse.ArgumentParser(prog="python -m services.records.demo",
                                 description="Load Jilin demo/benchmark data into the records "
                                             "database.")
    ap.add_argument("--database-url", help="default: RECORDS_DATABASE_URL or "
                                           "sqlite:///data/records.db")
    ap.add_argument("--entities", type=int, default=1_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--records-per-entity", type=float, default=3.0)
    ap.add_argument("--compliant-share", type=float, default=COMPLIANT_SHARE,
                    help="share of entities at a near-zero rate (0: every entity at risk)")
    ap.add_argument("--batch-size", type=int, default=5_000)
    ap.add_argument("--truth", metavar="FILE",
                    help="write entity_key,propensity CSV (the latent rate, records/year)")
    ap.add_argument("--if-empty", action="store_true",
                    help="do nothing when the database already has entities")
    args = ap.parse_args(argv)
    if not 1 <= args.entities <= 10_000_000 or args.records_per_entity < 0 \
            or args.batch_size < 1 or not 0 <= args.compliant_share < 1:
        ap.error("--entities must be 1..10,000,000, --records-per-entity ≥ 0, --batch-size ≥ 1, "
                 "--compliant-share 0 or more and below 1")
    try:
        settings = RecordsSettings.from_env()
    except ConfigError as exc:
        print(f"demo: {exc} (the loader reads the records service's settings; for local use "
              "set CREDIT_AUTH_MODE=dev)", file=sys.stderr)
        return 2
    today = settings.fixed_today or china_today()
    store = open_store(args.database_url or settings.database_url, pii_key=settings.pii_key,
                       clock=lambda: today)
    try:
        if args.if_empty:
            with store.sessions() as session:
                if session.execute(select(Entity.id).limit(1)).first() is not None:
                    print("demo: the database already has entities; nothing to do",
                          file=sys.stderr)
                    return 0
        stats = load(store, args.seed, args.entities,
                     records_per_entity=args.records_per_entity, today=today,
                     batch_size=args.batch_size, progress=sys.stderr,
                     compliant_share=args.compliant_share)
        if args.truth:
            with open(args.truth, "w", newline="", encoding="utf-8") as f:
                _write_truth(f, truth_rows(args.seed, args.entities, store.protector,
                                           records_per_entity=args.records_per_entity,
                                           today=today,
                                           compliant_share=args.compliant_share))
    finally:
        store.engine.dispose()
    print(f"demo: {stats.entities:,} entities ({stats.entities_created:,} new), "
          f"{stats.annual_reports:,} annual reports, {stats.records:,} records "
          f"(created {stats.created:,}, unchanged {stats.unchanged:,}, rejected "
          f"{stats.rejected:,}) in {stats.seconds:.1f}s = "
          f"{stats.records / max(stats.seconds, 1e-9):,.0f} records/s", file=sys.stderr)
    for line in stats.errors:
        print(f"demo: rejected {line}", file=sys.stderr)
    return 1 if stats.rejected else 0


def _write_truth(f: TextIO, rows: Iterator[tuple[str, float]]) -> None:
    w = csv.writer(f)
    w.writerow(("entity_key", "propensity"))
    for key, p in rows:
        w.writerow((key, f"{p:.6g}"))


if __name__ == "__main__":
    raise SystemExit(main())
