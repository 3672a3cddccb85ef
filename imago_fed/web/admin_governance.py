"""Admin API for decisions: the control table, proposals, votes, delegations."""

from __future__ import annotations

from datetime import timedelta

from quart import Response, jsonify, request

from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.delegation import Delegation
from imago_fed.domain.governance.proposals import Proposal
from imago_fed.domain.governance.protocols import protocol_to_dict
from imago_fed.web.admin import admin, api
from imago_fed.web.errors import ApiError
from imago_fed.web.openapi import ERROR_REF, request_body
from imago_fed.web.runtime import group_id_of, runtime

OBJ = {"type": "object"}
LIST = {"type": "object", "properties": {"items": {"type": "array"}}}
NOT_FOUND = ("no such group or proposal", ERROR_REF)
PROPOSE = {
    "type": "object",
    "required": ["action", "title"],
    "properties": {
        "action": {"type": "string", "enum": [a.value for a in ActionKind]},
        "title": {"type": "string", "maxLength": 300},
        "author": {"type": "string", "maxLength": 2048},
        "options": {"type": "array", "items": {"type": "string"}},
        "params": {"type": "object"},
        "topics": {"type": "array", "items": {"type": "string"}},
        "duration_s": {"type": "integer", "minimum": 1, "maximum": 60 * 86400},
    },
}
VOTE = {
    "type": "object",
    "required": ["voter", "ballot"],
    "properties": {
        "voter": {"type": "string", "maxLength": 2048},
        "ballot": {"type": "array", "items": {"type": "integer"}},
    },
}
DELEGATE = {
    "type": "object",
    "required": ["delegator", "delegate"],
    "properties": {
        "delegator": {"type": "string", "maxLength": 2048},
        "delegate": {"type": "string", "maxLength": 2048},
        "scope": {"type": "string", "maxLength": 100},
    },
}
LINK = {
    "type": "object",
    "required": ["matrix_user", "actor"],
    "properties": {
        "matrix_user": {"type": "string", "maxLength": 300, "pattern": r"^@[^:\s]+:\S+$",
                        "description": "a Matrix user id, @name:server"},
        "actor": {"type": "string", "maxLength": 2048, "pattern": r"^https?://[^\s/]+/\S*$",
                  "description": "a fediverse actor id, an http(s) URL"},
    },
}  # fmt: skip


def proposal_json(p: Proposal) -> dict[str, object]:
    return {
        "id": p.id,
        "action": p.action.value,
        "title": p.title,
        "options": list(p.options),
        "protocol": protocol_to_dict(p.protocol),
        "params": dict(p.params),
        "topics": list(p.topics),
        "state": p.state,
        "author": p.author,
        "opened_at": p.opened_at.isoformat() if p.opened_at else None,
        "closes_at": p.closes_at.isoformat() if p.closes_at else None,
        "result": dict(p.result),
    }


@api.route(
    admin, "/groups/<slug>/table", "GET", summary="The group's control table",
    responses={200: ("action kind -> protocol", OBJ), 404: NOT_FOUND},
)  # fmt: skip
async def get_table(slug: str) -> Response:
    rt = runtime()
    return jsonify((await rt.governance.table(await group_id_of(slug))).to_dict())


@api.route(
    admin, "/groups/<slug>/proposals", "POST",
    summary="Open a proposal (amend the table with action amend_table, params.changes)",
    request_schema=PROPOSE,
    responses={201: ("the proposal", OBJ), 404: NOT_FOUND, 422: ("invalid", ERROR_REF)},
)  # fmt: skip
async def create_proposal(slug: str) -> tuple[Response, int]:
    body = request_body()
    duration = body.get("duration_s")
    rt = runtime()
    proposal = await rt.governance.propose(
        await group_id_of(slug),
        action=ActionKind(body["action"]),
        title=body["title"],
        author=body.get("author", "admin"),
        options=[str(o) for o in body.get("options", [])],
        params=body.get("params", {}),
        topics=[str(t) for t in body.get("topics", [])],
        duration=timedelta(seconds=duration) if isinstance(duration, int) else None,
    )
    return jsonify(proposal_json(proposal)), 201


@api.route(
    admin, "/groups/<slug>/proposals", "GET", summary="Proposals, newest first",
    query={"state": {"type": "string"}},
    responses={200: ("proposals", LIST), 404: NOT_FOUND},
)  # fmt: skip
async def list_proposals(slug: str) -> Response:
    rt = runtime()
    found = await rt.governance.list_proposals(await group_id_of(slug), request.args.get("state"))
    return jsonify({"items": [proposal_json(p) for p in found]})


