"""Admin API for membership: invitations, the roster with roles, rights."""

from __future__ import annotations

from datetime import timedelta

from quart import Response, jsonify

from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.membership import LEVELS, ROLES, Right
from imago_fed.services.membership import Membership
from imago_fed.web.admin import admin, api
from imago_fed.web.admin_governance import proposal_json
from imago_fed.web.errors import ApiError
from imago_fed.web.openapi import ERROR_REF, request_body
from imago_fed.web.runtime import runtime

NOT_FOUND = ("no such group", ERROR_REF)
INVITATION = {
    "type": "object",
    "required": ["code", "url", "expires_at", "max_uses", "uses"],
    "properties": {
        "code": {"type": "string"},
        "url": {"type": "string", "format": "uri"},
        "expires_at": {"type": "string", "format": "date-time"},
        "max_uses": {"type": "integer"},
        "uses": {"type": "integer"},
        "created_by": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "revoked": {"type": "boolean"},
    },
}
NEW_INVITATION = {
    "type": "object",
    "properties": {
        "max_uses": {"type": "integer", "minimum": 1, "maximum": 1000},
        "expires_in_days": {"type": "integer", "minimum": 1, "maximum": 365},
        "created_by": {"type": "string", "maxLength": 300},
    },
}
REDEEM = {
    "type": "object",
    "required": ["member"],
    "properties": {"member": {"type": "string", "maxLength": 2048}},
}
ROLE = {
    "type": "object",
    "required": ["member", "role"],
    "properties": {
        "member": {"type": "string", "maxLength": 2048},
        "role": {"type": "string", "enum": list(ROLES)},
    },
}
PERMISSIONS = {
    "type": "object",
    "properties": {right.value: {"type": "string", "enum": list(LEVELS)} for right in Right},
}
ROSTER = {
    "type": "object",
    "properties": {
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "network": {"type": "string", "enum": ["fediverse", "matrix"]},
                    "role": {"type": "string", "enum": list(ROLES)},
                    "state": {"type": "string", "enum": ["member", "invited"]},
                    "since": {"type": "string", "format": "date-time"},
                },
            },
        },
        "total": {"type": "integer"},
    },
}


def membership() -> Membership:
    found = runtime().membership
    if found is None:  # pragma: no cover - wired by build_runtime
        raise ApiError(503, "unavailable", "membership is not wired")
    return found


@api.route(
    admin, "/groups/<slug>/invitations", "POST",
    summary="Create an invitation code and link (expiry, number of uses)",
    request_schema=NEW_INVITATION,
    responses={201: ("the invitation", INVITATION), 404: NOT_FOUND,
               422: ("invalid terms", ERROR_REF)},
)  # fmt: skip
async def create_invitation(slug: str) -> tuple[Response, int]:
    body = request_body()
    group = await runtime().groups.get(slug)
    days = body.get("expires_in_days", 7)
    if not 1 <= days <= 365:  # before timedelta, which overflows on huge numbers
        raise ApiError(422, "invalid_input", "expires_in_days: must be 1 to 365")
    invitation = await membership().create_invitation(
        group,
        created_by=body.get("created_by", "admin"),
        max_uses=body.get("max_uses", 1),
        expires_in=timedelta(days=days),
    )
    return jsonify(membership().invitation_json(invitation)), 201


@api.route(
    admin, "/groups/<slug>/invitations", "GET",
    summary="The group's invitations, newest first (revoked ones included)",
    responses={200: ("invitations", {"type": "object", "properties": {
        "items": {"type": "array", "items": INVITATION}}}), 404: NOT_FOUND},
)  # fmt: skip
async def list_invitations(slug: str) -> Response:
    group = await runtime().groups.get(slug)
    found = await membership().invitations(group)
    return jsonify({"items": [membership().invitation_json(i) for i in found]})


@api.route(
    admin, "/groups/<slug>/invitations/<code>", "DELETE",
    summary="Revoke an invitation (it can no longer be used)",
    responses={204: ("revoked", None), 404: ("no such group or invitation", ERROR_REF)},
)  # fmt: skip
async def revoke_invitation(slug: str, code: str) -> tuple[str, int]:
    await membership().revoke(await runtime().groups.get(slug), code)
    return "", 204


@api.route(
    admin, "/invitations/<code>/redeem", "POST",
    summary="Use an invitation for someone (@user:server, @name@host or an actor URL)",
    request_schema=REDEEM,
    responses={
        200: ("what happened", {"type": "object", "properties": {"message": {"type": "string"}}}),
        404: ("unknown code", ERROR_REF),
        422: ("expired, revoked or used up; or not a person's id", ERROR_REF),
    },
)  # fmt: skip
async def redeem_invitation(code: str) -> Response:
    body = request_body()
    return jsonify({"message": await membership().redeem(code, body["member"])})


@api.route(
    admin, "/groups/<slug>/roster", "GET",
    summary="Members on both networks with their role, network and since when",
    responses={200: ("members", ROSTER), 404: NOT_FOUND},
)  # fmt: skip
async def roster(slug: str) -> Response:
    items = await membership().roster(await runtime().groups.get(slug))
    return jsonify({"items": items, "total": len(items)})


@api.route(
    admin, "/groups/<slug>/roles", "POST",
    summary="Make a member a moderator, or a plain member again (Matrix power levels follow)",
    request_schema=ROLE,
    responses={
        200: ("changed or not", {"type": "object", "properties": {
            "changed": {"type": "boolean"}}}),
        404: NOT_FOUND, 422: ("invalid role", ERROR_REF),
    },
)  # fmt: skip
async def set_role(slug: str) -> Response:
    body = request_body()
    group = await runtime().groups.get(slug)
    changed = await membership().set_role(group, body["member"], body["role"])
    return jsonify({"changed": changed})


@api.route(
    admin, "/groups/<slug>/permissions", "GET",
    summary="Who may post, post announcements, open proposals, open secret ballots",
    responses={200: ("right -> anyone | members | moderators", PERMISSIONS), 404: NOT_FOUND},
)  # fmt: skip
async def get_permissions(slug: str) -> Response:
    group = await runtime().groups.get(slug)
    assert group.id is not None
    return jsonify((await membership().permissions(group.id)).to_dict())


@api.route(
    admin, "/groups/<slug>/permissions", "PUT",
    summary="Change rights by an amend_table proposal under the group's own rules",
    request_schema=PERMISSIONS,
    responses={201: ("the amend_table proposal", {"type": "object"}), 404: NOT_FOUND,
               422: ("unknown right or level", ERROR_REF)},
)  # fmt: skip
async def change_permissions(slug: str) -> tuple[Response, int]:
    body = request_body()
    if not body:
        raise ApiError(422, "invalid_input", "name at least one right to change")
    rt = runtime()
    group = await rt.groups.get(slug)
    assert group.id is not None
    changes = ", ".join(f"{k}: {v}" for k, v in sorted(body.items()))
    proposal = await rt.governance.propose(
        group.id, action=ActionKind.AMEND_TABLE, title=f"Rights: {changes}"[:300],
        author="admin", params={"changes": {"permissions": body}},
    )  # fmt: skip
    return jsonify(proposal_json(proposal)), 201
