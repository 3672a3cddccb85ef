"""Admin API for assemblies: convene one, list a group's, read one (minutes included)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from quart import Response, jsonify

from imago_fed.domain.assemblies import Assembly, minutes_of
from imago_fed.domain.errors import InvalidInput
from imago_fed.services.assemblies import Assemblies
from imago_fed.web.admin import admin, api
from imago_fed.web.admin_governance import proposal_json
from imago_fed.web.errors import ApiError
from imago_fed.web.openapi import ERROR_REF, request_body
from imago_fed.web.runtime import group_id_of, runtime

OBJ = {"type": "object"}
LIST = {"type": "object", "properties": {"items": {"type": "array"}}}
CONVENE = {
    "type": "object",
    "required": ["title", "agenda", "starts_at", "by"],
    "properties": {
        "title": {"type": "string", "maxLength": 200},
        "agenda": {"type": "array", "items": {"type": "string", "maxLength": 300},
                   "maxItems": 30},
        "starts_at": {"type": "string", "format": "date-time"},
        "by": {"type": "string", "maxLength": 2048},
        "turn_seconds": {"type": "integer"},
        "quorum": {"type": "integer"},
        "vote_seconds": {"type": "integer"},
    },
}  # fmt: skip


def assembly_json(a: Assembly) -> dict[str, Any]:
    """The state as stored, with the minutes once closed."""
    out: dict[str, Any] = {"id": a.id, **a.to_dict()}
    if a.state == "closed":
        out["minutes"] = minutes_of(a).text()
    return out


def _assemblies() -> Assemblies:
    found = runtime().assemblies
    if found is None:
        raise ApiError(503, "unavailable", "assemblies are not wired in this process")
    return found


def _instant(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput("must be a date and time such as 2027-01-31T18:00:00Z",
                           field="starts_at") from None  # fmt: skip
    if when.tzinfo is None:
        raise InvalidInput("give the time zone (Z or +01:00)", field="starts_at")
    return when


@api.route(
    admin, "/groups/<slug>/assemblies", "POST",
    summary="Convene an assembly: a convene proposal, decided as the control table says",
    request_schema=CONVENE,
    responses={201: ("the convene proposal", OBJ), 404: ("no such group", ERROR_REF),
               409: ("not a member", ERROR_REF), 422: ("invalid", ERROR_REF)},
)  # fmt: skip
async def convene(slug: str) -> tuple[Response, int]:
    body = request_body()
    proposal = await _assemblies().convene(
        await group_id_of(slug), body["by"], title=body["title"],
        agenda=[str(a) for a in body["agenda"]], starts_at=_instant(body["starts_at"]),
        turn_seconds=body.get("turn_seconds", 180), quorum=body.get("quorum", 1),
        vote_seconds=body.get("vote_seconds", 600),
    )  # fmt: skip
    return jsonify(proposal_json(proposal)), 201


@api.route(
    admin, "/groups/<slug>/assemblies", "GET", summary="The group's assemblies, newest first",
    responses={200: ("assemblies", LIST), 404: ("no such group", ERROR_REF)},
)  # fmt: skip
async def list_assemblies(slug: str) -> Response:
    found = await _assemblies().of_group(await group_id_of(slug))
    return jsonify({"items": [assembly_json(a) for a in found]})


@api.route(
    admin, "/assemblies/<int:assembly_id>", "GET",
    summary="One assembly: agenda, floor, attendance, motions, minutes once closed",
    responses={200: ("the assembly", OBJ), 404: ("no such assembly", ERROR_REF)},
)  # fmt: skip
async def get_assembly(assembly_id: int) -> Response:
    return jsonify(assembly_json(await _assemblies().get(assembly_id)))
