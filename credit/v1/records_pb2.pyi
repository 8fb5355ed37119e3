from credit.v1 import common_pb2 as _common_pb2
from google.rpc import status_pb2 as _status_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ResultView(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESULT_VIEW_UNSPECIFIED: _ClassVar[ResultView]
    RESULT_VIEW_FULL: _ClassVar[ResultView]
    RESULT_VIEW_BRIEF: _ClassVar[ResultView]

class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTCOME_UNSPECIFIED: _ClassVar[Outcome]
    OUTCOME_CREATED: _ClassVar[Outcome]
    OUTCOME_UNCHANGED: _ClassVar[Outcome]
    OUTCOME_CORRECTED: _ClassVar[Outcome]
    OUTCOME_REJECTED: _ClassVar[Outcome]

class RecordStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECORD_STATUS_UNSPECIFIED: _ClassVar[RecordStatus]
    RECORD_STATUS_ACTIVE: _ClassVar[RecordStatus]
    RECORD_STATUS_EXPIRED: _ClassVar[RecordStatus]
    RECORD_STATUS_REPAIRED: _ClassVar[RecordStatus]
    RECORD_STATUS_WITHDRAWN: _ClassVar[RecordStatus]
    RECORD_STATUS_NOT_LISTED: _ClassVar[RecordStatus]
    RECORD_STATUS_PENDING: _ClassVar[RecordStatus]
RESULT_VIEW_UNSPECIFIED: ResultView
RESULT_VIEW_FULL: ResultView
RESULT_VIEW_BRIEF: ResultView
OUTCOME_UNSPECIFIED: Outcome
OUTCOME_CREATED: Outcome
OUTCOME_UNCHANGED: Outcome
OUTCOME_CORRECTED: Outcome
OUTCOME_REJECTED: Outcome
RECORD_STATUS_UNSPECIFIED: RecordStatus
RECORD_STATUS_ACTIVE: RecordStatus
RECORD_STATUS_EXPIRED: RecordStatus
RECORD_STATUS_REPAIRED: RecordStatus
RECORD_STATUS_WITHDRAWN: RecordStatus
RECORD_STATUS_NOT_LISTED: RecordStatus
RECORD_STATUS_PENDING: RecordStatus

class Subject(_message.Message):
    __slots__ = ("ref", "kind", "name", "region_code", "industry", "established_on")
    REF_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    INDUSTRY_FIELD_NUMBER: _ClassVar[int]
    ESTABLISHED_ON_FIELD_NUMBER: _ClassVar[int]
    ref: _common_pb2.EntityRef
    kind: _common_pb2.EntityKind
    name: str
    region_code: str
    industry: str
    established_on: str
    def __init__(self, ref: _Optional[_Union[_common_pb2.EntityRef, _Mapping]] = ..., kind: _Optional[_Union[_common_pb2.EntityKind, str]] = ..., name: _Optional[str] = ..., region_code: _Optional[str] = ..., industry: _Optional[str] = ..., established_on: _Optional[str] = ...) -> None: ...

class UpsertEntityRequest(_message.Message):
    __slots__ = ("subject",)
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    subject: Subject
    def __init__(self, subject: _Optional[_Union[Subject, _Mapping]] = ...) -> None: ...

class MedicalProcurementFacts(_message.Message):
    __slots__ = ("violation", "amount_yuan", "case_source", "enterprise_role", "case_received_on", "evaluation_completed_on", "proactive_correction", "effective_testimony", "improper_gains_returned")
    VIOLATION_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_YUAN_FIELD_NUMBER: _ClassVar[int]
    CASE_SOURCE_FIELD_NUMBER: _ClassVar[int]
    ENTERPRISE_ROLE_FIELD_NUMBER: _ClassVar[int]
    CASE_RECEIVED_ON_FIELD_NUMBER: _ClassVar[int]
    EVALUATION_COMPLETED_ON_FIELD_NUMBER: _ClassVar[int]
    PROACTIVE_CORRECTION_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_TESTIMONY_FIELD_NUMBER: _ClassVar[int]
    IMPROPER_GAINS_RETURNED_FIELD_NUMBER: _ClassVar[int]
    violation: str
    amount_yuan: str
    case_source: str
    enterprise_role: str
    case_received_on: str
    evaluation_completed_on: str
    proactive_correction: bool
    effective_testimony: bool
    improper_gains_returned: bool
    def __init__(self, violation: _Optional[str] = ..., amount_yuan: _Optional[str] = ..., case_source: _Optional[str] = ..., enterprise_role: _Optional[str] = ..., case_received_on: _Optional[str] = ..., evaluation_completed_on: _Optional[str] = ..., proactive_correction: _Optional[bool] = ..., effective_testimony: _Optional[bool] = ..., improper_gains_returned: _Optional[bool] = ...) -> None: ...

class FireProductFacts(_message.Message):
    __slots__ = ("product", "field", "finding", "caused_death", "major_impact", "serious_list")
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    FINDING_FIELD_NUMBER: _ClassVar[int]
    CAUSED_DEATH_FIELD_NUMBER: _ClassVar[int]
    MAJOR_IMPACT_FIELD_NUMBER: _ClassVar[int]
    SERIOUS_LIST_FIELD_NUMBER: _ClassVar[int]
    product: str
    field: str
    finding: str
    caused_death: bool
    major_impact: bool
    serious_list: bool
    def __init__(self, product: _Optional[str] = ..., field: _Optional[str] = ..., finding: _Optional[str] = ..., caused_death: _Optional[bool] = ..., major_impact: _Optional[bool] = ..., serious_list: _Optional[bool] = ...) -> None: ...

class AgencyViolationFacts(_message.Message):
    __slots__ = ("article16_item", "verified_complaint_dates", "refused_rectification")
    ARTICLE16_ITEM_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_COMPLAINT_DATES_FIELD_NUMBER: _ClassVar[int]
    REFUSED_RECTIFICATION_FIELD_NUMBER: _ClassVar[int]
    article16_item: int
    verified_complaint_dates: _containers.RepeatedScalarFieldContainer[str]
    refused_rectification: bool
    def __init__(self, article16_item: _Optional[int] = ..., verified_complaint_dates: _Optional[_Iterable[str]] = ..., refused_rectification: _Optional[bool] = ...) -> None: ...

class HrPenaltyFacts(_message.Message):
    __slots__ = ("tier", "violation", "no_penalty", "first_minor_exempt", "mitigation", "rectification_commitment")
    TIER_FIELD_NUMBER: _ClassVar[int]
    VIOLATION_FIELD_NUMBER: _ClassVar[int]
    NO_PENALTY_FIELD_NUMBER: _ClassVar[int]
    FIRST_MINOR_EXEMPT_FIELD_NUMBER: _ClassVar[int]
    MITIGATION_FIELD_NUMBER: _ClassVar[int]
    RECTIFICATION_COMMITMENT_FIELD_NUMBER: _ClassVar[int]
    tier: str
    violation: str
    no_penalty: bool
    first_minor_exempt: bool
    mitigation: str
    rectification_commitment: bool
    def __init__(self, tier: _Optional[str] = ..., violation: _Optional[str] = ..., no_penalty: _Optional[bool] = ..., first_minor_exempt: _Optional[bool] = ..., mitigation: _Optional[str] = ..., rectification_commitment: _Optional[bool] = ...) -> None: ...

class RecordSubmission(_message.Message):
    __slots__ = ("source", "source_record_id", "subject", "decided_on", "decision_number", "summary", "publication_months", "medical_procurement", "fire_products", "credit_service_agency", "hr_penalty")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    DECIDED_ON_FIELD_NUMBER: _ClassVar[int]
    DECISION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    PUBLICATION_MONTHS_FIELD_NUMBER: _ClassVar[int]
    MEDICAL_PROCUREMENT_FIELD_NUMBER: _ClassVar[int]
    FIRE_PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    CREDIT_SERVICE_AGENCY_FIELD_NUMBER: _ClassVar[int]
    HR_PENALTY_FIELD_NUMBER: _ClassVar[int]
    source: _common_pb2.Source
    source_record_id: str
    subject: Subject
    decided_on: str
    decision_number: str
    summary: str
    publication_months: int
    medical_procurement: MedicalProcurementFacts
    fire_products: FireProductFacts
    credit_service_agency: AgencyViolationFacts
    hr_penalty: HrPenaltyFacts
    def __init__(self, source: _Optional[_Union[_common_pb2.Source, str]] = ..., source_record_id: _Optional[str] = ..., subject: _Optional[_Union[Subject, _Mapping]] = ..., decided_on: _Optional[str] = ..., decision_number: _Optional[str] = ..., summary: _Optional[str] = ..., publication_months: _Optional[int] = ..., medical_procurement: _Optional[_Union[MedicalProcurementFacts, _Mapping]] = ..., fire_products: _Optional[_Union[FireProductFacts, _Mapping]] = ..., credit_service_agency: _Optional[_Union[AgencyViolationFacts, _Mapping]] = ..., hr_penalty: _Optional[_Union[HrPenaltyFacts, _Mapping]] = ...) -> None: ...

class SubmitRecordRequest(_message.Message):
    __slots__ = ("record",)
    RECORD_FIELD_NUMBER: _ClassVar[int]
    record: RecordSubmission
    def __init__(self, record: _Optional[_Union[RecordSubmission, _Mapping]] = ...) -> None: ...

class SubmitRecordsRequest(_message.Message):
    __slots__ = ("records", "result_view")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    RESULT_VIEW_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[RecordSubmission]
    result_view: ResultView
    def __init__(self, records: _Optional[_Iterable[_Union[RecordSubmission, _Mapping]]] = ..., result_view: _Optional[_Union[ResultView, str]] = ...) -> None: ...

class RepairNotice(_message.Message):
    __slots__ = ("category", "source_level", "published", "publication_start", "publication_end", "repair_eligible_from", "requirements", "measures", "legal_basis", "text")
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_FIELD_NUMBER: _ClassVar[int]
    PUBLICATION_START_FIELD_NUMBER: _ClassVar[int]
    PUBLICATION_END_FIELD_NUMBER: _ClassVar[int]
    REPAIR_ELIGIBLE_FROM_FIELD_NUMBER: _ClassVar[int]
    REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    MEASURES_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    category: _common_pb2.Category
    source_level: str
    published: bool
    publication_start: str
    publication_end: str
    repair_eligible_from: str
    requirements: _containers.RepeatedScalarFieldContainer[str]
    measures: _containers.RepeatedScalarFieldContainer[str]
    legal_basis: _containers.RepeatedCompositeFieldContainer[_common_pb2.LegalBasis]
    text: str
    def __init__(self, category: _Optional[_Union[_common_pb2.Category, str]] = ..., source_level: _Optional[str] = ..., published: _Optional[bool] = ..., publication_start: _Optional[str] = ..., publication_end: _Optional[str] = ..., repair_eligible_from: _Optional[str] = ..., requirements: _Optional[_Iterable[str]] = ..., measures: _Optional[_Iterable[str]] = ..., legal_basis: _Optional[_Iterable[_Union[_common_pb2.LegalBasis, _Mapping]]] = ..., text: _Optional[str] = ...) -> None: ...

class SubmitResult(_message.Message):
    __slots__ = ("index", "source_record_id", "outcome", "record_id", "entity_key", "error", "repair_notice", "listed")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    SOURCE_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    ENTITY_KEY_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    REPAIR_NOTICE_FIELD_NUMBER: _ClassVar[int]
    LISTED_FIELD_NUMBER: _ClassVar[int]
    index: int
    source_record_id: str
    outcome: Outcome
    record_id: str
    entity_key: str
    error: _status_pb2.Status
    repair_notice: RepairNotice
    listed: bool
    def __init__(self, index: _Optional[int] = ..., source_record_id: _Optional[str] = ..., outcome: _Optional[_Union[Outcome, str]] = ..., record_id: _Optional[str] = ..., entity_key: _Optional[str] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., repair_notice: _Optional[_Union[RepairNotice, _Mapping]] = ..., listed: _Optional[bool] = ...) -> None: ...

class SubmitRecordsResponse(_message.Message):
    __slots__ = ("batch", "results", "accepted", "rejected")
    BATCH_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    batch: int
    results: _containers.RepeatedCompositeFieldContainer[SubmitResult]
    accepted: int
    rejected: int
    def __init__(self, batch: _Optional[int] = ..., results: _Optional[_Iterable[_Union[SubmitResult, _Mapping]]] = ..., accepted: _Optional[int] = ..., rejected: _Optional[int] = ...) -> None: ...

class Record(_message.Message):
    __slots__ = ("record_id", "entity_key", "source", "source_record_id", "department", "version", "decided_on", "decision_number", "summary", "violation", "source_level", "category", "listed", "published", "publication_start", "publication_end", "repair_eligible_from", "measures", "legal_basis", "notes", "status", "disputed", "shielded", "repaired_on", "withdrawn_on", "entity_name", "entity_display_id", "region_code", "industry", "facts_json")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    ENTITY_KEY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DECIDED_ON_FIELD_NUMBER: _ClassVar[int]
    DECISION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    VIOLATION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    LISTED_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_FIELD_NUMBER: _ClassVar[int]
    PUBLICATION_START_FIELD_NUMBER: _ClassVar[int]
    PUBLICATION_END_FIELD_NUMBER: _ClassVar[int]
    REPAIR_ELIGIBLE_FROM_FIELD_NUMBER: _ClassVar[int]
    MEASURES_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DISPUTED_FIELD_NUMBER: _ClassVar[int]
    SHIELDED_FIELD_NUMBER: _ClassVar[int]
    REPAIRED_ON_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWN_ON_FIELD_NUMBER: _ClassVar[int]
    ENTITY_NAME_FIELD_NUMBER: _ClassVar[int]
    ENTITY_DISPLAY_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    INDUSTRY_FIELD_NUMBER: _ClassVar[int]
    FACTS_JSON_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    entity_key: str
    source: _common_pb2.Source
    source_record_id: str
    department: str
    version: int
    decided_on: str
    decision_number: str
    summary: str
    violation: str
    source_level: str
    category: _common_pb2.Category
    listed: bool
    published: bool
    publication_start: str
    publication_end: str
    repair_eligible_from: str
    measures: _containers.RepeatedScalarFieldContainer[str]
    legal_basis: _containers.RepeatedCompositeFieldContainer[_common_pb2.LegalBasis]
    notes: _containers.RepeatedScalarFieldContainer[str]
    status: RecordStatus
    disputed: bool
    shielded: bool
    repaired_on: str
    withdrawn_on: str
    entity_name: str
    entity_display_id: str
    region_code: str
    industry: str
    facts_json: str
    def __init__(self, record_id: _Optional[str] = ..., entity_key: _Optional[str] = ..., source: _Optional[_Union[_common_pb2.Source, str]] = ..., source_record_id: _Optional[str] = ..., department: _Optional[str] = ..., version: _Optional[int] = ..., decided_on: _Optional[str] = ..., decision_number: _Optional[str] = ..., summary: _Optional[str] = ..., violation: _Optional[str] = ..., source_level: _Optional[str] = ..., category: _Optional[_Union[_common_pb2.Category, str]] = ..., listed: _Optional[bool] = ..., published: _Optional[bool] = ..., publication_start: _Optional[str] = ..., publication_end: _Optional[str] = ..., repair_eligible_from: _Optional[str] = ..., measures: _Optional[_Iterable[str]] = ..., legal_basis: _Optional[_Iterable[_Union[_common_pb2.LegalBasis, _Mapping]]] = ..., notes: _Optional[_Iterable[str]] = ..., status: _Optional[_Union[RecordStatus, str]] = ..., disputed: _Optional[bool] = ..., shielded: _Optional[bool] = ..., repaired_on: _Optional[str] = ..., withdrawn_on: _Optional[str] = ..., entity_name: _Optional[str] = ..., entity_display_id: _Optional[str] = ..., region_code: _Optional[str] = ..., industry: _Optional[str] = ..., facts_json: _Optional[str] = ...) -> None: ...

class GetCreditFileRequest(_message.Message):
    __slots__ = ("entity", "as_of", "include_audit")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_AUDIT_FIELD_NUMBER: _ClassVar[int]
    entity: _common_pb2.EntityRef
    as_of: str
    include_audit: bool
    def __init__(self, entity: _Optional[_Union[_common_pb2.EntityRef, _Mapping]] = ..., as_of: _Optional[str] = ..., include_audit: _Optional[bool] = ...) -> None: ...

class Repair(_message.Message):
    __slots__ = ("repair_id", "record_id", "department", "state", "applied_on", "acceptance_due", "accepted_on", "decision_due", "extended", "decided_on", "reason", "proof", "commitment_letter", "response_due")
    REPAIR_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    APPLIED_ON_FIELD_NUMBER: _ClassVar[int]
    ACCEPTANCE_DUE_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_ON_FIELD_NUMBER: _ClassVar[int]
    DECISION_DUE_FIELD_NUMBER: _ClassVar[int]
    EXTENDED_FIELD_NUMBER: _ClassVar[int]
    DECIDED_ON_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    COMMITMENT_LETTER_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_DUE_FIELD_NUMBER: _ClassVar[int]
    repair_id: str
    record_id: str
    department: str
    state: str
    applied_on: str
    acceptance_due: str
    accepted_on: str
    decision_due: str
    extended: bool
    decided_on: str
    reason: str
    proof: str
    commitment_letter: bool
    response_due: str
    def __init__(self, repair_id: _Optional[str] = ..., record_id: _Optional[str] = ..., department: _Optional[str] = ..., state: _Optional[str] = ..., applied_on: _Optional[str] = ..., acceptance_due: _Optional[str] = ..., accepted_on: _Optional[str] = ..., decision_due: _Optional[str] = ..., extended: _Optional[bool] = ..., decided_on: _Optional[str] = ..., reason: _Optional[str] = ..., proof: _Optional[str] = ..., commitment_letter: _Optional[bool] = ..., response_due: _Optional[str] = ...) -> None: ...

class Objection(_message.Message):
    __slots__ = ("objection_id", "record_id", "department", "target", "grounds", "state", "filed_on", "due", "resolved_on", "resolution")
    OBJECTION_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    GROUNDS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    FILED_ON_FIELD_NUMBER: _ClassVar[int]
    DUE_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_ON_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    objection_id: str
    record_id: str
    department: str
    target: str
    grounds: str
    state: str
    filed_on: str
    due: str
    resolved_on: str
    resolution: str
    def __init__(self, objection_id: _Optional[str] = ..., record_id: _Optional[str] = ..., department: _Optional[str] = ..., target: _Optional[str] = ..., grounds: _Optional[str] = ..., state: _Optional[str] = ..., filed_on: _Optional[str] = ..., due: _Optional[str] = ..., resolved_on: _Optional[str] = ..., resolution: _Optional[str] = ...) -> None: ...

class Commitment(_message.Message):
    __slots__ = ("commitment_id", "entity_key", "department", "content", "registered_on", "due_on", "state", "resolved_on", "record_id")
    COMMITMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ENTITY_KEY_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_ON_FIELD_NUMBER: _ClassVar[int]
    DUE_ON_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_ON_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    commitment_id: str
    entity_key: str
    department: str
    content: str
    registered_on: str
    due_on: str
    state: str
    resolved_on: str
    record_id: str
    def __init__(self, commitment_id: _Optional[str] = ..., entity_key: _Optional[str] = ..., department: _Optional[str] = ..., content: _Optional[str] = ..., registered_on: _Optional[str] = ..., due_on: _Optional[str] = ..., state: _Optional[str] = ..., resolved_on: _Optional[str] = ..., record_id: _Optional[str] = ...) -> None: ...

class Shield(_message.Message):
    __slots__ = ("shield_id", "entity_key", "department", "court_ruling", "started_on", "lifted_on", "state")
    SHIELD_ID_FIELD_NUMBER: _ClassVar[int]
    ENTITY_KEY_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    COURT_RULING_FIELD_NUMBER: _ClassVar[int]
    STARTED_ON_FIELD_NUMBER: _ClassVar[int]
    LIFTED_ON_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    shield_id: str
    entity_key: str
    department: str
    court_ruling: str
    started_on: str
    lifted_on: str
    state: str
    def __init__(self, shield_id: _Optional[str] = ..., entity_key: _Optional[str] = ..., department: _Optional[str] = ..., court_ruling: _Optional[str] = ..., started_on: _Optional[str] = ..., lifted_on: _Optional[str] = ..., state: _Optional[str] = ...) -> None: ...

class AuditEntry(_message.Message):
    __slots__ = ("seq", "at", "actor", "action", "object_type", "object_id", "detail_json", "hash")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    OBJECT_TYPE_FIELD_NUMBER: _ClassVar[int]
    OBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    DETAIL_JSON_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    seq: int
    at: str
    actor: str
    action: str
    object_type: str
    object_id: str
    detail_json: str
    hash: str
    def __init__(self, seq: _Optional[int] = ..., at: _Optional[str] = ..., actor: _Optional[str] = ..., action: _Optional[str] = ..., object_type: _Optional[str] = ..., object_id: _Optional[str] = ..., detail_json: _Optional[str] = ..., hash: _Optional[str] = ...) -> None: ...

class CreditFile(_message.Message):
    __slots__ = ("entity", "as_of", "records", "repairs", "objections", "commitments", "shields", "audit", "annual_reports")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    REPAIRS_FIELD_NUMBER: _ClassVar[int]
    OBJECTIONS_FIELD_NUMBER: _ClassVar[int]
    COMMITMENTS_FIELD_NUMBER: _ClassVar[int]
    SHIELDS_FIELD_NUMBER: _ClassVar[int]
    AUDIT_FIELD_NUMBER: _ClassVar[int]
    ANNUAL_REPORTS_FIELD_NUMBER: _ClassVar[int]
    entity: _common_pb2.Entity
    as_of: str
    records: _containers.RepeatedCompositeFieldContainer[Record]
    repairs: _containers.RepeatedCompositeFieldContainer[Repair]
    objections: _containers.RepeatedCompositeFieldContainer[Objection]
    commitments: _containers.RepeatedCompositeFieldContainer[Commitment]
    shields: _containers.RepeatedCompositeFieldContainer[Shield]
    audit: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    annual_reports: _containers.RepeatedCompositeFieldContainer[AnnualReport]
    def __init__(self, entity: _Optional[_Union[_common_pb2.Entity, _Mapping]] = ..., as_of: _Optional[str] = ..., records: _Optional[_Iterable[_Union[Record, _Mapping]]] = ..., repairs: _Optional[_Iterable[_Union[Repair, _Mapping]]] = ..., objections: _Optional[_Iterable[_Union[Objection, _Mapping]]] = ..., commitments: _Optional[_Iterable[_Union[Commitment, _Mapping]]] = ..., shields: _Optional[_Iterable[_Union[Shield, _Mapping]]] = ..., audit: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ..., annual_reports: _Optional[_Iterable[_Union[AnnualReport, _Mapping]]] = ...) -> None: ...

class ListRecordsRequest(_message.Message):
    __slots__ = ("sources", "categories", "statuses", "region_prefix", "industry", "decided_from", "decided_to", "as_of", "page_size", "page_token", "entity")
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    REGION_PREFIX_FIELD_NUMBER: _ClassVar[int]
    INDUSTRY_FIELD_NUMBER: _ClassVar[int]
    DECIDED_FROM_FIELD_NUMBER: _ClassVar[int]
    DECIDED_TO_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    sources: _containers.RepeatedScalarFieldContainer[_common_pb2.Source]
    categories: _containers.RepeatedScalarFieldContainer[_common_pb2.Category]
    statuses: _containers.RepeatedScalarFieldContainer[RecordStatus]
    region_prefix: str
    industry: str
    decided_from: str
    decided_to: str
    as_of: str
    page_size: int
    page_token: str
    entity: _common_pb2.EntityRef
    def __init__(self, sources: _Optional[_Iterable[_Union[_common_pb2.Source, str]]] = ..., categories: _Optional[_Iterable[_Union[_common_pb2.Category, str]]] = ..., statuses: _Optional[_Iterable[_Union[RecordStatus, str]]] = ..., region_prefix: _Optional[str] = ..., industry: _Optional[str] = ..., decided_from: _Optional[str] = ..., decided_to: _Optional[str] = ..., as_of: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., entity: _Optional[_Union[_common_pb2.EntityRef, _Mapping]] = ...) -> None: ...

class ListRecordsResponse(_message.Message):
    __slots__ = ("records", "next_page_token")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[Record]
    next_page_token: str
    def __init__(self, records: _Optional[_Iterable[_Union[Record, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WatchChangesRequest(_message.Message):
    __slots__ = ("after_seq", "follow", "batch_size", "after_hash")
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    AFTER_HASH_FIELD_NUMBER: _ClassVar[int]
    after_seq: int
    follow: bool
    batch_size: int
    after_hash: str
    def __init__(self, after_seq: _Optional[int] = ..., follow: _Optional[bool] = ..., batch_size: _Optional[int] = ..., after_hash: _Optional[str] = ...) -> None: ...

class ChangeEvent(_message.Message):
    __slots__ = ("seq", "entity_key", "kind", "record_id", "occurred_at", "hash")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    ENTITY_KEY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    seq: int
    entity_key: str
    kind: str
    record_id: str
    occurred_at: str
    hash: str
    def __init__(self, seq: _Optional[int] = ..., entity_key: _Optional[str] = ..., kind: _Optional[str] = ..., record_id: _Optional[str] = ..., occurred_at: _Optional[str] = ..., hash: _Optional[str] = ...) -> None: ...

class ApplyRepairRequest(_message.Message):
    __slots__ = ("record_id", "proof", "commitment_letter", "applied_on")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    COMMITMENT_LETTER_FIELD_NUMBER: _ClassVar[int]
    APPLIED_ON_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    proof: str
    commitment_letter: bool
    applied_on: str
    def __init__(self, record_id: _Optional[str] = ..., proof: _Optional[str] = ..., commitment_letter: _Optional[bool] = ..., applied_on: _Optional[str] = ...) -> None: ...

class DecideRepairRequest(_message.Message):
    __slots__ = ("repair_id", "action", "reason", "on")
    REPAIR_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ON_FIELD_NUMBER: _ClassVar[int]
    repair_id: str
    action: str
    reason: str
    on: str
    def __init__(self, repair_id: _Optional[str] = ..., action: _Optional[str] = ..., reason: _Optional[str] = ..., on: _Optional[str] = ...) -> None: ...

class FileObjectionRequest(_message.Message):
    __slots__ = ("record_id", "target", "grounds", "filed_on")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    GROUNDS_FIELD_NUMBER: _ClassVar[int]
    FILED_ON_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    target: str
    grounds: str
    filed_on: str
    def __init__(self, record_id: _Optional[str] = ..., target: _Optional[str] = ..., grounds: _Optional[str] = ..., filed_on: _Optional[str] = ...) -> None: ...

class ResolveObjectionRequest(_message.Message):
    __slots__ = ("objection_id", "resolution", "reason", "on", "corrected")
    OBJECTION_ID_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ON_FIELD_NUMBER: _ClassVar[int]
    CORRECTED_FIELD_NUMBER: _ClassVar[int]
    objection_id: str
    resolution: str
    reason: str
    on: str
    corrected: RecordSubmission
    def __init__(self, objection_id: _Optional[str] = ..., resolution: _Optional[str] = ..., reason: _Optional[str] = ..., on: _Optional[str] = ..., corrected: _Optional[_Union[RecordSubmission, _Mapping]] = ...) -> None: ...

class RegisterCommitmentRequest(_message.Message):
    __slots__ = ("entity", "content", "registered_on", "due_on", "source")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_ON_FIELD_NUMBER: _ClassVar[int]
    DUE_ON_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    entity: _common_pb2.EntityRef
    content: str
    registered_on: str
    due_on: str
    source: _common_pb2.Source
    def __init__(self, entity: _Optional[_Union[_common_pb2.EntityRef, _Mapping]] = ..., content: _Optional[str] = ..., registered_on: _Optional[str] = ..., due_on: _Optional[str] = ..., source: _Optional[_Union[_common_pb2.Source, str]] = ...) -> None: ...

class ResolveCommitmentRequest(_message.Message):
    __slots__ = ("commitment_id", "state", "on", "record")
    COMMITMENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ON_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    commitment_id: str
    state: str
    on: str
    record: RecordSubmission
    def __init__(self, commitment_id: _Optional[str] = ..., state: _Optional[str] = ..., on: _Optional[str] = ..., record: _Optional[_Union[RecordSubmission, _Mapping]] = ...) -> None: ...

class StartShieldRequest(_message.Message):
    __slots__ = ("entity", "court_ruling", "started_on")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    COURT_RULING_FIELD_NUMBER: _ClassVar[int]
    STARTED_ON_FIELD_NUMBER: _ClassVar[int]
    entity: _common_pb2.EntityRef
    court_ruling: str
    started_on: str
    def __init__(self, entity: _Optional[_Union[_common_pb2.EntityRef, _Mapping]] = ..., court_ruling: _Optional[str] = ..., started_on: _Optional[str] = ...) -> None: ...

class LiftShieldRequest(_message.Message):
    __slots__ = ("shield_id", "lifted_on")
    SHIELD_ID_FIELD_NUMBER: _ClassVar[int]
    LIFTED_ON_FIELD_NUMBER: _ClassVar[int]
    shield_id: str
    lifted_on: str
    def __init__(self, shield_id: _Optional[str] = ..., lifted_on: _Optional[str] = ...) -> None: ...

class RegisterAgencyRequest(_message.Message):
    __slots__ = ("agency", "principal_ids", "staff_count", "commitment_letter", "registered_on", "credit_services_in_scope", "annual_report")
    AGENCY_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_IDS_FIELD_NUMBER: _ClassVar[int]
    STAFF_COUNT_FIELD_NUMBER: _ClassVar[int]
    COMMITMENT_LETTER_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_ON_FIELD_NUMBER: _ClassVar[int]
    CREDIT_SERVICES_IN_SCOPE_FIELD_NUMBER: _ClassVar[int]
    ANNUAL_REPORT_FIELD_NUMBER: _ClassVar[int]
    agency: Subject
    principal_ids: _containers.RepeatedScalarFieldContainer[str]
    staff_count: int
    commitment_letter: bool
    registered_on: str
    credit_services_in_scope: bool
    annual_report: bool
    def __init__(self, agency: _Optional[_Union[Subject, _Mapping]] = ..., principal_ids: _Optional[_Iterable[str]] = ..., staff_count: _Optional[int] = ..., commitment_letter: _Optional[bool] = ..., registered_on: _Optional[str] = ..., credit_services_in_scope: _Optional[bool] = ..., annual_report: _Optional[bool] = ...) -> None: ...

class AgencyRegistration(_message.Message):
    __slots__ = ("entity_key", "registered_on", "principal_display_ids")
    ENTITY_KEY_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_ON_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_DISPLAY_IDS_FIELD_NUMBER: _ClassVar[int]
    entity_key: str
    registered_on: str
    principal_display_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, entity_key: _Optional[str] = ..., registered_on: _Optional[str] = ..., principal_display_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class FileAnnualReportRequest(_message.Message):
    __slots__ = ("agency", "year", "filed_on")
    AGENCY_FIELD_NUMBER: _ClassVar[int]
    YEAR_FIELD_NUMBER: _ClassVar[int]
    FILED_ON_FIELD_NUMBER: _ClassVar[int]
    agency: _common_pb2.EntityRef
    year: int
    filed_on: str
    def __init__(self, agency: _Optional[_Union[_common_pb2.EntityRef, _Mapping]] = ..., year: _Optional[int] = ..., filed_on: _Optional[str] = ...) -> None: ...

class AnnualReport(_message.Message):
    __slots__ = ("entity_key", "year", "filed_on", "late")
    ENTITY_KEY_FIELD_NUMBER: _ClassVar[int]
    YEAR_FIELD_NUMBER: _ClassVar[int]
    FILED_ON_FIELD_NUMBER: _ClassVar[int]
    LATE_FIELD_NUMBER: _ClassVar[int]
    entity_key: str
    year: int
    filed_on: str
    late: bool
    def __init__(self, entity_key: _Optional[str] = ..., year: _Optional[int] = ..., filed_on: _Optional[str] = ..., late: _Optional[bool] = ...) -> None: ...

class ListOverdueRequest(_message.Message):
    __slots__ = ("as_of", "department")
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    as_of: str
    department: str
    def __init__(self, as_of: _Optional[str] = ..., department: _Optional[str] = ...) -> None: ...

class OverdueItem(_message.Message):
    __slots__ = ("kind", "item_id", "record_id", "department", "due", "working_days_overdue")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    DUE_FIELD_NUMBER: _ClassVar[int]
    WORKING_DAYS_OVERDUE_FIELD_NUMBER: _ClassVar[int]
    kind: str
    item_id: str
    record_id: str
    department: str
    due: str
    working_days_overdue: int
    def __init__(self, kind: _Optional[str] = ..., item_id: _Optional[str] = ..., record_id: _Optional[str] = ..., department: _Optional[str] = ..., due: _Optional[str] = ..., working_days_overdue: _Optional[int] = ...) -> None: ...

class ListOverdueResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[OverdueItem]
    def __init__(self, items: _Optional[_Iterable[_Union[OverdueItem, _Mapping]]] = ...) -> None: ...