@api.route(
    admin, "/proposals/<int:proposal_id>", "GET",
    summary="A proposal with its tally, transition log, vote log and what its effects did",
    responses={200: ("the proposal", OBJ), 404: NOT_FOUND},
)  # fmt: skip
async def get_proposal(proposal_id: int) -> Response:
    rt = runtime()
    proposal = await rt.governance.get(proposal_id)
    outcome = await rt.governance.outcome(proposal)
    return jsonify(
        {
            **proposal_json(proposal),
            "current": {"verdict": outcome.verdict, "tally": outcome.tally},
            "transitions": await rt.governance.transitions(proposal_id),
            "votes": await rt.governance.vote_log(proposal_id),
            "effects": await rt.effects.of_proposal(proposal_id) if rt.effects else [],
        }
    )


@api.route(
    admin, "/proposals/<int:proposal_id>/votes", "POST",
    summary="Record a member's vote (as given through another channel)",
    request_schema=VOTE,
    responses={200: ("counted, or why not", OBJ), 404: NOT_FOUND},
)  # fmt: skip
async def cast_vote(proposal_id: int) -> Response:
    body = request_body()
    outcome = await runtime().governance.vote(
        proposal_id, body["voter"], body["ballot"], network="admin"
    )
    return jsonify({"outcome": outcome, "counted": outcome == "counted"})


@api.route(
    admin, "/groups/<slug>/delegations", "GET", summary="The group's delegation graph",
    responses={200: ("delegations", LIST), 404: NOT_FOUND},
)  # fmt: skip
async def list_delegations(slug: str) -> Response:
    found = await runtime().governance.delegations(await group_id_of(slug))
    return jsonify(
        {
            "items": [
                {"delegator": d.delegator, "delegate": d.delegate, "scope": d.scope} for d in found
            ]
        }
    )


@api.route(
    admin, "/groups/<slug>/delegations", "POST",
    summary="Delegate a member's vote (scope: *, an action kind, or topic:<name>)",
    request_schema=DELEGATE,
    responses={204: ("delegated", None), 422: ("refused (cycle, non-member...)", ERROR_REF)},
)  # fmt: skip
async def delegate(slug: str) -> tuple[str, int]:
    body = request_body()
    scope = body.get("scope", "*")
    if (
        scope != "*"
        and not scope.startswith("topic:")
        and scope not in {a.value for a in ActionKind}
    ):
        raise InvalidInput("scope must be *, an action kind, or topic:<name>", field="scope")
    await runtime().governance.delegate(
        await group_id_of(slug), Delegation(body["delegator"], body["delegate"], scope)
    )
    return "", 204


@api.route(
    admin, "/groups/<slug>/delegations", "DELETE",
    summary="Revoke a delegation (query: delegator, scope)",
    query={"delegator": {"type": "string"}, "scope": {"type": "string"}},
    responses={204: ("revoked", None), 404: ("no such delegation", ERROR_REF)},
)  # fmt: skip
async def revoke(slug: str) -> tuple[str, int]:
    delegator = request.args.get("delegator", "")
    if not delegator:
        raise ApiError(422, "invalid_input", "delegator: is required")
    await runtime().governance.revoke(
        await group_id_of(slug), delegator, request.args.get("scope", "*")
    )
    return "", 204


@api.route(
    admin, "/identity-links", "POST",
    summary="Record that a Matrix account and a fediverse account are one person",
    request_schema=LINK,
    responses={204: ("linked", None),
               409: ("the actor is linked to another Matrix account", ERROR_REF)},
)  # fmt: skip
async def link_identities() -> tuple[str, int]:
    body = request_body()
    await runtime().governance.link_identities(body["matrix_user"], body["actor"])
    return "", 204


SUBGROUP = {
    "type": "object",
    "required": ["slug"],
    "properties": {"slug": {"type": "string", "maxLength": 30}},
}


@api.route(
    admin, "/groups/<slug>/subgroups", "GET", summary="Groups linked as sub-groups",
    responses={200: ("sub-groups", LIST), 404: NOT_FOUND},
)  # fmt: skip
async def list_subgroups(slug: str) -> Response:
    found = await runtime().governance.subgroups(await group_id_of(slug))
    return jsonify({"items": sorted(found)})


@api.route(
    admin, "/groups/<slug>/subgroups", "POST",
    summary="Link another group of this instance as a sub-group (members can delegate to it)",
    request_schema=SUBGROUP,
    responses={204: ("linked", None), 404: NOT_FOUND, 422: ("invalid", ERROR_REF)},
)  # fmt: skip
async def link_subgroup(slug: str) -> tuple[str, int]:
    body = request_body()
    parent, child = await group_id_of(slug), await group_id_of(body["slug"])
    await runtime().governance.link_subgroup(parent, child)
    return "", 204
