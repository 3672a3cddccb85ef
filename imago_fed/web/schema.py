"""The subset of JSON Schema the admin API declares, and enforces.

Small on purpose: type (one or a list; object, array, string, integer,
number, boolean, null), properties, required, enum, minLength, maxLength,
pattern, minimum, maximum, items, maxItems. An object schema that lists properties
refuses any other key (the document says ``additionalProperties: false``);
one that lists none is free-form (a ``params`` or ``criteria`` map the use
case checks itself). Integers are bounded to a PostgreSQL ``bigint`` unless
the schema says narrower, and the document says so too.

A failure is a 422 naming the field by its path (``ballot[2]: must be of
type integer``).
"""

from __future__ import annotations

import re
from typing import Any

from imago_fed.web.errors import ApiError

__all__ = ["INT64_MAX", "INT64_MIN", "check_body", "strict_schema"]

Schema = dict[str, Any]
INT64_MAX, INT64_MIN = 2**63 - 1, -(2**63)
MAX_ITEMS = 1000  # arrays in admin bodies are lists of names or choices


def _is(value: Any, kind: str) -> bool:
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    raise AssertionError(f"schema type {kind!r} is not supported")


def _invalid(where: str, message: str) -> ApiError:
    if not where:
        return ApiError(422, "invalid_input", message)
    return ApiError(422, "invalid_input", f"{where}: {message}", field=where)


def check_body(body: Any, schema: Schema, where: str = "") -> Any:
    """Check a decoded body against ``schema``; raise a 422 ApiError naming the field."""
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_is(body, kind) for kind in kinds):
            if not where:
                raise _invalid("", f"the body must be a JSON {' or '.join(kinds)}")
            raise _invalid(where, f"must be of type {' or '.join(kinds)}")
    if "enum" in schema and body not in schema["enum"]:
        raise _invalid(where, "one of " + ", ".join(map(str, schema["enum"])))
    if isinstance(body, str):
        if len(body) > schema.get("maxLength", len(body)):
            raise _invalid(where, f"at most {schema['maxLength']} characters")
        if len(body) < schema.get("minLength", 0):
            raise _invalid(where, f"at least {schema['minLength']} characters")
        if "pattern" in schema and not re.search(schema["pattern"], body):
            raise _invalid(where, schema.get("description") or f"must match {schema['pattern']}")
    elif isinstance(body, int | float) and not isinstance(body, bool):
        low, high = schema.get("minimum", INT64_MIN), schema.get("maximum", INT64_MAX)
        if not low <= body <= high:
            raise _invalid(where, f"must be from {low} to {high}")
    elif isinstance(body, list):
        if len(body) > schema.get("maxItems", MAX_ITEMS):
            raise _invalid(where, f"at most {schema.get('maxItems', MAX_ITEMS)} items")
        for index, item in enumerate(body):
            check_body(item, schema.get("items", {}), f"{where}[{index}]")
    elif isinstance(body, dict):
        _check_object(body, schema, where)
    return body


def _check_object(body: dict[str, Any], schema: Schema, where: str) -> None:
    properties: dict[str, Schema] | None = schema.get("properties")
    prefix = f"{where}." if where else ""
    for name in schema.get("required", []):
        if name not in body:
            raise _invalid(prefix + name, "is required")
    if properties is None:
        return
    for name, value in body.items():
        if name not in properties:
            raise _invalid(prefix + name[:50], "unknown field")
        check_body(value, properties[name], prefix + name)


def strict_schema(schema: Schema) -> Schema:
    """The schema as the document publishes it: what check_body enforces, spelled out."""
    out = dict(schema)
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else (kinds or [])
    if "properties" in schema:
        out["properties"] = {k: strict_schema(v) for k, v in schema["properties"].items()}
        out["additionalProperties"] = False
    if "items" in schema:
        out["items"] = strict_schema(schema["items"])
    if "array" in kinds:
        out.setdefault("maxItems", MAX_ITEMS)
    if "integer" in kinds or "number" in kinds:
        out.setdefault("minimum", INT64_MIN)
        out.setdefault("maximum", INT64_MAX)
    return out
