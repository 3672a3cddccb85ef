"""Admin API for federation: followers, following, blocks, reports, inbox."""

from __future__ import annotations

import re

from quart import Response, jsonify, request

from imago_fed.domain.errors import Conflict
from imago_fed.web.admin import admin, api
from imago_fed.web.errors import ApiError
from imago_fed.web.openapi import ERROR_REF, request_body
from imago_fed.web.runtime import group_id_of, runtime

ACTOR_BODY = {
    "type": "object",
    "required": ["actor"],
    "properties": {"actor": {"type": "string", "maxLength": 2048}},
}
BLOCK_BODY = {
    "type": "object",
    "required": ["kind", "value"],
    "properties": {
        "kind": {"type": "string", "enum": ["actor", "domain"]},
        "value": {"type": "string", "maxLength": 2048},
        "reason": {"type": "string", "maxLength": 1000},
        "group": {"type": "string", "maxLength": 30},
    },
}
LIST = {"type": "object", "properties": {"items": {"type": "array"}}}
NOT_FOUND = ("no such group", ERROR_REF)


@api.route(
    admin, "/groups/<slug>/followers", "GET",
    summary="Followers of a group (state=accepted|pending)",
    query={"state": {"type": "string", "enum": ["accepted", "pending"]}},
    responses={200: ("actor ids", LIST), 404: NOT_FOUND, 422: ("bad state", ERROR_REF)},
)  # fmt: skip
async def list_followers(slug: str) -> Response:
    state = request.args.get("state", "accepted")
    if state not in ("accepted", "pending"):
        raise ApiError(422, "invalid_input", "state: must be accepted or pending")
    items = await runtime().federation_reads.followers(
        await group_id_of(slug), state=state, limit=1000
    )
    return jsonify({"items": items})


async def _answer(slug: str, accept: bool) -> tuple[str, int]:
    body = request_body()
    rt = runtime()
    await rt.following.answer_follower(await rt.groups.get(slug), body["actor"], accept=accept)
    return "", 204


@api.route(
    admin, "/groups/<slug>/followers/accept", "POST",
    summary="Accept a pending follow request", request_schema=ACTOR_BODY,
    responses={204: ("accepted", None), 404: NOT_FOUND, 409: ("not pending", ERROR_REF)},
)  # fmt: skip
async def accept_follower(slug: str) -> tuple[str, int]:
    return await _answer(slug, True)


@api.route(
    admin, "/groups/<slug>/followers/reject", "POST",
    summary="Reject a follow request (or remove a follower)", request_schema=ACTOR_BODY,
    responses={204: ("rejected", None), 404: NOT_FOUND, 409: ("no such follower", ERROR_REF)},
)  # fmt: skip
async def reject_follower(slug: str) -> tuple[str, int]:
    return await _answer(slug, False)


@api.route(
    admin, "/groups/<slug>/following", "GET",
    summary="Actors the group follows, with the state of each request",
    responses={200: ("follows", LIST), 404: NOT_FOUND},
)  # fmt: skip
async def list_following(slug: str) -> Response:
    rows = await runtime().federation_reads.following(await group_id_of(slug))
    return jsonify(
        {"items": [{"actor": r.target, "state": r.state, "follow_id": r.follow_id} for r in rows]}
    )


@api.route(
    admin, "/groups/<slug>/following", "POST",
    summary="Follow a remote actor or group by handle (@name@host) or URL",
    request_schema=ACTOR_BODY,
    responses={
        202: ("follow requested", {"type": "object"}),
        404: ("no such group or actor", ERROR_REF),
        422: ("invalid input", ERROR_REF),
    },
)  # fmt: skip
async def follow_remote(slug: str) -> tuple[Response, int]:
    body = request_body()
    rt = runtime()
    result = await rt.following.follow(await rt.groups.get(slug), body["actor"])
    return jsonify(result), 202


@api.route(
    admin, "/groups/<slug>/following", "DELETE",
    summary="Stop following an actor (query: actor=<actor id>)",
    query={"actor": {"type": "string"}},
    responses={204: ("unfollowed", None), 404: ("not followed", ERROR_REF)},
)  # fmt: skip
async def unfollow_remote(slug: str) -> tuple[str, int]:
    actor = request.args.get("actor", "")
    if not actor:
        raise ApiError(422, "invalid_input", "actor: is required")
    rt = runtime()
    await rt.following.unfollow(await rt.groups.get(slug), actor)
    return "", 204


@api.route(
    admin, "/groups/<slug>/received", "GET",
    summary="Recent activities received by the group's inbox",
    responses={200: ("activities, newest first", LIST), 404: NOT_FOUND},
)  # fmt: skip
async def received(slug: str) -> Response:
    items = await runtime().federation_admin.received(await group_id_of(slug))
    return jsonify({"items": items})


@api.route(
    admin, "/blocks", "GET", summary="Instance and group blocks",
    responses={200: ("blocks", LIST)},
)  # fmt: skip
async def list_blocks() -> Response:
    return jsonify({"items": await runtime().moderation.blocks()})


