"""The planners' dashboard in headless Chromium against the real platform: what the pages
show, including a grade that changes after a department's record."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from credit.v1 import records_pb2
from services.common.stubs import records_stub
from tests.factories import hr, uscc
from tests.gateway_platform import Platform, platform
from tests.procs import bearer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def plat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with platform(tmp_path_factory.mktemp("dashboard")) as p:
        yield p


@pytest.fixture
def page(browser: Any, plat: Platform) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def sign_in(page: Any, plat: Platform, token: str, view: str = "overview") -> None:
    page.goto(f"{plat.http}/dashboard/#/{view}")
    page.fill("#token", token)
    page.click("#login button")
    page.wait_for_function("() => document.querySelector('#whoami').textContent.length > 0")


def test_chart_shows_the_grade_distribution_by_region_and_industry(page: Any,
                                                                    plat: Platform) -> None:
    sign_in(page, plat, "dev-planner")
    assert page.locator("h1").inner_text() == "公共信用分级分类监管"
    page.wait_for_selector("svg rect.bar")
    counts = [int(c) for c in page.locator("svg rect.bar").evaluate_all(
        "els => els.map(e => e.dataset.count)")]
    total = int(re.sub(r"\D", "", page.locator("#total").inner_text()))
    assert sum(counts) == total >= 13
    groups = set(page.locator("svg rect.bar").evaluate_all("els => els.map(e => e.dataset.group)"))
    assert groups == {"220183", "220102"}
    page.select_option("#group-by", "industry")
    page.wait_for_function(
        "() => [...document.querySelectorAll('svg rect.bar')].some(e => e.dataset.group === 'C')")
    page.click("#lang")
    assert page.locator("h2:visible").first.inner_text() == "Grade distribution"
    page.click("#lang")
    assert page.locator("h2:visible").first.inner_text() == "信用等级分布"


def test_tiered_list_filters_pages_and_exports(page: Any, plat: Platform) -> None:
    sign_in(page, plat, "dev-planner", "list")
    page.wait_for_selector("#grades tbody tr a")
    page.check("input[name=grade][value=D]")
    page.fill("input[name=region]", "220183")
    page.click("#filters button[type=submit]")
    page.wait_for_function("() => [...document.querySelectorAll('#grades td.grade')]"
                           ".every(td => td.textContent === 'D')")
    grades = page.locator("#grades td.grade").all_inner_texts()
    assert grades and set(grades) == {"D"}
    with page.expect_download() as download:
        page.click("#export")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("主体标识,")
    assert len(text.splitlines()) == len(grades) + 1


def test_entity_page_shows_grade_reasons_basis_and_timeline(page: Any, plat: Platform) -> None:
    sign_in(page, plat, "dev-regulator")
    page.goto(f"{plat.http}/dashboard/#/entity/{plat.seeded['grave']}")
    page.wait_for_selector("#entity-timeline li.record")
    assert page.locator("#entity-grade").inner_text() == "D"
    assert page.locator("#entity-basis li").count() >= 1
    reasons = page.locator("#entity-reasons li").all_inner_texts()
    assert reasons and "有效严重失信记录数" in reasons  # its active 严重 record
    timeline = page.locator("#entity-timeline li.record").all_inner_texts()
    assert timeline and "2024-01-02" in timeline[0] and "情节严重" in timeline[0]
    # Published 36 months through the corresponding day (the API's end is the day after).
    assert "2024-01-02 – 2027-01-02" in timeline[0]


def test_inspection_plan_is_drawn_and_verified_on_the_page(page: Any, plat: Platform) -> None:
    # A planner draws for a department it names.
    sign_in(page, plat, "dev-planner", "plans")
    page.fill("#draw input[name=task_name]", "浏览器抽查任务")
    page.select_option("#draw select[name=department]", "fire_rescue")
    page.fill("#draw input[name=seed]", "42")
    page.click("#draw button[type=submit]")
    page.wait_for_selector("#plan:not([hidden])")
    assert page.locator("#plan-hash").inner_text()
    assert page.locator("#plan-strata tbody tr").count() >= 1
    page.click("#verify")
    page.wait_for_selector("#verify-result.valid")
    assert page.locator("#verify-result").inner_text().startswith("验证通过")
    plans = page.locator("#plan-list li").filter(has_text="浏览器抽查任务")
    assert plans.count() == 1 and "fire_rescue" in plans.inner_text()


def test_errors_are_shown_not_swallowed(page: Any, plat: Platform) -> None:
    sign_in(page, plat, "dev-public", "list")
    page.wait_for_selector("#error:not([hidden])")
    assert page.locator("#error").inner_text().startswith("403")


def test_a_department_record_changes_the_grade_the_planner_sees(page: Any,
                                                                 plat: Platform) -> None:
    code = uscc(2)
    sign_in(page, plat, "dev-planner")
    page.goto(f"{plat.http}/dashboard/#/entity/{code}")
    page.wait_for_function(
            "() => document.querySelector('#entity-grade').textContent.length === 1")
    assert page.locator("#entity-grade").inner_text() != "D"
    with grpc.insecure_channel(plat.records) as channel:
        records_stub(channel).SubmitRecord(
            records_pb2.SubmitRecordRequest(record=hr("browser-d", code, tier="grave")),
            metadata=bearer("dev-hr"), timeout=20)
    for _ in range(60):
        page.reload()
        page.wait_for_function(
            "() => document.querySelector('#entity-grade').textContent.length === 1")
        if page.locator("#entity-grade").inner_text() == "D":
            break
        page.wait_for_timeout(500)
    assert page.locator("#entity-grade").inner_text() == "D"
    assert "情节严重" in page.locator("#entity-timeline").inner_text()
