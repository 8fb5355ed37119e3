from credit.v1 import common_pb2 as _common_pb2
from credit.v1 import records_pb2 as _records_pb2
from google.rpc import status_pb2 as _status_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InspectionOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INSPECTION_OUTCOME_UNSPECIFIED: _ClassVar[InspectionOutcome]
    INSPECTION_OUTCOME_CLEAR: _ClassVar[InspectionOutcome]
    INSPECTION_OUTCOME_CORRECTED: _ClassVar[InspectionOutcome]
    INSPECTION_OUTCOME_FINDING: _ClassVar[InspectionOutcome]
    INSPECTION_OUTCOME_NOT_INSPECTED: _ClassVar[InspectionOutcome]
INSPECTION_OUTCOME_UNSPECIFIED: InspectionOutcome
INSPECTION_OUTCOME_CLEAR: InspectionOutcome
INSPECTION_OUTCOME_CORRECTED: InspectionOutcome
INSPECTION_OUTCOME_FINDING: InspectionOutcome
INSPECTION_OUTCOME_NOT_INSPECTED: InspectionOutcome

class EvaluateRequest(_message.Message):
    __slots__ = ("entity", "as_of", "department", "fresh")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    FRESH_FIELD_NUMBER: _ClassVar[int]
    entity: _common_pb2.EntityRef
    as_of: str
    department: str
    fresh: bool
    def __init__(self, entity: _Optional[_Union[_common_pb2.EntityRef, _Mapping]] = ..., as_of: _Optional[str] = ..., department: _Optional[str] = ..., fresh: _Optional[bool] = ...) -> None: ...

class Reason(_message.Message):
    __slots__ = ("code", "points_lost", "text_zh", "text_en")
    CODE_FIELD_NUMBER: _ClassVar[int]
    POINTS_LOST_FIELD_NUMBER: _ClassVar[int]
    TEXT_ZH_FIELD_NUMBER: _ClassVar[int]
    TEXT_EN_FIELD_NUMBER: _ClassVar[int]
    code: str
    points_lost: float
    text_zh: str
    text_en: str
    def __init__(self, code: _Optional[str] = ..., points_lost: _Optional[float] = ..., text_zh: _Optional[str] = ..., text_en: _Optional[str] = ...) -> None: ...

class GradeRule(_message.Message):
    __slots__ = ("code", "text_zh", "text_en")
    CODE_FIELD_NUMBER: _ClassVar[int]
    TEXT_ZH_FIELD_NUMBER: _ClassVar[int]
    TEXT_EN_FIELD_NUMBER: _ClassVar[int]
    code: str
    text_zh: str
    text_en: str
    def __init__(self, code: _Optional[str] = ..., text_zh: _Optional[str] = ..., text_en: _Optional[str] = ...) -> None: ...

class SupervisionTier(_message.Message):
    __slots__ = ("grade", "sampling_ratio", "sampling_ratio_min", "sampling_ratio_max", "max_inspections_per_year", "frequency_zh", "frequency_en", "measures_zh", "measures_en", "proactive_inspection", "key_supervision", "exempt_review", "contactless")
    GRADE_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_RATIO_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_RATIO_MIN_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_RATIO_MAX_FIELD_NUMBER: _ClassVar[int]
    MAX_INSPECTIONS_PER_YEAR_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_ZH_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_EN_FIELD_NUMBER: _ClassVar[int]
    MEASURES_ZH_FIELD_NUMBER: _ClassVar[int]
    MEASURES_EN_FIELD_NUMBER: _ClassVar[int]
    PROACTIVE_INSPECTION_FIELD_NUMBER: _ClassVar[int]
    KEY_SUPERVISION_FIELD_NUMBER: _ClassVar[int]
    EXEMPT_REVIEW_FIELD_NUMBER: _ClassVar[int]
    CONTACTLESS_FIELD_NUMBER: _ClassVar[int]
    grade: str
    sampling_ratio: float
    sampling_ratio_min: float
    sampling_ratio_max: float
    max_inspections_per_year: int
    frequency_zh: str
    frequency_en: str
    measures_zh: str
    measures_en: str
    proactive_inspection: bool
    key_supervision: bool
    exempt_review: bool
    contactless: bool
    def __init__(self, grade: _Optional[str] = ..., sampling_ratio: _Optional[float] = ..., sampling_ratio_min: _Optional[float] = ..., sampling_ratio_max: _Optional[float] = ..., max_inspections_per_year: _Optional[int] = ..., frequency_zh: _Optional[str] = ..., frequency_en: _Optional[str] = ..., measures_zh: _Optional[str] = ..., measures_en: _Optional[str] = ..., proactive_inspection: _Optional[bool] = ..., key_supervision: _Optional[bool] = ..., exempt_review: _Optional[bool] = ..., contactless: _Optional[bool] = ...) -> None: ...

