"""Builders of valid submissions; tests change one field to make them invalid."""

from __future__ import annotations

from typing import Any

from credit.v1 import common_pb2, records_pb2
from services.common.codes import resident_id_check_char, uscc_check_char
from services.records.workflows import AgencyMaterials

KIND = {
    "enterprise": common_pb2.ENTITY_KIND_ENTERPRISE,
    "credit_service_agency": common_pb2.ENTITY_KIND_CREDIT_SERVICE_AGENCY,
    "institution": common_pb2.ENTITY_KIND_INSTITUTION,
    "person": common_pb2.ENTITY_KIND_PERSON,
}


def uscc(n: int, region: str = "220183") -> str:
    body = f"91{region}MA{n:07d}"
    return body + uscc_check_char(body)


def resident_id(n: int, region: str = "220183", born: str = "19800101") -> str:
    body = f"{region}{born}{n % 1000:03d}"
    return body + resident_id_check_char(body)


def subject(code: str, kind: str = "enterprise", *, name: str = "德惠市测试有限公司",
            region: str = "220183", industry: str = "F",
            established: str = "2010-01-01") -> records_pb2.Subject:
    ref = (common_pb2.EntityRef(resident_id=code) if kind == "person"
           else common_pb2.EntityRef(uscc=code))
    return records_pb2.Subject(ref=ref, kind=KIND[kind], name=name, region_code=region,
                               industry=industry, established_on=established)


# A registration's materials in order: 5 staff, commitment letter, credit services in the
# articles' scope, annual report attached.
MATERIALS = AgencyMaterials(staff_count=5, commitment_letter=True,
                            credit_services_in_scope=True, annual_report=True)


def medical(rid: str, code: str, *, amount: str = "100000", violation: str = "commercial_bribery",
            decided: str = "2025-06-01", role: str = "distributor",
            **facts: Any) -> records_pb2.RecordSubmission:
    f = {"violation": violation, "amount_yuan": amount, "case_source": "court_judgment",
         "enterprise_role": role, "case_received_on": "2025-03-01",
         "evaluation_completed_on": "2025-05-20", **facts}
    return records_pb2.RecordSubmission(
        source=common_pb2.SOURCE_MEDICAL_PROCUREMENT, source_record_id=rid,
        subject=subject(code), decided_on=decided, decision_number="吉医保信评〔2025〕1号",
        medical_procurement=records_pb2.MedicalProcurementFacts(**f))


def fire(rid: str, code: str, *, finding: str = "unqualified_sampling",
         decided: str = "2025-06-01", **facts: Any) -> records_pb2.RecordSubmission:
    f = {"product": "portable_extinguisher", "field": "production", "finding": finding, **facts}
    return records_pb2.RecordSubmission(
        source=common_pb2.SOURCE_FIRE_PRODUCTS, source_record_id=rid,
        subject=subject(code, industry="C"), decided_on=decided,
        fire_products=records_pb2.FireProductFacts(**f))


def hr(rid: str, code: str, *, tier: str = "serious", decided: str = "2025-06-01",
       kind: str = "enterprise", **facts: Any) -> records_pb2.RecordSubmission:
    f = {"tier": tier, "violation": "未按时足额支付劳动报酬", "mitigation": "none", **facts}
    return records_pb2.RecordSubmission(
        source=common_pb2.SOURCE_HR_PENALTY, source_record_id=rid,
        subject=subject(code, kind), decided_on=decided,
        hr_penalty=records_pb2.HrPenaltyFacts(**f))


def agency(rid: str, code: str, *, item: int = 1, decided: str = "2025-06-01",
           **facts: Any) -> records_pb2.RecordSubmission:
    return records_pb2.RecordSubmission(
        source=common_pb2.SOURCE_CREDIT_SERVICE_AGENCY, source_record_id=rid,
        subject=subject(code, "credit_service_agency", industry="L"), decided_on=decided,
        credit_service_agency=records_pb2.AgencyViolationFacts(article16_item=item, **facts))
