"""OpenAPI schemas of the protobuf messages the API returns, derived from their descriptors
(the proto3 JSON mapping with proto field names), so the document states every field."""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

_SCALARS: dict[int, dict[str, Any]] = {
    FieldDescriptor.TYPE_DOUBLE: {"type": "number"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number"},
    FieldDescriptor.TYPE_INT32: {"type": "integer"},
    FieldDescriptor.TYPE_SINT32: {"type": "integer"},
    FieldDescriptor.TYPE_UINT32: {"type": "integer"},
    FieldDescriptor.TYPE_FIXED32: {"type": "integer"},
    FieldDescriptor.TYPE_SFIXED32: {"type": "integer"},
    # The JSON mapping writes 64-bit integers as strings.
    FieldDescriptor.TYPE_INT64: {"type": "string", "format": "int64"},
    FieldDescriptor.TYPE_SINT64: {"type": "string", "format": "int64"},
    FieldDescriptor.TYPE_UINT64: {"type": "string", "format": "uint64"},
    FieldDescriptor.TYPE_FIXED64: {"type": "string", "format": "uint64"},
    FieldDescriptor.TYPE_SFIXED64: {"type": "string", "format": "int64"},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "format": "byte"},
}
# Messages whose JSON form is special in the mapping: described loosely.
_WELL_KNOWN = {"google.protobuf.Any": {"type": "object"}}

REGISTERED: dict[str, Descriptor] = {}


def ref(message: type[Message]) -> dict[str, str]:
    descriptor: Any = message.DESCRIPTOR
    REGISTERED[descriptor.full_name] = descriptor
    return {"$ref": f"#/components/schemas/{descriptor.full_name}"}


def ok(message: type[Message], description: str) -> dict[int | str, dict[str, Any]]:
    """The documented 200 answer of an endpoint returning ``message`` as JSON."""
    return {200: {"description": description,
                  "content": {"application/json": {"schema": ref(message)}}}}


def _field(f: FieldDescriptor, pending: list[Descriptor]) -> dict[str, Any]:
    one: dict[str, Any]
    if f.type == FieldDescriptor.TYPE_MESSAGE:
        sub: Any = f.message_type
        if sub.GetOptions().map_entry:
            value = _field(sub.fields_by_name["value"], pending)
            return {"type": "object", "additionalProperties": value}
        if sub.full_name in _WELL_KNOWN:
            one = _WELL_KNOWN[sub.full_name]
        else:
            pending.append(sub)
            one = {"$ref": f"#/components/schemas/{sub.full_name}"}
    elif f.type == FieldDescriptor.TYPE_ENUM:
        enum: Any = f.enum_type
        one = {"type": "string", "enum": [v.name for v in enum.values]}
    else:
        one = dict(_SCALARS[f.type])
    return {"type": "array", "items": one} if f.is_repeated else one


def components() -> dict[str, dict[str, Any]]:
    """Schemas of every registered message and of the messages they contain."""
    out: dict[str, dict[str, Any]] = {}
    pending = list(REGISTERED.values())
    while pending:
        d = pending.pop()
        if d.full_name in out:
            continue
        out[d.full_name] = {"type": "object", "title": d.name, "properties": {
            f.name: _field(f, pending) for f in d.fields}}
    return out