class Evaluation(_message.Message):
    __slots__ = ("entity_key", "as_of", "score", "grade", "score_grade", "decided_by", "grade_rules", "reasons", "legal_basis", "tier", "model_version", "policy_version", "supervision_version", "features")
    class FeaturesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    ENTITY_KEY_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    SCORE_GRADE_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    GRADE_RULES_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    SUPERVISION_VERSION_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    entity_key: str
    as_of: str
    score: float
    grade: str
    score_grade: str
    decided_by: str
    grade_rules: _containers.RepeatedCompositeFieldContainer[GradeRule]
    reasons: _containers.RepeatedCompositeFieldContainer[Reason]
    legal_basis: _containers.RepeatedCompositeFieldContainer[_common_pb2.LegalBasis]
    tier: SupervisionTier
    model_version: str
    policy_version: str
    supervision_version: str
    features: _containers.ScalarMap[str, float]
    def __init__(self, entity_key: _Optional[str] = ..., as_of: _Optional[str] = ..., score: _Optional[float] = ..., grade: _Optional[str] = ..., score_grade: _Optional[str] = ..., decided_by: _Optional[str] = ..., grade_rules: _Optional[_Iterable[_Union[GradeRule, _Mapping]]] = ..., reasons: _Optional[_Iterable[_Union[Reason, _Mapping]]] = ..., legal_basis: _Optional[_Iterable[_Union[_common_pb2.LegalBasis, _Mapping]]] = ..., tier: _Optional[_Union[SupervisionTier, _Mapping]] = ..., model_version: _Optional[str] = ..., policy_version: _Optional[str] = ..., supervision_version: _Optional[str] = ..., features: _Optional[_Mapping[str, float]] = ...) -> None: ...

class GetModelCardRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ModelCard(_message.Message):
    __slots__ = ("version", "model_card_markdown", "metadata_json", "scorecard_text")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    MODEL_CARD_MARKDOWN_FIELD_NUMBER: _ClassVar[int]
    METADATA_JSON_FIELD_NUMBER: _ClassVar[int]
    SCORECARD_TEXT_FIELD_NUMBER: _ClassVar[int]
    version: str
    model_card_markdown: str
    metadata_json: str
    scorecard_text: str
    def __init__(self, version: _Optional[str] = ..., model_card_markdown: _Optional[str] = ..., metadata_json: _Optional[str] = ..., scorecard_text: _Optional[str] = ...) -> None: ...

class FeatureMatrix(_message.Message):
    __slots__ = ("columns", "values")
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    columns: _containers.RepeatedScalarFieldContainer[str]
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, columns: _Optional[_Iterable[str]] = ..., values: _Optional[_Iterable[float]] = ...) -> None: ...

class EntityBatch(_message.Message):
    __slots__ = ("entities", "as_of", "department")
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    entities: _containers.RepeatedCompositeFieldContainer[_common_pb2.EntityRef]
    as_of: str
    department: str
    def __init__(self, entities: _Optional[_Iterable[_Union[_common_pb2.EntityRef, _Mapping]]] = ..., as_of: _Optional[str] = ..., department: _Optional[str] = ...) -> None: ...