@api.route(
    admin, "/blocks", "POST",
    summary="Block an actor or a domain, instance-wide or for one group",
    request_schema=BLOCK_BODY,
    responses={201: ("the block", {"type": "object"}), 404: ("no such group", ERROR_REF),
               422: ("invalid input", ERROR_REF)},
)  # fmt: skip
async def add_block() -> tuple[Response, int]:
    body = request_body()
    group_id = await group_id_of(body["group"]) if body.get("group") else None
    block = await runtime().moderation.block(
        body["kind"], body["value"], reason=body.get("reason", ""), group_id=group_id
    )
    return jsonify({"id": block.id, "kind": block.kind, "value": block.value}), 201


@api.route(
    admin, "/blocks/<int:block_id>", "DELETE", summary="Lift a block",
    responses={204: ("lifted", None), 404: ("no such block", ERROR_REF)},
)  # fmt: skip
async def remove_block(block_id: int) -> tuple[str, int]:
    await runtime().moderation.lift(block_id)
    return "", 204


@api.route(
    admin, "/reports", "GET", summary="Reports (Flag activities) from other servers",
    responses={200: ("reports, newest first", LIST)},
)  # fmt: skip
async def list_reports() -> Response:
    return jsonify({"items": await runtime().moderation.reports()})


@api.route(
    admin, "/groups/<slug>/moderators", "GET", summary="The group's moderators",
    responses={200: ("actor ids", LIST), 404: NOT_FOUND},
)  # fmt: skip
async def list_moderators(slug: str) -> Response:
    moderators = await runtime().federation_reads.moderators(await group_id_of(slug))
    return jsonify({"items": moderators})


@api.route(
    admin, "/groups/<slug>/moderators", "POST",
    summary="Add a moderator (a fediverse actor, by handle or URL); followers are told",
    request_schema=ACTOR_BODY,
    responses={
        201: ("added", {"type": "object"}),
        404: ("no such group or actor", ERROR_REF),
        409: ("already a moderator", ERROR_REF),
    },
)  # fmt: skip
async def add_moderator(slug: str) -> tuple[Response, int]:
    body = request_body()
    rt = runtime()
    group = await rt.groups.get(slug)
    if MATRIX_ID.fullmatch(body["actor"]):
        await rt.moderation.set_matrix_moderator(group.id or 0, body["actor"], present=True)
        return jsonify({"actor": body["actor"]}), 201
    actor = await rt.following.set_moderator(group, body["actor"], present=True)
    return jsonify({"actor": actor}), 201


MATRIX_ID = re.compile(r"@[^:\s]+:[^\s]+")


@api.route(
    admin, "/groups/<slug>/moderators", "DELETE",
    summary="Remove a moderator (query: actor=<actor id>); followers are told",
    query={"actor": {"type": "string"}},
    responses={204: ("removed", None), 409: ("not a moderator", ERROR_REF)},
)  # fmt: skip
async def remove_moderator(slug: str) -> tuple[str, int]:
    actor = request.args.get("actor", "")
    if not actor:
        raise ApiError(422, "invalid_input", "actor: is required")
    rt = runtime()
    group = await rt.groups.get(slug)
    if MATRIX_ID.fullmatch(actor):
        await rt.moderation.set_matrix_moderator(group.id or 0, actor, present=False)
    else:
        await rt.following.set_moderator(group, actor, present=False)
    return "", 204


@api.route(
    admin, "/groups/<slug>/members", "GET",
    summary="Members on every network (state=pending: follow requests and Matrix knocks)",
    query={"state": {"type": "string", "enum": ["pending"]}},
    responses={200: ("members", {"type": "object"}), 404: NOT_FOUND},
)  # fmt: skip
async def list_members(slug: str) -> Response:
    rt = runtime()
    group_id = await group_id_of(slug)
    pending = request.args.get("state") == "pending"
    state = "pending" if pending else "accepted"
    fediverse = await rt.federation_reads.followers(group_id, state=state, limit=10_000)
    matrix = await rt.federation_admin.matrix_members(group_id, "knocked" if pending else "joined")
    items = [{"network": "fediverse", "id": a} for a in fediverse] + [
        {"network": "matrix", "id": u} for u in matrix
    ]
    return jsonify({"items": items, "total": len(items)})


MEMBER_BODY = {
    "type": "object",
    "required": ["id"],
    "properties": {"id": {"type": "string", "maxLength": 2048}},
}


@api.route(
    admin, "/groups/<slug>/members/accept", "POST",
    summary="Admit a pending member: a fediverse follow request or a Matrix knock",
    request_schema=MEMBER_BODY,
    responses={204: ("admitted", None), 404: NOT_FOUND, 409: ("nothing pending", ERROR_REF)},
)  # fmt: skip
async def accept_member(slug: str) -> tuple[str, int]:
    body = request_body()
    rt = runtime()
    group = await rt.groups.get(slug)
    if not MATRIX_ID.fullmatch(body["id"]):
        await rt.following.answer_follower(group, body["id"], accept=True)
        return "", 204
    knocked = await rt.federation_admin.matrix_members(group.id or 0, "knocked")
    if body["id"] not in knocked or rt.matrix is None:
        raise Conflict(f"{body['id']} has not asked to join")
    await rt.matrix.admit(group, body["id"])
    return "", 204
