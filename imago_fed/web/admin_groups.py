"""Admin API: create, list, get and delete groups."""

from __future__ import annotations

from quart import Response, jsonify, request

from imago_fed.domain.groups import (
    MAX_NAME_LENGTH,
    MAX_SUMMARY_LENGTH,
    POSTING_POLICIES,
    Group,
)
from imago_fed.web.admin import admin, api
from imago_fed.web.admin_places import GRAPH_PROPERTIES, GRAPH_RESPONSE, apply_graph_fields
from imago_fed.web.errors import ApiError
from imago_fed.web.openapi import ERROR_REF, request_body
from imago_fed.web.runtime import runtime

GROUP_SCHEMA = {
    "type": "object",
    "required": ["slug", "name", "summary", "created_at", "handle", "actor_id"],
    "properties": {
        "slug": {"type": "string"},
        "name": {"type": "string"},
        "summary": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "handle": {"type": "string", "description": "the fediverse handle, @slug@domain"},
        "actor_id": {"type": "string", "format": "uri"},
        "public_key_pem": {"type": "string"},
        "manually_approves_followers": {"type": "boolean"},
        "posting_policy": {"type": "string", "enum": list(POSTING_POLICIES)},
        "founder": {"type": "object", "description": "at creation: who and what was done"},
    },
}
GROUP_WITH_GRAPH = {
    **GROUP_SCHEMA,
    "properties": {**GROUP_SCHEMA["properties"], **GRAPH_RESPONSE},  # type: ignore[dict-item]
}
CREATE_SCHEMA = {
    "type": "object",
    "required": ["slug", "name"],
    "properties": {
        "slug": {"type": "string", "maxLength": 30},
        "name": {"type": "string", "maxLength": MAX_NAME_LENGTH},
        "summary": {"type": "string", "maxLength": MAX_SUMMARY_LENGTH},
        "manually_approves_followers": {"type": "boolean"},
        "posting_policy": {"type": "string", "enum": list(POSTING_POLICIES)},
        "founder": {
            "type": "string",
            "maxLength": 2048,
            "description": "@me:server or @me@host: the first member and moderator",
        },
    },
}
LIST_SCHEMA = {
    "type": "object",
    "properties": {
        "items": {"type": "array", "items": GROUP_SCHEMA},
        "total": {"type": "integer"},
        "next_after": {"type": ["string", "null"]},
    },
}

LIMIT = {"type": "integer", "minimum": 1, "maximum": 500}


def group_json(group: Group) -> dict[str, object]:
    """The admin view of a group. The private key is never part of it."""
    instance = runtime().settings.instance
    return {
        "slug": group.slug,
        "name": group.name,
        "summary": group.summary,
        "created_at": group.created_at.isoformat(),
        "handle": f"@{group.slug}@{instance.domain}",
        "actor_id": runtime().ids.group(group.slug),
        "public_key_pem": group.keys.public_pem,
        "manually_approves_followers": group.manually_approves_followers,
        "posting_policy": group.posting_policy,
    }


@api.route(
    admin,
    "/groups",
    "POST",
    summary="Create a group",
    request_schema=CREATE_SCHEMA,
    responses={
        201: ("the new group", GROUP_SCHEMA),
        409: ("conflict: the slug is taken", ERROR_REF),
        422: ("invalid input", ERROR_REF),
    },
)
async def create_group() -> tuple[Response, int, dict[str, str]]:
    body = request_body()
    rt = runtime()
    founder = body.get("founder")
    if founder is not None and rt.membership is not None:
        founder = await rt.membership.founder_id(founder)  # refused before the group exists
    group = await rt.groups.create(
        body["slug"],
        body["name"],
        body.get("summary", ""),
        manually_approves_followers=body.get("manually_approves_followers", False),
        posting_policy=body.get("posting_policy", "followers"),
    )
    document = group_json(group)
    if founder is not None and rt.membership is not None:
        document["founder"] = await rt.membership.found(group, founder)
    return jsonify(document), 201, {"Location": f"/api/v1/groups/{group.slug}"}


@api.route(
    admin,
    "/groups",
    "GET",
    summary="List groups, ordered by slug",
    query={"limit": LIMIT, "after": {"type": "string"}},
    responses={200: ("a page of groups", LIST_SCHEMA), 422: ("invalid input", ERROR_REF)},
)
async def list_groups() -> Response:
    raw_limit = request.args.get("limit", "50")
    if not raw_limit.isdigit():
        raise ApiError(422, "invalid_input", "limit: must be an integer")
    limit, after = int(raw_limit), request.args.get("after")
    rt = runtime()
    groups = await rt.groups.list(limit=limit, after=after)
    return jsonify(
        {
            "items": [group_json(g) for g in groups],
            "total": await rt.groups.count(),
            "next_after": groups[-1].slug if len(groups) == limit else None,
        }
    )


@api.route(
    admin,
    "/groups/<slug>",
    "GET",
    summary="Get one group, with its place, themes and proximity settings",
    responses={200: ("the group", GROUP_WITH_GRAPH), 404: ("no such group", ERROR_REF)},
)
async def get_group(slug: str) -> Response:
    group = await runtime().groups.get(slug)
    return jsonify({**group_json(group), **await apply_graph_fields(slug, {})})


UPDATE_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": MAX_NAME_LENGTH},
        "summary": {"type": "string", "maxLength": MAX_SUMMARY_LENGTH},
        **GRAPH_PROPERTIES,
    },
}


@api.route(
    admin,
    "/groups/<slug>",
    "PATCH",
    summary="Rename or re-describe a group, set its place (a WikiData id or coordinates),"
    " themes (WikiData ids) and proximity weights (the Matrix space and followers are told)",
    request_schema=UPDATE_SCHEMA,
    responses={
        200: ("the group", GROUP_WITH_GRAPH),
        404: ("no such group", ERROR_REF),
        422: ("invalid input", ERROR_REF),
        502: ("the live WikiData lookup ([graph] wikidata_lookup) failed", ERROR_REF),
    },
)
async def update_group(slug: str) -> Response:
    body = request_body()
    group = await runtime().groups.get(slug)  # 404 before anything changes
    graph = await apply_graph_fields(slug, body)  # validated first: a bad place changes nothing
    group = await runtime().groups.update(slug, name=body.get("name"), summary=body.get("summary"))
    return jsonify({**group_json(group), **graph})


@api.route(
    admin,
    "/groups/<slug>",
    "DELETE",
    summary="Delete a group (its slug is never reused)",
    responses={204: ("deleted", None), 404: ("no such group", ERROR_REF)},
)
async def delete_group(slug: str) -> tuple[str, int]:
    await runtime().groups.delete(slug)
    return "", 204
