from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Source(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SOURCE_UNSPECIFIED: _ClassVar[Source]
    SOURCE_MEDICAL_PROCUREMENT: _ClassVar[Source]
    SOURCE_FIRE_PRODUCTS: _ClassVar[Source]
    SOURCE_CREDIT_SERVICE_AGENCY: _ClassVar[Source]
    SOURCE_HR_PENALTY: _ClassVar[Source]

class Category(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CATEGORY_UNSPECIFIED: _ClassVar[Category]
    CATEGORY_MINOR: _ClassVar[Category]
    CATEGORY_GENERAL: _ClassVar[Category]
    CATEGORY_SERIOUS: _ClassVar[Category]

class EntityKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENTITY_KIND_UNSPECIFIED: _ClassVar[EntityKind]
    ENTITY_KIND_ENTERPRISE: _ClassVar[EntityKind]
    ENTITY_KIND_CREDIT_SERVICE_AGENCY: _ClassVar[EntityKind]
    ENTITY_KIND_INSTITUTION: _ClassVar[EntityKind]
    ENTITY_KIND_PERSON: _ClassVar[EntityKind]
SOURCE_UNSPECIFIED: Source
SOURCE_MEDICAL_PROCUREMENT: Source
SOURCE_FIRE_PRODUCTS: Source
SOURCE_CREDIT_SERVICE_AGENCY: Source
SOURCE_HR_PENALTY: Source
CATEGORY_UNSPECIFIED: Category
CATEGORY_MINOR: Category
CATEGORY_GENERAL: Category
CATEGORY_SERIOUS: Category
ENTITY_KIND_UNSPECIFIED: EntityKind
ENTITY_KIND_ENTERPRISE: EntityKind
ENTITY_KIND_CREDIT_SERVICE_AGENCY: EntityKind
ENTITY_KIND_INSTITUTION: EntityKind
ENTITY_KIND_PERSON: EntityKind

class EntityRef(_message.Message):
    __slots__ = ("uscc", "resident_id", "entity_key")
    USCC_FIELD_NUMBER: _ClassVar[int]
    RESIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    ENTITY_KEY_FIELD_NUMBER: _ClassVar[int]
    uscc: str
    resident_id: str
    entity_key: str
    def __init__(self, uscc: _Optional[str] = ..., resident_id: _Optional[str] = ..., entity_key: _Optional[str] = ...) -> None: ...

class Entity(_message.Message):
    __slots__ = ("entity_key", "kind", "name", "display_id", "region_code", "industry", "established_on")
    ENTITY_KEY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    INDUSTRY_FIELD_NUMBER: _ClassVar[int]
    ESTABLISHED_ON_FIELD_NUMBER: _ClassVar[int]
    entity_key: str
    kind: EntityKind
    name: str
    display_id: str
    region_code: str
    industry: str
    established_on: str
    def __init__(self, entity_key: _Optional[str] = ..., kind: _Optional[_Union[EntityKind, str]] = ..., name: _Optional[str] = ..., display_id: _Optional[str] = ..., region_code: _Optional[str] = ..., industry: _Optional[str] = ..., established_on: _Optional[str] = ...) -> None: ...

class LegalBasis(_message.Message):
    __slots__ = ("document", "provision", "source_line", "citation")
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    PROVISION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_LINE_FIELD_NUMBER: _ClassVar[int]
    CITATION_FIELD_NUMBER: _ClassVar[int]
    document: str
    provision: str
    source_line: int
    citation: str
    def __init__(self, document: _Optional[str] = ..., provision: _Optional[str] = ..., source_line: _Optional[int] = ..., citation: _Optional[str] = ...) -> None: ...
