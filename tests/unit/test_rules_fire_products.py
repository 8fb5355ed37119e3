"""Fire-product quality (消防〔2025〕32号, source line 8)."""

from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest

from services.records.rules import (
    Category,
    Classification,
    Context,
    PriorRecord,
    RuleViolation,
    classify,
)
from services.records.rules.fire_products import PRODUCTS

DECIDED = date(2025, 9, 10)


def rate(
    history: Sequence[PriorRecord] = (), kind: str = "enterprise", **overrides: Any
) -> Classification:
    facts: dict[str, Any] = {
        "product": "portable_extinguisher",
        "field": "production",
        "finding": "unqualified_sampling",
    }
    facts.update(overrides)
    ctx = Context(decided_on=DECIDED, history=history, entity_kind=kind)
    return classify("fire_products", {k: v for k, v in facts.items() if v is not None}, ctx)


def violation_of(**overrides: Any) -> RuleViolation:
    with pytest.raises(RuleViolation) as err:
        rate(**overrides)
    return err.value


def earlier(source: str = "fire_products", on: date = date(2024, 6, 1)) -> PriorRecord:
    return PriorRecord(source, "首次违法", "unqualified_sampling", on, Category.MINOR)


def test_every_key_product_of_the_source_is_listed() -> None:
    # 二 重点产品 as the source lists them (the gas system's bracketed alias left out).
    source_list = [
        "手提式灭火器",
        "过滤式消防自救呼吸器",
        "洒水喷头",
        "防火门",
        "防火玻璃",
        "防火卷帘",
        "灭火毯",
        "可燃气体探测器",
        "独立式感烟火灾探测报警器",
        "消防应急照明灯具",
        "消防泵组",
        "七氟丙烷气体灭火设备",
        "阻燃电缆",
        "耐火电缆",
        "电气火灾监控探测器",
        "防火涂料",
        "泡沫灭火剂",
        "消防水带",
        "消防接口",
        "微型消防站配备的消防救援装备类产品",
    ]
    assert len(PRODUCTS) == len(source_list) == 20
    for name in source_list:
        assert any(chinese.startswith(name) for chinese in PRODUCTS.values()), name
    for code in PRODUCTS:
        assert rate(product=code).listed


def test_first_harmless_violation_is_minor_and_educational() -> None:
    result = rate()
    assert (result.category, result.source_level) == (Category.MINOR, "首次违法")
    assert result.measures[0] == "以教育引导为主（首次违法）"
    assert not result.published and result.publication_end is None
    assert result.repair_eligible_from == DECIDED
    assert "first violation on the register" in result.notes


def test_minor_may_still_be_published_up_to_three_months() -> None:
    result = rate(publication_months=3)
    assert result.published and result.publication_end == date(2025, 12, 11)
    assert violation_of(publication_months=4).field == "publication_months"


def test_repeated_violation_comes_from_the_register() -> None:
    result = rate(history=[earlier()])
    assert (result.category, result.source_level) == (Category.GENERAL, "多次违法")
    assert result.measures[0] == "从严从重实施行政处罚"
    assert result.publication_end == date(2026, 9, 11)
    assert result.repair_eligible_from == date(2025, 12, 11)
    assert any(note.startswith("repeated: 1 earlier") for note in result.notes)


def test_records_of_other_sources_or_later_dates_do_not_make_a_repeat() -> None:
    history = [earlier("medical_procurement"), earlier(on=date(2025, 9, 11))]
    assert rate(history=history).category is Category.MINOR
    assert rate(history=[earlier(on=DECIDED)]).category is Category.GENERAL


def test_a_client_cannot_claim_a_first_offence() -> None:
    assert violation_of(first_offence=True).field == "first_offence"


@pytest.mark.parametrize(
    ("finding", "field"),
    [
        ("fake_certification", "certification"),
        ("forged_certificate_or_mark", "production"),
        ("forged_certificate_or_mark", "certification"),
        ("false_inspection_report", "inspection"),
    ],
)
def test_fraud_is_serious_even_the_first_time(finding: str, field: str) -> None:
    result = rate(finding=finding, field=field, kind="institution")
    assert (result.category, result.source_level) == (Category.SERIOUS, "情形恶劣")
    assert "从严从重实施行政处罚" in result.measures
    assert result.publication_end == date(2028, 9, 11)
    assert result.repair_eligible_from == date(2026, 9, 11)


