"""Agency self-registration (吉林省信用服务机构管理办法, line 19) is refused for a listing on a
serious dishonesty list (第十条（二）), not for any 严重 record, and only while the listing is in
force; and for a business scope without credit services (第十条（一）). The materials include
the annual report once the agency's first year is full (第八条（四）)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import grpc
import pytest
from sqlalchemy import select

from credit.v1 import records_pb2
from services.common.auth import Principal
from services.common.errors import ServiceError
from services.records import workflows
from services.records.ingest import ingest
from services.records.models import AgencyRegistration, Entity
from services.records.store import Store
from services.records.submission import (
    EntityKey,
    Invalid,
    SubjectIn,
    decode_subject,
    require_ref,
)
from tests.conftest import CREDIT, FIRE, HR, MEDICAL, TODAY
from tests.factories import MATERIALS, fire, hr, medical, resident_id, subject, uscc


def _agency(store: Store, code: str, established: str = "2010-01-01") -> SubjectIn:
    violations: list[tuple[str, str]] = []
    subj = decode_subject(subject(code, "credit_service_agency", industry="L",
                                  established=established), "agency",
                          store.protector, TODAY, violations)
    assert subj is not None, violations
    return subj


def _ref(store: Store, code: str, kind: str = "person") -> EntityKey:
    return require_ref(subject(code, kind).ref, "p", store.protector)


def _record(store: Store, principal: Principal, sub: records_pb2.RecordSubmission) -> int:
    result = ingest(store, principal, [sub])[0]
    assert result.record_id is not None, result.error
    return int(result.record_id)


def _listed(store: Store, rid: str, code: str, decided: str = "2025-06-01") -> int:
    """A fire-products finding that lists `code` on the 严重违法失信名单 (line 8 三（四）7)."""
    return _record(store, FIRE, fire(rid, code, decided=decided, serious_list=True))


def _register(store: Store, agency: str, principals: list[EntityKey],
              on: date = TODAY) -> AgencyRegistration:
    return workflows.register_agency(store, CREDIT, _agency(store, agency), principals,
                                     MATERIALS, on)


def _refused(store: Store, agency: str, principals: list[EntityKey],
             on: date = TODAY) -> str:
    with pytest.raises(ServiceError) as refused:
        _register(store, agency, principals, on)
    assert refused.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "第十条第（二）项" in refused.value.message
    return refused.value.message


def test_a_grave_penalty_is_no_listing(store: Store) -> None:
    # 情节严重 HR penalties (category 严重, in force) of the principal and of the agency itself.
    boss, code = resident_id(41), uscc(41)
    _record(store, HR, hr("h-boss", boss, tier="grave", kind="person", decided="2025-06-01"))
    _record(store, HR, hr("h-agency", code, tier="grave", decided="2025-06-01"))
    reg = _register(store, code, [_ref(store, boss)])
    assert reg.staff_count == 5


def test_a_listed_person_is_refused_as_a_principal_and_stays_masked(store: Store) -> None:
    # 三（四）7 lists "相关经营主体及人员": the person responsible, listed with the enterprise.
    boss = resident_id(49)
    listing = fire("f-boss", boss, decided="2025-06-01", serious_list=True)
    listing.subject.CopyFrom(subject(boss, "person"))
    _record(store, FIRE, listing)
    message = _refused(store, uscc(49), [_ref(store, boss)])
    assert boss not in message and boss[-4:] in message  # masked: 220183********xxxx


def test_a_medical_serious_rating_is_no_listing(store: Store) -> None:
    # NHSA 严重失信 (line 12 二) grades procurement credit; it lists nobody on a 名单.
    code = uscc(42)
    _record(store, MEDICAL, medical("m-42", code, amount="600000"))
    assert _register(store, code, [_ref(store, resident_id(42))]).staff_count == 5


def test_a_listed_agency_is_refused(store: Store) -> None:
    code = uscc(43)
    _listed(store, "f-43", code)
    message = _refused(store, code, [_ref(store, resident_id(43))])
    assert "注册机构" in message and "主要负责人" not in message


def test_a_listed_principal_is_refused_until_the_listing_is_repaired(store: Store) -> None:
    # The principal here is an organisation; a listed person is refused the same way (see
    # test_a_listed_person_is_refused_as_a_principal_and_stays_masked).
    listed = uscc(44)
    rid = _listed(store, "f-44", listed, decided="2024-06-03")
    principals = [_ref(store, resident_id(44)), _ref(store, listed, "enterprise")]
    message = _refused(store, uscc(45), principals)
    assert f"主要负责人（{listed}）" in message and resident_id(44)[-4:] not in message
    rep = workflows.apply_repair(store, FIRE, str(rid), "整改完成", True, date(2025, 9, 26))
    workflows.decide_repair(store, FIRE, str(rep.id), "accept", "", date(2025, 9, 30))
    workflows.decide_repair(store, FIRE, str(rep.id), "approve", "", date(2025, 10, 20))
    _refused(store, uscc(45), principals, date(2025, 10, 17))  # before the repair
    assert _register(store, uscc(45), principals).staff_count == 5


def test_an_expired_listing_no_longer_counts(store: Store) -> None:
    listed = uscc(46)
    _listed(store, "f-46", listed, decided="2022-06-01")  # published 36 months, to 2025-06-01
    principals = [_ref(store, listed, "enterprise")]
    _refused(store, uscc(47), principals, date(2025, 6, 1))  # its last day
    assert _register(store, uscc(47), principals, date(2025, 6, 2)).staff_count == 5


def test_a_withdrawn_listing_no_longer_counts(store: Store) -> None:
    listed = uscc(48)
    rid = _listed(store, "f-48", listed)
    obj = workflows.file_objection(store, FIRE, str(rid), "content", "认定有误",
                                   date(2025, 7, 1))
    workflows.resolve_objection(store, FIRE, str(obj.id), "upheld_withdrawn", "核实有误",
                                date(2025, 7, 10), None)
    assert _register(store, listed, [_ref(store, resident_id(48))]).staff_count == 5


def test_a_shielded_listing_does_not_count_while_shielded(store: Store) -> None:
    # 九: during a reorganisation the 失信惩戒措施 are suspended with the shielded records.
    listed = uscc(49)
    _listed(store, "f-49", listed)
    shield, _ = workflows.start_shield(store, FIRE, _ref(store, listed, "enterprise"),
                                       "（2025）吉01破49号", date(2025, 8, 1))
    principals = [_ref(store, listed, "enterprise")]
    assert _register(store, uscc(50), principals).staff_count == 5
    workflows.lift_shield(store, FIRE, str(shield.id), date(2025, 11, 1))
    _refused(store, uscc(51), principals)


def _registered(store: Store, code: str) -> bool:
    with store.sessions() as session:
        return session.execute(select(AgencyRegistration.id).join(
            Entity, Entity.id == AgencyRegistration.entity_id)
            .where(Entity.entity_key == code)).first() is not None


def test_a_scope_without_credit_services_is_refused(store: Store) -> None:
    code, principals = uscc(60), [_ref(store, resident_id(60))]
    no_scope = replace(MATERIALS, credit_services_in_scope=False)
    with pytest.raises(ServiceError) as refused:
        workflows.register_agency(store, CREDIT, _agency(store, code), principals, no_scope,
                                  TODAY)
    assert refused.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert refused.value.message == ("registration refused: 第十条第（一）项：经相关部门批准的章程"
                                     "中业务范围不包含信用服务内容，不予审核通过")
    # Not stated at all: the materials are incomplete, nothing is decided.
    unstated = replace(MATERIALS, credit_services_in_scope=None, commitment_letter=False)
    with pytest.raises(Invalid) as incomplete:
        workflows.register_agency(store, CREDIT, _agency(store, code), principals, unstated,
                                  TODAY)
    assert [f for f, _ in incomplete.value.violations] == [
        "commitment_letter", "credit_services_in_scope"]
    assert not _registered(store, code)
    assert _register(store, code, principals).staff_count == 5


def test_the_annual_report_is_required_once_the_first_year_is_full(store: Store) -> None:
    without = replace(MATERIALS, annual_report=False)
    principals = [_ref(store, resident_id(61))]
    # Established 2024-11-19: its first year was full at the end of 2025-11-19 (TODAY is 20).
    with pytest.raises(Invalid) as missing:
        workflows.register_agency(store, CREDIT, _agency(store, uscc(61), "2024-11-19"),
                                  principals, without, TODAY)
    assert missing.value.violations == [
        ("annual_report", "required: established on 2024-11-19, a year or more before "
                          "registration (第八条（四）)")]
    assert not _registered(store, uscc(61))
    # Established 2024-11-20: today ends its first year; not yet required.
    reg = workflows.register_agency(store, CREDIT, _agency(store, uscc(62), "2024-11-20"),
                                    principals, without, TODAY)
    assert reg.staff_count == 5 and _registered(store, uscc(62))
