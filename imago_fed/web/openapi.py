"""The admin API's routes and their OpenAPI 3.1 document, declared together.

A route is registered through :meth:`ApiRegistry.route`, which adds it to the
Quart blueprint *and* to the document, so the document cannot forget a route.
Request bodies are checked against the same schema the document publishes
(a deliberately small subset of JSON Schema: object, string, integer, boolean,
required, maxLength), so what we promise is what we enforce.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from quart import Blueprint

from imago_fed.web.errors import ApiError

__all__ = ["ERROR_REF", "ApiRegistry", "Operation", "check_body"]

Schema = dict[str, Any]
ERROR_SCHEMA: Schema = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
ERROR_REF: Schema = {"$ref": "#/components/schemas/Error"}


@dataclass
class Operation:
    method: str
    path: str  # OpenAPI form, e.g. /api/v1/groups/{slug}
    summary: str
    operation_id: str
    responses: dict[int, tuple[str, Schema | None]]
    request_schema: Schema | None = None
    query: dict[str, Schema] = field(default_factory=dict)
    authenticated: bool = True


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


class ApiRegistry:
    """Collects operations as routes are declared; renders the document."""

    def __init__(self, title: str, version: str) -> None:
        self.title, self.version = title, version
        self.operations: list[Operation] = []

    def route(
        self,
        blueprint: Blueprint,
        rule: str,
        method: str,
        *,
        summary: str,
        responses: dict[int, tuple[str, Schema | None]],
        request_schema: Schema | None = None,
        query: dict[str, Schema] | None = None,
        authenticated: bool = True,
    ) -> Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]:
        def decorate(handler: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
            full_rule = (blueprint.url_prefix or "") + rule
            self.operations.append(
                Operation(
                    method=method.lower(),
                    path=_openapi_path(full_rule),
                    summary=summary,
                    operation_id=handler.__name__,
                    responses=responses,
                    request_schema=request_schema,
                    query=query or {},
                    authenticated=authenticated,
                )
            )
            blueprint.add_url_rule(rule, handler.__name__, handler, methods=[method])
            return handler

        return decorate

    def document(self, server_url: str) -> dict[str, Any]:
        paths: dict[str, dict[str, Any]] = {}
        for op in self.operations:
            entry: dict[str, Any] = {
                "operationId": op.operation_id,
                "summary": op.summary,
                "responses": {
                    str(status): _response(description, schema)
                    for status, (description, schema) in sorted(op.responses.items())
                },
            }
            params = [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in re.findall(r"{([a-z_]+)}", op.path)
            ] + [
                {"name": name, "in": "query", "required": False, "schema": schema}
                for name, schema in op.query.items()
            ]
            if params:
                entry["parameters"] = params
            if op.request_schema is not None:
                entry["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": op.request_schema}},
                }
            if op.authenticated:
                entry["responses"].setdefault("401", _response("missing or wrong token", ERROR_REF))
            else:
                entry["security"] = []
            paths.setdefault(op.path, {})[op.method] = entry
        return {
            "openapi": "3.1.0",
            "info": {
                "title": self.title,
                "version": self.version,
                "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"},
            },
            "servers": [{"url": server_url}],
            "security": [{"adminToken": []}],
            "components": {
                "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer"}},
                "schemas": {"Error": ERROR_SCHEMA},
            },
            "paths": paths,
        }


def _response(description: str, schema: Schema | None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description}
    if schema is not None:
        out["content"] = {"application/json": {"schema": schema}}
    return out


_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "integer": int,
    "boolean": bool,
    "object": dict,
    "array": list,
    "null": type(None),
    "number": (int, float),
}


def check_body(body: Any, schema: Schema) -> dict[str, Any]:
    """Check a JSON body against an object schema; raise a 422 ApiError naming the field."""
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_input", "the body must be a JSON object")
    properties: dict[str, Schema] = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in body:
            raise ApiError(422, "invalid_input", f"{name}: is required")
    for name, value in body.items():
        if name not in properties:
            raise ApiError(422, "invalid_input", f"{name}: unknown field")
        prop = properties[name]
        kinds = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
        expected = tuple(_JSON_TYPES[k] for k in kinds)
        is_bool_as_int = "integer" in kinds and "boolean" not in kinds and isinstance(value, bool)
        if not isinstance(value, expected) or is_bool_as_int:
            shown = " or ".join(kinds)
            raise ApiError(422, "invalid_input", f"{name}: must be of type {shown}")
        if "maxLength" in prop and isinstance(value, str) and len(value) > prop["maxLength"]:
            raise ApiError(422, "invalid_input", f"{name}: at most {prop['maxLength']} characters")
    return body