# 三（三）5 lists 虚假认证 and 超范围认证 as separate items: only the false one is fraud.
def test_out_of_scope_certification_is_not_fraud() -> None:
    first = rate(finding="out_of_scope_certification", field="certification", kind="institution")
    assert (first.category, first.source_level) == (Category.MINOR, "首次违法")
    assert first.measures[0] == "以教育引导为主（首次违法）"
    assert "依法查处超范围认证行为" in first.measures
    assert not any("撤销" in need for need in first.repair_requirements)
    repeated = rate(finding="out_of_scope_certification", field="certification",
                    kind="institution", history=[earlier()])
    assert (repeated.category, repeated.source_level) == (Category.GENERAL, "多次违法")


def test_fake_certification_is_serious_the_first_time() -> None:
    result = rate(finding="fake_certification", field="certification", kind="institution")
    assert (result.category, result.source_level) == (Category.SERIOUS, "情形恶劣")
    assert "依法查处虚假认证行为" in result.measures
    assert any("撤销" in need for need in result.repair_requirements)


def test_the_deprecated_joint_certification_code_keeps_its_meaning() -> None:
    # Stored records and their corrections still carry it; it stays fraud as before.
    result = rate(finding="fake_or_out_of_scope_certification", field="certification")
    assert any(n.startswith("deprecated finding") for n in result.notes)  # flagged for review
    assert (result.category, result.source_level) == (Category.SERIOUS, "情形恶劣")


def test_out_of_scope_inspection_is_not_fraud() -> None:
    assert rate(finding="out_of_scope_inspection", field="inspection").category is Category.MINOR
    repeated = rate(finding="out_of_scope_inspection", field="inspection", history=[earlier()])
    assert repeated.category is Category.GENERAL


@pytest.mark.parametrize("harm", ["caused_death", "major_impact"])
def test_death_or_major_impact_is_serious_and_traced(harm: str) -> None:
    flagged: dict[str, Any] = {harm: True}
    cleared: dict[str, Any] = {harm: False}
    result = rate(field="use", **flagged)
    assert result.category is Category.SERIOUS
    assert any(m.startswith("火灾延伸调查") for m in result.measures)
    assert any(b.provision == "三（二）4" for b in result.legal_basis)
    assert not any(m.startswith("火灾延伸调查") for m in rate(**cleared).measures)


def test_serious_list() -> None:
    result = rate(serious_list=True)
    assert (result.category, result.source_level) == (Category.SERIOUS, "严重违法失信名单")
    assert "列入市场监督管理严重违法失信名单（相关经营主体及人员）" in result.measures
    assert not any("严重违法失信名单" in m for m in rate().measures)


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("production", "符合《消费品召回管理暂行规定》的，督促企业召回缺陷产品"),
        ("circulation", "责令停止销售同一产品、及时整改"),
        ("use", "联合市场监管部门开展溯源核查"),
    ],
)
def test_sampling_measures_depend_on_the_field(field: str, expected: str) -> None:
    result = rate(field=field)
    assert expected in result.measures
    assert "失信信息推送至本地信用信息共享平台、国家企业信用信息公示系统" in result.measures


def test_extinguisher_repair() -> None:
    result = rate(finding="substandard_extinguisher_repair", field="use")
    assert result.category is Category.MINOR
    assert any("《灭火器维修》" in m for m in result.measures)
    err = violation_of(finding="substandard_extinguisher_repair", product="fire_door")
    assert err.field == "product"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"product": None}, "product"),
        ({"product": "garden_hose"}, "product"),
        ({"product": "手提式灭火器"}, "product"),
        ({"field": None}, "field"),
        ({"field": "repair"}, "field"),
        ({"finding": None}, "finding"),
        ({"finding": "late_delivery"}, "finding"),
        ({"finding": "false_inspection_report", "field": "production"}, "field"),
        ({"finding": "fake_or_out_of_scope_certification", "field": "inspection"}, "field"),
        ({"finding": "fake_certification", "field": "production"}, "field"),
        ({"finding": "out_of_scope_certification", "field": "inspection"}, "field"),
        ({"finding": "unqualified_sampling", "field": "certification"}, "field"),
        ({"caused_death": "no"}, "caused_death"),
        ({"major_impact": 0}, "major_impact"),
        ({"serious_list": "true"}, "serious_list"),
        ({"serious_list": True, "publication_months": 11}, "publication_months"),
        ({"serious_list": True, "publication_months": 37}, "publication_months"),
    ],
)
def test_bad_input(overrides: dict[str, Any], field: str) -> None:
    assert violation_of(**overrides).field == field


def test_entity_kind() -> None:
    assert violation_of(kind="person").field == "entity.kind"
    assert violation_of(kind="credit_service_agency").field == "entity.kind"
    # 三（四）7: "相关经营主体及人员" — a person responsible is listed with the enterprise.
    listed = rate(kind="person", serious_list=True)
    assert (listed.category, listed.source_level) == (Category.SERIOUS, "严重违法失信名单")
    assert violation_of(kind="credit_service_agency", serious_list=True).field == "entity.kind"
