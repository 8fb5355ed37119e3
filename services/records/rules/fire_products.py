"""Fire-product quality across the chain (消防〔2025〕32号, line 8).

The source sets the policy (三（四）7: first violation → education first; repeated or egregious
→ severe penalties; serious dishonesty → 市场监督管理严重违法失信名单) but no national category;
the mapping below is the suggested one: first and harmless → 轻微, repeated → 一般, fraud,
death or major impact, or the serious list → 严重.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from services.records.rules import national
from services.records.rules.base import (
    Category,
    Classification,
    Context,
    LegalBasis,
    RuleViolation,
    check_entity_kind,
    check_fields,
    flag,
    prior_records,
    require_choice,
)

__all__ = ["FIELDS_OF_ACTIVITY", "FINDINGS", "PRODUCTS", "SOURCE", "Finding", "FireProductRules"]

SOURCE = "fire_products"
DOCUMENT = "消防产品质量安全全链条整治工作方案"
NUMBER = "消防〔2025〕32号"


def _basis(provision: str) -> LegalBasis:
    return LegalBasis(DOCUMENT, provision, 8, NUMBER)


FACT_NAMES = frozenset(
    {"product", "field", "finding", "caused_death", "major_impact", "serious_list"}
    | {"publication_months"}
)

# 二 重点产品, in the order the source lists them. Local additions (各地可…确定) are not encoded.
PRODUCTS: Mapping[str, str] = MappingProxyType(
    {
        "portable_extinguisher": "手提式灭火器",
        "filter_self_rescue_respirator": "过滤式消防自救呼吸器",
        "sprinkler": "洒水喷头",
        "fire_door": "防火门",
        "fire_resistant_glass": "防火玻璃",
        "fire_shutter": "防火卷帘",
        "fire_blanket": "灭火毯",
        "combustible_gas_detector": "可燃气体探测器",
        "standalone_smoke_alarm": "独立式感烟火灾探测报警器",
        "emergency_lighting": "消防应急照明灯具",
        "fire_pump_set": "消防泵组",
        "heptafluoropropane_system": "七氟丙烷气体灭火设备（气体灭火剂瓶组）",
        "flame_retardant_cable": "阻燃电缆",
        "fire_resistant_cable": "耐火电缆",
        "electrical_fire_monitoring_detector": "电气火灾监控探测器",
        "fire_retardant_coating": "防火涂料",
        "foam_extinguishing_agent": "泡沫灭火剂",
        "fire_hose": "消防水带",
        "fire_coupling": "消防接口",
        "micro_fire_station_equipment": "微型消防站配备的消防救援装备类产品",
    }
)

# 二 重点领域.
FIELDS_OF_ACTIVITY: Mapping[str, str] = MappingProxyType(
    {
        "production": "生产领域",
        "circulation": "流通领域",
        "use": "使用领域",
        "certification": "认证领域（自愿性产品认证机构）",
        "inspection": "检验领域（检验检测机构）",
    }
)


@dataclass(frozen=True)
class Finding:
    name: str
    fraud: bool  # forgery or falsehood: egregious (情形恶劣) whatever the history
    fields: frozenset[str]  # where the finding can arise
    measures: tuple[str, ...]
    provision: str
    products: frozenset[str] | None = None  # None: any key product
    # extra measures that depend on the field of activity
    by_field: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))


_CHAIN = frozenset({"production", "circulation", "use"})

# 三（二）2–4: what follows an unqualified sample in each field of the chain.
SAMPLING_MEASURES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "production": (
            "不合格消防产品信息通报消防部门",
            "符合《消费品召回管理暂行规定》的，督促企业召回缺陷产品",
        ),
        "circulation": (
            "责令停止销售同一产品、及时整改",
            "不合格信息通报消防部门，在使用领域跟踪检查",
        ),
        "use": ("联合市场监管部门开展溯源核查",),
    }
)

DEPRECATED_FINDING = "fake_or_out_of_scope_certification"
FINDINGS: Mapping[str, Finding] = MappingProxyType(
    {
        # 三（二）2–4: sampling in production, circulation and use; measures depend on the field.
        "unqualified_sampling": Finding(
            "质量监督抽查不合格", False, _CHAIN, (), "三（二）2—4", by_field=SAMPLING_MEASURES
        ),
        # 三（三）5 lists 虚假认证 and 超范围认证 as separate items; only the false one is fraud.
        "fake_certification": Finding(
            "虚假认证",
            True,
            frozenset({"certification"}),
            ("依法查处虚假认证行为",),
            "三（三）5",
        ),
        "out_of_scope_certification": Finding(
            "超范围认证",
            False,
            frozenset({"certification"}),
            ("依法查处超范围认证行为",),
            "三（三）5",
        ),
        # Deprecated: joins the two. Stored records use it, and their corrections must
        # classify as before, so it keeps its old meaning; new submissions use the codes above.
        DEPRECATED_FINDING: Finding(
            "虚假认证或超范围认证",
            True,
            frozenset({"certification"}),
            ("依法查处虚假认证、超范围认证行为",),
            "三（三）5",
        ),
        # 三（三）5: forging, misusing or trading certificates and marks also happens upstream.
        "forged_certificate_or_mark": Finding(
            "伪造、冒用、买卖认证证书和标志",
            True,
            frozenset({"production", "circulation", "certification"}),
            (
                "依法查处伪造、冒用、买卖认证证书和标志行为",
                "涉嫌犯罪的依法移送公安机关（行刑衔接）",
            ),
            "三（三）5、三（五）10",
        ),
        "false_inspection_report": Finding(
            "出具虚假、不实检验报告",
            True,
            frozenset({"inspection"}),
            ("依法查处出具虚假、不实检验报告行为",),
            "三（三）5",
        ),
        "out_of_scope_inspection": Finding(
            "超出资质规定的能力范围开展检验检测",
            False,
            frozenset({"inspection"}),
            ("依法查处超资质能力范围检验检测行为",),
            "三（三）5",
        ),
        # 三（六）15: extinguisher repair firms must meet the trade standard 《灭火器维修》.
        "substandard_extinguisher_repair": Finding(
            "灭火器维修不符合行业标准",
            False,
            _CHAIN,
            ("督促按行业标准《灭火器维修》整改维修条件、技术要求、报废和回收处置",),
            "三（六）15",
            products=frozenset({"portable_extinguisher"}),
        ),
    }
)

EDUCATION = "以教育引导为主（首次违法）"
SEVERE = "从严从重实施行政处罚"
PUSH = "失信信息推送至本地信用信息共享平台、国家企业信用信息公示系统"
SERIOUS_LIST = "列入市场监督管理严重违法失信名单（相关经营主体及人员）"
LIST_LEVEL = "严重违法失信名单"  # the source level of a listing on that list
# Flagged on every record classified with it from this release on (corrections included), so
# that the department can review them; older ones are found by their finding in the facts.
DEPRECATED_NOTE = ("deprecated finding fake_or_out_of_scope_certification, classified as fraud: "
                   "if only 超范围认证 was found, correct it to out_of_scope_certification "
                   "(not fraud); 虚假认证 is fake_certification")
TRACING = "火灾延伸调查：查清消防产品质量问题，倒查生产、销售、使用单位和认证检验机构主体责任"


@dataclass(frozen=True)
class FireProductRules:
    source: str = SOURCE

    def classify(self, facts: Mapping[str, Any], ctx: Context) -> Classification:
        check_fields(facts, FACT_NAMES)
        listed_serious = flag(facts, "serious_list")
        # Producers, sellers, users and repairers are enterprises or institutions; so are
        # certification and inspection bodies. 三（四）7 lists "相关经营主体及人员": the persons
        # responsible are listed too, and only that brings a person here.
        check_entity_kind(ctx, {"enterprise", "institution", "person"} if listed_serious
                          else {"enterprise", "institution"})
        product = require_choice(facts, "product", PRODUCTS)
        activity = require_choice(facts, "field", FIELDS_OF_ACTIVITY)
        code = require_choice(facts, "finding", FINDINGS)
        finding = FINDINGS[code]
        if activity not in finding.fields:
            raise RuleViolation(
                "field",
                f"finding {finding.name} does not arise in the {activity} field; "
                f"expected one of {', '.join(sorted(finding.fields))}",
            )
        if finding.products is not None and product not in finding.products:
            raise RuleViolation("product", f"finding {finding.name} concerns fire extinguishers")
        death, major = flag(facts, "caused_death"), flag(facts, "major_impact")
        # First vs repeated comes from the register, never from the client.
        earlier = prior_records(ctx, SOURCE)

        if listed_serious:
            level, category = LIST_LEVEL, Category.SERIOUS
        elif finding.fraud or death or major:
            level, category = "情形恶劣", Category.SERIOUS
        elif earlier:
            level, category = "多次违法", Category.GENERAL
        else:
            level, category = "首次违法", Category.MINOR

        measures = [EDUCATION] if category is Category.MINOR else [SEVERE]
        measures += (*finding.measures, *finding.by_field.get(activity, ()))
        measures.append(PUSH)
        provisions = [finding.provision, "三（四）7"]
        if listed_serious:
            measures.append(SERIOUS_LIST)
        if death or major:
            measures.append(TRACING)
            provisions.append("三（二）4")

        notes = [f"{PRODUCTS[product]}：{finding.name}（{FIELDS_OF_ACTIVITY[activity]}）"]
        if code == DEPRECATED_FINDING:
            notes.append(DEPRECATED_NOTE)
        if earlier:
            last = max(r.decided_on for r in earlier)
            notes.append(f"repeated: {len(earlier)} earlier {SOURCE} record(s), latest {last}")
        else:
            notes.append("first violation on the register")
        if listed_serious:
            notes.append(
                "the serious list is repaired through 国家企业信用信息公示系统 "
                "under the national rules (国办发〔2025〕22号 三)"
            )
        return national.classification(
            category=category,
            source_level=level,
            start=ctx.decided_on,
            facts=facts,
            measures=measures,
            legal_basis=tuple(_basis(p) for p in dict.fromkeys(provisions)),
            repair_requirements=_repair_requirements(finding),
            notes=notes,
        )


def _repair_requirements(finding: Finding) -> tuple[str, ...]:
    needs = ["整改完成证明（不合格产品停止销售、召回或整改到位）"]
    if finding.fraud:
        needs.append("违法认证证书、标志或检验报告已撤销、收回的证明")
    return tuple(needs)