class EvaluateBatchRequest(_message.Message):
    __slots__ = ("entities", "features", "with_reasons")
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    WITH_REASONS_FIELD_NUMBER: _ClassVar[int]
    entities: EntityBatch
    features: FeatureMatrix
    with_reasons: bool
    def __init__(self, entities: _Optional[_Union[EntityBatch, _Mapping]] = ..., features: _Optional[_Union[FeatureMatrix, _Mapping]] = ..., with_reasons: _Optional[bool] = ...) -> None: ...

class BatchItem(_message.Message):
    __slots__ = ("error", "evaluation")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    EVALUATION_FIELD_NUMBER: _ClassVar[int]
    error: _status_pb2.Status
    evaluation: Evaluation
    def __init__(self, error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., evaluation: _Optional[_Union[Evaluation, _Mapping]] = ...) -> None: ...

class ScoredRows(_message.Message):
    __slots__ = ("scores", "grades", "reasons")
    SCORES_FIELD_NUMBER: _ClassVar[int]
    GRADES_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    scores: _containers.RepeatedScalarFieldContainer[float]
    grades: str
    reasons: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, scores: _Optional[_Iterable[float]] = ..., grades: _Optional[str] = ..., reasons: _Optional[_Iterable[str]] = ...) -> None: ...

class EvaluateBatchResponse(_message.Message):
    __slots__ = ("error", "items", "rows", "model_version", "policy_version")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    error: _status_pb2.Status
    items: _containers.RepeatedCompositeFieldContainer[BatchItem]
    rows: ScoredRows
    model_version: str
    policy_version: str
    def __init__(self, error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., items: _Optional[_Iterable[_Union[BatchItem, _Mapping]]] = ..., rows: _Optional[_Union[ScoredRows, _Mapping]] = ..., model_version: _Optional[str] = ..., policy_version: _Optional[str] = ...) -> None: ...

class RegradeRequest(_message.Message):
    __slots__ = ("as_of", "shard_index", "shard_count")
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    SHARD_INDEX_FIELD_NUMBER: _ClassVar[int]
    SHARD_COUNT_FIELD_NUMBER: _ClassVar[int]
    as_of: str
    shard_index: int
    shard_count: int
    def __init__(self, as_of: _Optional[str] = ..., shard_index: _Optional[int] = ..., shard_count: _Optional[int] = ...) -> None: ...

class RegradeProgress(_message.Message):
    __slots__ = ("done", "total", "written", "history", "by_grade", "seconds", "done_all")
    class ByGradeEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    DONE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    WRITTEN_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    BY_GRADE_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    DONE_ALL_FIELD_NUMBER: _ClassVar[int]
    done: int
    total: int
    written: int
    history: int
    by_grade: _containers.ScalarMap[str, int]
    seconds: float
    done_all: bool
    def __init__(self, done: _Optional[int] = ..., total: _Optional[int] = ..., written: _Optional[int] = ..., history: _Optional[int] = ..., by_grade: _Optional[_Mapping[str, int]] = ..., seconds: _Optional[float] = ..., done_all: _Optional[bool] = ...) -> None: ...

class GetGradeRequest(_message.Message):
    __slots__ = ("entity", "history_limit")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    HISTORY_LIMIT_FIELD_NUMBER: _ClassVar[int]
    entity: _common_pb2.EntityRef
    history_limit: int
    def __init__(self, entity: _Optional[_Union[_common_pb2.EntityRef, _Mapping]] = ..., history_limit: _Optional[int] = ...) -> None: ...

