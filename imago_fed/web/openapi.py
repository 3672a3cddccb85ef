"""The admin API's routes and their OpenAPI 3.1 document, declared together.

A route is registered through :meth:`ApiRegistry.route`, which adds it to the
Quart blueprint *and* to the document, so the document cannot forget a route.
Before the handler runs, the registry's wrapper checks the query against the
declared parameters (:mod:`.params`) and reads the body through the one door
(:mod:`.body`: size, media type, strict JSON), then checks it against the
same schema the document publishes (a deliberately small subset of JSON
Schema, :func:`check_body`), so what we promise is what we enforce. The
statuses those checks can answer (400, 401, 404, 413, 415, 422) are added to
each operation's responses, so the document lists every status a route gives.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from quart import Blueprint, g

from imago_fed.web.body import JSON_TYPES, decode, read_body, require_type, text_document
from imago_fed.web.params import PATH_SCHEMAS, check_query
from imago_fed.web.schema import check_body, strict_schema

__all__ = ["ERROR_REF", "ApiRegistry", "Operation", "check_body", "request_body"]

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
# What the checks before the handler answer, added to every operation they guard.
BODY_REFUSALS = {
    400: "malformed body (not UTF-8 JSON, NUL, too deep, duplicate keys)",
    413: "body too large",
    415: "wrong Content-Type",
    422: "invalid input",
}
TEXT_FILE_CONTENT = {
    "text/plain": {"schema": {"type": "string", "description": "the file: JSON or JSON lines"}}
}
PATH_REFUSAL = "no such resource (or a path parameter not of its type)"
QUERY_REFUSAL = "invalid query parameter (undeclared, repeated or ill-typed)"


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
    path_params: dict[str, Schema] = field(default_factory=dict)
    body_types: Collection[str] = JSON_TYPES
    body_required: bool = True
    text_file: bool = False  # a file relayed as text (JSON or JSON lines)

    @property
    def has_body(self) -> bool:
        return self.request_schema is not None or self.text_file


_PARAM = re.compile(r"<(?:([a-z0-9]+):)?([a-z_]+)>")


def _openapi_path(rule: str) -> str:
    return _PARAM.sub(r"{\2}", rule)


def _path_params(rule: str) -> dict[str, Schema]:
    return {
        name: PATH_SCHEMAS.get(converter or "default", PATH_SCHEMAS["default"])
        for converter, name in _PARAM.findall(rule)
    }


def request_body() -> Any:
    """The request's body, already decoded and checked against the route's schema."""
    return g.checked_body


async def _checked_body(op: Operation) -> Any:
    raw = await read_body()
    if not raw and not op.body_required:
        return {}
    require_type(op.body_types)
    return check_body(decode(raw), op.request_schema or {})


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
        body_types: Collection[str] = JSON_TYPES,
        body_required: bool = True,
        text_file: bool = False,
    ) -> Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]:
        rule = rule.replace("<slug>", "<slug:slug>")  # a group slug, by its pattern

        def decorate(handler: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
            full_rule = (blueprint.url_prefix or "") + rule
            op = Operation(
                method=method.lower(),
                path=_openapi_path(full_rule),
                summary=summary,
                operation_id=handler.__name__,
                responses=responses,
                request_schema=request_schema,
                query=query or {},
                authenticated=authenticated,
                path_params=_path_params(full_rule),
                body_types=body_types,
                body_required=body_required,
                text_file=text_file,
            )
            self.operations.append(op)

            @functools.wraps(handler)
            async def guarded(*args: Any, **kwargs: Any) -> Any:
                check_query(op.query)
                if op.text_file:
                    g.checked_body = await text_document()
                elif op.request_schema is not None:
                    g.checked_body = await _checked_body(op)
                return await handler(*args, **kwargs)

            blueprint.add_url_rule(rule, handler.__name__, guarded, methods=[method])
            return handler

        return decorate

    def document(self, server_url: str) -> dict[str, Any]:
        paths: dict[str, dict[str, Any]] = {}
        for op in self.operations:
            responses = dict(op.responses)
            if op.path_params:
                responses.setdefault(404, (PATH_REFUSAL, ERROR_REF))
            if op.query:
                responses.setdefault(422, (QUERY_REFUSAL, ERROR_REF))
            if op.has_body:
                for status, description in BODY_REFUSALS.items():
                    responses.setdefault(status, (description, ERROR_REF))
            if op.authenticated:
                responses.setdefault(401, ("missing or wrong token", ERROR_REF))
            entry: dict[str, Any] = {
                "operationId": op.operation_id,
                "summary": op.summary,
                "responses": {
                    str(status): _response(description, schema)
                    for status, (description, schema) in sorted(responses.items())
                },
            }
            params = [
                {"name": name, "in": "path", "required": True, "schema": schema}
                for name, schema in op.path_params.items()
            ] + [
                {"name": name, "in": "query", "required": False, "schema": schema}
                for name, schema in op.query.items()
            ]
            if params:
                entry["parameters"] = params
            if op.request_schema is not None:
                entry["requestBody"] = {
                    "required": op.body_required,
                    "content": {"application/json": {"schema": strict_schema(op.request_schema)}},
                }
            elif op.text_file:
                entry["requestBody"] = {"required": True, "content": TEXT_FILE_CONTENT}
            if not op.authenticated:
                entry["security"] = []
            paths.setdefault(op.path, {})[op.method] = entry
        return {
            "openapi": "3.1.0",
            "info": {
                "title": self.title,
                "version": self.version,
                "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"},
            },
            # The paths carry /api/v1 themselves: the server is the instance's root.
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
