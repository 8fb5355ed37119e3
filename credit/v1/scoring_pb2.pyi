from credit.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EvaluateRequest(_message.Message):
    __slots__ = ("entity", "as_of", "department")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    entity: _common_pb2.EntityRef
    as_of: str
    department: str
    def __init__(self, entity: _Optional[_Union[_common_pb2.EntityRef, _Mapping]] = ..., as_of: _Optional[str] = ..., department: _Optional[str] = ...) -> None: ...

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