class GradeChange(_message.Message):
    __slots__ = ("id", "entity_key", "previous_grade", "grade", "score", "cause", "model_version", "policy_version", "as_of", "graded_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    ENTITY_KEY_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_GRADE_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    GRADED_AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    entity_key: str
    previous_grade: str
    grade: str
    score: float
    cause: str
    model_version: str
    policy_version: str
    as_of: str
    graded_at: str
    def __init__(self, id: _Optional[int] = ..., entity_key: _Optional[str] = ..., previous_grade: _Optional[str] = ..., grade: _Optional[str] = ..., score: _Optional[float] = ..., cause: _Optional[str] = ..., model_version: _Optional[str] = ..., policy_version: _Optional[str] = ..., as_of: _Optional[str] = ..., graded_at: _Optional[str] = ...) -> None: ...

class GradeSummary(_message.Message):
    __slots__ = ("entity_key", "kind", "name", "display_id", "region_code", "industry", "sources", "grade", "score", "score_grade", "decided_by", "reasons", "model_version", "policy_version", "as_of", "graded_at", "cause")
    ENTITY_KEY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    INDUSTRY_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SCORE_GRADE_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    GRADED_AT_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    entity_key: str
    kind: _common_pb2.EntityKind
    name: str
    display_id: str
    region_code: str
    industry: str
    sources: _containers.RepeatedScalarFieldContainer[_common_pb2.Source]
    grade: str
    score: float
    score_grade: str
    decided_by: str
    reasons: _containers.RepeatedScalarFieldContainer[str]
    model_version: str
    policy_version: str
    as_of: str
    graded_at: str
    cause: str
    def __init__(self, entity_key: _Optional[str] = ..., kind: _Optional[_Union[_common_pb2.EntityKind, str]] = ..., name: _Optional[str] = ..., display_id: _Optional[str] = ..., region_code: _Optional[str] = ..., industry: _Optional[str] = ..., sources: _Optional[_Iterable[_Union[_common_pb2.Source, str]]] = ..., grade: _Optional[str] = ..., score: _Optional[float] = ..., score_grade: _Optional[str] = ..., decided_by: _Optional[str] = ..., reasons: _Optional[_Iterable[str]] = ..., model_version: _Optional[str] = ..., policy_version: _Optional[str] = ..., as_of: _Optional[str] = ..., graded_at: _Optional[str] = ..., cause: _Optional[str] = ...) -> None: ...

class GradeRecord(_message.Message):
    __slots__ = ("grade", "grade_rules", "reasons", "legal_basis", "tier", "history")
    GRADE_FIELD_NUMBER: _ClassVar[int]
    GRADE_RULES_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    grade: GradeSummary
    grade_rules: _containers.RepeatedCompositeFieldContainer[GradeRule]
    reasons: _containers.RepeatedCompositeFieldContainer[Reason]
    legal_basis: _containers.RepeatedCompositeFieldContainer[_common_pb2.LegalBasis]
    tier: SupervisionTier
    history: _containers.RepeatedCompositeFieldContainer[GradeChange]
    def __init__(self, grade: _Optional[_Union[GradeSummary, _Mapping]] = ..., grade_rules: _Optional[_Iterable[_Union[GradeRule, _Mapping]]] = ..., reasons: _Optional[_Iterable[_Union[Reason, _Mapping]]] = ..., legal_basis: _Optional[_Iterable[_Union[_common_pb2.LegalBasis, _Mapping]]] = ..., tier: _Optional[_Union[SupervisionTier, _Mapping]] = ..., history: _Optional[_Iterable[_Union[GradeChange, _Mapping]]] = ...) -> None: ...

class GradeFilter(_message.Message):
    __slots__ = ("grades", "region_prefix", "industries", "sources", "kinds")
    GRADES_FIELD_NUMBER: _ClassVar[int]
    REGION_PREFIX_FIELD_NUMBER: _ClassVar[int]
    INDUSTRIES_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    grades: _containers.RepeatedScalarFieldContainer[str]
    region_prefix: str
    industries: _containers.RepeatedScalarFieldContainer[str]
    sources: _containers.RepeatedScalarFieldContainer[_common_pb2.Source]
    kinds: _containers.RepeatedScalarFieldContainer[_common_pb2.EntityKind]
    def __init__(self, grades: _Optional[_Iterable[str]] = ..., region_prefix: _Optional[str] = ..., industries: _Optional[_Iterable[str]] = ..., sources: _Optional[_Iterable[_Union[_common_pb2.Source, str]]] = ..., kinds: _Optional[_Iterable[_Union[_common_pb2.EntityKind, str]]] = ...) -> None: ...

class ListGradesRequest(_message.Message):
    __slots__ = ("filter", "page_size", "page_token")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    filter: GradeFilter
    page_size: int
    page_token: str
    def __init__(self, filter: _Optional[_Union[GradeFilter, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListGradesResponse(_message.Message):
    __slots__ = ("grades", "next_page_token")
    GRADES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    grades: _containers.RepeatedCompositeFieldContainer[GradeSummary]
    next_page_token: str
    def __init__(self, grades: _Optional[_Iterable[_Union[GradeSummary, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CountGradesRequest(_message.Message):
    __slots__ = ("filter", "group_by")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    filter: GradeFilter
    group_by: str
    def __init__(self, filter: _Optional[_Union[GradeFilter, _Mapping]] = ..., group_by: _Optional[str] = ...) -> None: ...

class GradeCount(_message.Message):
    __slots__ = ("group", "grade", "count")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    group: str
    grade: str
    count: int
    def __init__(self, group: _Optional[str] = ..., grade: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class CountGradesResponse(_message.Message):
    __slots__ = ("counts", "total")
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    counts: _containers.RepeatedCompositeFieldContainer[GradeCount]
    total: int
    def __init__(self, counts: _Optional[_Iterable[_Union[GradeCount, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class WatchGradeChangesRequest(_message.Message):
    __slots__ = ("after_id", "follow", "batch_size")
    AFTER_ID_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    after_id: int
    follow: bool
    batch_size: int
    def __init__(self, after_id: _Optional[int] = ..., follow: _Optional[bool] = ..., batch_size: _Optional[int] = ...) -> None: ...

class GetPolicyRequest(_message.Message):
    __slots__ = ("department",)
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    department: str
    def __init__(self, department: _Optional[str] = ...) -> None: ...

class Policy(_message.Message):
    __slots__ = ("grade_policy_version", "thresholds", "hard_rules", "supervision_version", "tiers", "grade_policy_json", "supervision_policy_json")
    GRADE_POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    THRESHOLDS_FIELD_NUMBER: _ClassVar[int]
    HARD_RULES_FIELD_NUMBER: _ClassVar[int]
    SUPERVISION_VERSION_FIELD_NUMBER: _ClassVar[int]
    TIERS_FIELD_NUMBER: _ClassVar[int]
    GRADE_POLICY_JSON_FIELD_NUMBER: _ClassVar[int]
    SUPERVISION_POLICY_JSON_FIELD_NUMBER: _ClassVar[int]
    grade_policy_version: str
    thresholds: _containers.RepeatedScalarFieldContainer[float]
    hard_rules: _containers.RepeatedCompositeFieldContainer[GradeRule]
    supervision_version: str
    tiers: _containers.RepeatedCompositeFieldContainer[SupervisionTier]
    grade_policy_json: str
    supervision_policy_json: str
    def __init__(self, grade_policy_version: _Optional[str] = ..., thresholds: _Optional[_Iterable[float]] = ..., hard_rules: _Optional[_Iterable[_Union[GradeRule, _Mapping]]] = ..., supervision_version: _Optional[str] = ..., tiers: _Optional[_Iterable[_Union[SupervisionTier, _Mapping]]] = ..., grade_policy_json: _Optional[str] = ..., supervision_policy_json: _Optional[str] = ...) -> None: ...

class Inspector(_message.Message):
    __slots__ = ("id", "name", "capacity", "recusals")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    RECUSALS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    capacity: int
    recusals: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., capacity: _Optional[int] = ..., recusals: _Optional[_Iterable[str]] = ...) -> None: ...

class DrawInspectionPlanRequest(_message.Message):
    __slots__ = ("request_id", "department", "task_name", "task_date", "filter", "inspectors", "triggered", "seed")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    TASK_NAME_FIELD_NUMBER: _ClassVar[int]
    TASK_DATE_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    INSPECTORS_FIELD_NUMBER: _ClassVar[int]
    TRIGGERED_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    department: str
    task_name: str
    task_date: str
    filter: GradeFilter
    inspectors: _containers.RepeatedCompositeFieldContainer[Inspector]
    triggered: _containers.RepeatedCompositeFieldContainer[_common_pb2.EntityRef]
    seed: str
    def __init__(self, request_id: _Optional[str] = ..., department: _Optional[str] = ..., task_name: _Optional[str] = ..., task_date: _Optional[str] = ..., filter: _Optional[_Union[GradeFilter, _Mapping]] = ..., inspectors: _Optional[_Iterable[_Union[Inspector, _Mapping]]] = ..., triggered: _Optional[_Iterable[_Union[_common_pb2.EntityRef, _Mapping]]] = ..., seed: _Optional[str] = ...) -> None: ...

class DrawStratum(_message.Message):
    __slots__ = ("grade", "candidates", "triggered", "excluded_previous", "eligible", "ratio", "drawn")
    GRADE_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    TRIGGERED_FIELD_NUMBER: _ClassVar[int]
    EXCLUDED_PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    ELIGIBLE_FIELD_NUMBER: _ClassVar[int]
    RATIO_FIELD_NUMBER: _ClassVar[int]
    DRAWN_FIELD_NUMBER: _ClassVar[int]
    grade: str
    candidates: int
    triggered: int
    excluded_previous: int
    eligible: int
    ratio: str
    drawn: int
    def __init__(self, grade: _Optional[str] = ..., candidates: _Optional[int] = ..., triggered: _Optional[int] = ..., excluded_previous: _Optional[int] = ..., eligible: _Optional[int] = ..., ratio: _Optional[str] = ..., drawn: _Optional[int] = ...) -> None: ...

class PlannedInspection(_message.Message):
    __slots__ = ("entity_key", "grade", "reason", "inspector_ids", "region_code", "industry", "name", "result")
    ENTITY_KEY_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    INSPECTOR_IDS_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    INDUSTRY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    entity_key: str
    grade: str
    reason: str
    inspector_ids: _containers.RepeatedScalarFieldContainer[str]
    region_code: str
    industry: str
    name: str
    result: InspectionResult
    def __init__(self, entity_key: _Optional[str] = ..., grade: _Optional[str] = ..., reason: _Optional[str] = ..., inspector_ids: _Optional[_Iterable[str]] = ..., region_code: _Optional[str] = ..., industry: _Optional[str] = ..., name: _Optional[str] = ..., result: _Optional[_Union[InspectionResult, _Mapping]] = ...) -> None: ...

class InspectionPlan(_message.Message):
    __slots__ = ("plan_id", "department", "task_name", "task_date", "seed", "algorithm", "policy_version", "candidate_hash", "inspector_hash", "previous_hash", "plan_hash", "inspectors_per_entity", "strata", "entities", "previous_plan_id", "created_at", "published_json")
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    TASK_NAME_FIELD_NUMBER: _ClassVar[int]
    TASK_DATE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_HASH_FIELD_NUMBER: _ClassVar[int]
    INSPECTOR_HASH_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_HASH_FIELD_NUMBER: _ClassVar[int]
    PLAN_HASH_FIELD_NUMBER: _ClassVar[int]
    INSPECTORS_PER_ENTITY_FIELD_NUMBER: _ClassVar[int]
    STRATA_FIELD_NUMBER: _ClassVar[int]
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_JSON_FIELD_NUMBER: _ClassVar[int]
    plan_id: str
    department: str
    task_name: str
    task_date: str
    seed: str
    algorithm: str
    policy_version: str
    candidate_hash: str
    inspector_hash: str
    previous_hash: str
    plan_hash: str
    inspectors_per_entity: int
    strata: _containers.RepeatedCompositeFieldContainer[DrawStratum]
    entities: _containers.RepeatedCompositeFieldContainer[PlannedInspection]
    previous_plan_id: str
    created_at: str
    published_json: str
    def __init__(self, plan_id: _Optional[str] = ..., department: _Optional[str] = ..., task_name: _Optional[str] = ..., task_date: _Optional[str] = ..., seed: _Optional[str] = ..., algorithm: _Optional[str] = ..., policy_version: _Optional[str] = ..., candidate_hash: _Optional[str] = ..., inspector_hash: _Optional[str] = ..., previous_hash: _Optional[str] = ..., plan_hash: _Optional[str] = ..., inspectors_per_entity: _Optional[int] = ..., strata: _Optional[_Iterable[_Union[DrawStratum, _Mapping]]] = ..., entities: _Optional[_Iterable[_Union[PlannedInspection, _Mapping]]] = ..., previous_plan_id: _Optional[str] = ..., created_at: _Optional[str] = ..., published_json: _Optional[str] = ...) -> None: ...

class GetInspectionPlanRequest(_message.Message):
    __slots__ = ("plan_id", "include_document")
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    plan_id: str
    include_document: bool
    def __init__(self, plan_id: _Optional[str] = ..., include_document: _Optional[bool] = ...) -> None: ...

class ListInspectionPlansRequest(_message.Message):
    __slots__ = ("department", "page_size", "page_token")
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    department: str
    page_size: int
    page_token: str
    def __init__(self, department: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListInspectionPlansResponse(_message.Message):
    __slots__ = ("plans", "next_page_token")
    PLANS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    plans: _containers.RepeatedCompositeFieldContainer[InspectionPlan]
    next_page_token: str
    def __init__(self, plans: _Optional[_Iterable[_Union[InspectionPlan, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class VerifyInspectionPlanRequest(_message.Message):
    __slots__ = ("plan_id", "published_json")
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_JSON_FIELD_NUMBER: _ClassVar[int]
    plan_id: str
    published_json: str
    def __init__(self, plan_id: _Optional[str] = ..., published_json: _Optional[str] = ...) -> None: ...

class VerifyInspectionPlanResponse(_message.Message):
    __slots__ = ("valid", "problems", "plan_hash")
    VALID_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    PLAN_HASH_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    problems: _containers.RepeatedScalarFieldContainer[str]
    plan_hash: str
    def __init__(self, valid: _Optional[bool] = ..., problems: _Optional[_Iterable[str]] = ..., plan_hash: _Optional[str] = ...) -> None: ...

class RecordInspectionResultRequest(_message.Message):
    __slots__ = ("plan_id", "entity_key", "outcome", "summary", "inspected_on", "record")
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    ENTITY_KEY_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    INSPECTED_ON_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    plan_id: str
    entity_key: str
    outcome: InspectionOutcome
    summary: str
    inspected_on: str
    record: _records_pb2.RecordSubmission
    def __init__(self, plan_id: _Optional[str] = ..., entity_key: _Optional[str] = ..., outcome: _Optional[_Union[InspectionOutcome, str]] = ..., summary: _Optional[str] = ..., inspected_on: _Optional[str] = ..., record: _Optional[_Union[_records_pb2.RecordSubmission, _Mapping]] = ...) -> None: ...

class InspectionResult(_message.Message):
    __slots__ = ("plan_id", "entity_key", "outcome", "summary", "inspected_on", "record_id", "recorded_by", "recorded_at")
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    ENTITY_KEY_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    INSPECTED_ON_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    RECORDED_BY_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    plan_id: str
    entity_key: str
    outcome: InspectionOutcome
    summary: str
    inspected_on: str
    record_id: str
    recorded_by: str
    recorded_at: str
    def __init__(self, plan_id: _Optional[str] = ..., entity_key: _Optional[str] = ..., outcome: _Optional[_Union[InspectionOutcome, str]] = ..., summary: _Optional[str] = ..., inspected_on: _Optional[str] = ..., record_id: _Optional[str] = ..., recorded_by: _Optional[str] = ..., recorded_at: _Optional[str] = ...) -> None: ...
