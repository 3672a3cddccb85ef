"""Path and query parameters, checked into their types before any handler runs.

Path parameters go through URL converters installed on the app
(:func:`install_converters`): an ``int`` is ASCII digits within a PostgreSQL
``bigint``, a ``slug`` matches the group slug pattern, and every other
segment is text without NUL, control characters or lone surrogates. A
segment that fails its converter matches no route, so the answer is a 404
before any query runs (an id of 2**70 or ``a%00b`` never reaches asyncpg).

Query parameters are checked against what the admin API declares for the
route (:func:`check_query`): an undeclared name, a repeated one, or a value
not of the declared type is a 422 naming the parameter.
"""

from __future__ import annotations

import logging
from typing import Any

from quart import Quart, request
from werkzeug.routing import BaseConverter, ValidationError

from imago_fed.domain.groups import SLUG_PATTERN
from imago_fed.web.errors import ApiError

__all__ = [
    "INT64_MAX",
    "MAX_SEGMENT",
    "PATH_SCHEMAS",
    "ascii_int",
    "check_query",
    "clean_text",
    "install_converters",
]

log = logging.getLogger(__name__)

INT64_MAX = 2**63 - 1
MAX_SEGMENT = 255  # a Matrix id or alias, a host name: all fit in 255
_CONTROL = frozenset(chr(c) for c in [*range(32), 127])


def clean_text(value: str) -> bool:
    """No NUL or other control character, no lone surrogate."""
    return not _CONTROL.intersection(value) and not any("\ud800" <= ch <= "\udfff" for ch in value)


class Int64Converter(BaseConverter):
    """An id: ASCII digits only (``\\d`` also matches other scripts' digits)."""

    regex = r"[0-9]{1,19}"
    weight = 50

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > INT64_MAX:
            raise ValidationError()
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))


class TextConverter(BaseConverter):
    """One path segment of text a database column can hold (the default)."""

    regex = f"[^/]{{1,{MAX_SEGMENT}}}"

    def to_python(self, value: str) -> str:
        if len(value) > MAX_SEGMENT or not clean_text(value):
            raise ValidationError()
        return value


class SlugConverter(BaseConverter):
    """A group slug, by the domain's own pattern."""

    regex = SLUG_PATTERN.pattern


# What the OpenAPI document says of each kind of path parameter.
PATH_SCHEMAS: dict[str, dict[str, Any]] = {
    "int": {"type": "integer", "minimum": 0, "maximum": INT64_MAX},
    "slug": {"type": "string", "pattern": f"^{SLUG_PATTERN.pattern}$"},
    "default": {"type": "string", "minLength": 1, "maxLength": MAX_SEGMENT,
                "pattern": "^[^/\\u0000-\\u001f\\u007f]+$"},
}  # fmt: skip


def ascii_int(raw: str | None, low: int = 0, high: int = INT64_MAX) -> int | None:
    """``raw`` as an int in [low, high] if it is ASCII digits, else None.

    (``str.isdigit`` is true of "³" and "٣", which ``int`` refuses or reads.)
    """
    if raw is None or not (raw.isascii() and raw.isdigit()) or len(raw) > 19:
        return None
    number = int(raw)
    return number if low <= number <= high else None


def install_converters(app: Quart) -> None:
    """Before any blueprint is registered: its rules are compiled with these."""
    app.url_map.converters["int"] = Int64Converter
    app.url_map.converters["default"] = TextConverter
    app.url_map.converters["string"] = TextConverter
    app.url_map.converters["slug"] = SlugConverter


def _refuse(message: str) -> ApiError:
    log.info("query refused", extra={"status": 422, "reason": message, "path": request.path})
    return ApiError(422, "invalid_input", message)


def check_query(declared: dict[str, dict[str, Any]]) -> None:
    """Refuse undeclared, repeated or ill-typed query parameters (422)."""
    for name in request.args:
        if name not in declared:
            raise _refuse(f"{name[:50]}: unknown query parameter")
        values = request.args.getlist(name)
        if len(values) > 1:
            raise _refuse(f"{name}: given more than once")
        _check_value(name, values[0], declared[name])


def _check_value(name: str, value: str, schema: dict[str, Any]) -> None:
    if not clean_text(value):
        raise _refuse(f"{name}: contains a control character")
    if len(value) > schema.get("maxLength", 2048):
        raise _refuse(f"{name}: too long")
    kind = schema.get("type", "string")
    if kind == "integer":
        number = int(value) if value.isascii() and value.isdigit() and len(value) < 20 else None
        low, high = schema.get("minimum", 0), schema.get("maximum", INT64_MAX)
        if number is None or not low <= number <= high:
            raise _refuse(f"{name}: must be an integer from {low} to {high}")
    elif kind == "boolean" and value not in ("true", "false"):
        raise _refuse(f"{name}: must be true or false")
    if "enum" in schema and value not in schema["enum"]:
        raise _refuse(f"{name}: one of {', '.join(map(str, schema['enum']))}")
