"""Admin API for secret votes: set up a proposal's election, trustee uploads, close.

Trustee keys and partial decryptions are files the trustees made on their
own machines (``imago-fed trustee keygen`` / ``decrypt``, or for a t-of-n
key the three rounds of ``imago-fed trustee threshold``); the administrator
relays them here as the request body, verbatim. Private keys never come here.
"""

from __future__ import annotations

from quart import Response, jsonify

from imago_fed.domain.errors import NotFound
from imago_fed.domain.voting.elections import ElectionRecord
from imago_fed.web.admin import admin, api
from imago_fed.web.elections import body_text, election_service
from imago_fed.web.errors import ApiError
from imago_fed.web.openapi import ERROR_REF, request_body

OBJ = {"type": "object"}
NOT_FOUND = ("no such proposal, election or trustee", ERROR_REF)
CONFLICT = ("not in the right state for this", ERROR_REF)
SETUP = {
    "type": "object",
    "required": ["trustees"],
    "properties": {
        "trustees": {"type": "array", "items": {"type": "string"}},
        "threshold": {"type": "integer", "minimum": 1},
        "deliver": {"type": "boolean"},
        "credential_authority": {"type": "string", "enum": ["server", "external"]},
    },
}
STEPS = ("cert", "polynomial", "verification")


def election_json(record: ElectionRecord) -> dict[str, object]:
    return {
        "id": record.id,
        "proposal_id": record.proposal_id,
        "uuid": record.uuid,
        "state": record.state,
        "voters": len(record.electorate),
        "threshold": record.threshold,
        "ceremony_step": record.ceremony_step,
        "credential_authority": record.credential_authority,
        "public_credentials": len(record.credentials),
        "trustees": [
            {
                "position": s.position,
                "member": s.member,
                "key": s.public_key is not None,
                **(
                    {step: getattr(s, step) is not None for step in STEPS}
                    if record.threshold
                    else {}
                ),
                "decrypted": s.decryption is not None,
            }
            for s in record.trustees
        ],
        "result": record.result,
    }


@api.route(
    admin, "/proposals/<int:proposal_id>/election", "POST",
    summary="Set up the secret vote of a proposal. Each voter's private credential is "
    "sent to them in a private message (Matrix direct room, fediverse direct Note); the "
    "ones that could not be sent (all of them with `deliver: false`) are returned once. "
    "None is stored",
    request_schema=SETUP,
    responses={201: ("the election and the credentials", OBJ), 404: NOT_FOUND,
               409: CONFLICT, 422: ("invalid", ERROR_REF)},
)  # fmt: skip
async def setup_election(proposal_id: int) -> tuple[Response, int]:
    body = request_body()
    threshold = body.get("threshold")
    authority = body.get("credential_authority", "server")
    if authority not in ("server", "external"):
        raise ApiError(422, "invalid_input", "credential_authority: server or external")
    service = election_service()
    record, credentials = await service.setup(
        proposal_id, [str(t) for t in body["trustees"]],
        threshold if isinstance(threshold, int) else None,
        external_credentials=authority == "external",
    )  # fmt: skip
    out: dict[str, object] = {}
    if authority == "external":  # what the authority needs: the uuid and who votes
        out["electorate"] = list(record.electorate)
    elif body.get("deliver", True):
        delivery, credentials = await service.deliver(record.id, credentials)
        out["delivered"] = list(delivery.delivered)
        out["undelivered"] = delivery.failed
    return jsonify({**election_json(record), **out, "credentials": credentials}), 201


@api.route(
    admin, "/elections/<int:election_id>", "GET", summary="An election's state",
    responses={200: ("the election", OBJ), 404: NOT_FOUND},
)  # fmt: skip
async def get_election_admin(election_id: int) -> Response:
    return jsonify(election_json(await election_service().get(election_id)))


@api.route(
    admin, "/elections/<int:election_id>/trustees/<int:position>/key", "POST",
    summary="A trustee's public key (the ID.pubkey file as the body); the last opens the box",
    text_file=True,
    responses={200: ("the election", OBJ), 404: NOT_FOUND, 409: CONFLICT,
               422: ("not a valid key", ERROR_REF)},
)  # fmt: skip
async def add_trustee_key(election_id: int, position: int) -> Response:
    text = await body_text()
    return jsonify(
        election_json(await election_service().add_trustee_key(election_id, position, text))
    )


@api.route(
    admin, "/elections/<int:election_id>/trustees/<int:position>/ceremony/<step>", "POST",
    summary="A threshold trustee's message for round `step` (cert, polynomial or "
    "verification: the output of `imago-fed trustee threshold STEP` as the body); "
    "the last verification opens the box",
    text_file=True,
    responses={200: ("the election", OBJ), 404: NOT_FOUND, 409: CONFLICT,
               422: ("the message does not check", ERROR_REF)},
)  # fmt: skip
async def add_ceremony_message(election_id: int, position: int, step: str) -> Response:
    if step not in STEPS:
        raise NotFound(f"no ceremony round {step!r} (rounds: {', '.join(STEPS)})")
    text = await body_text()
    record = await election_service().add_ceremony(election_id, position, step, text)
    return jsonify(election_json(record))


@api.route(
    admin, "/elections/<int:election_id>/credentials", "POST",
    summary="An external credential authority's public credentials (its .pubcreds JSON list "
    "as the body), one per voter; with the trustees' key also in, the box opens",
    text_file=True,
    responses={200: ("the election", OBJ), 404: NOT_FOUND, 409: CONFLICT,
               422: ("not one valid public credential per voter", ERROR_REF)},
)  # fmt: skip
async def set_public_credentials(election_id: int) -> Response:
    text = await body_text()
    return jsonify(election_json(await election_service().set_credentials(election_id, text)))


@api.route(
    admin, "/elections/<int:election_id>/close", "POST",
    summary="Close the ballot box and put the encrypted tally on the board",
    responses={200: ("the election", OBJ), 404: NOT_FOUND, 409: CONFLICT},
)  # fmt: skip
async def close_election(election_id: int) -> Response:
    return jsonify(election_json(await election_service().close(election_id)))


@api.route(
    admin, "/elections/<int:election_id>/trustees/<int:position>/decryption", "POST",
    summary="A trustee's partial decryption (the output of trustee decrypt as the body); "
    "the last one computes the result and concludes the proposal",
    text_file=True,
    responses={200: ("the election", OBJ), 404: NOT_FOUND, 409: CONFLICT,
               422: ("proofs do not verify", ERROR_REF)},
)  # fmt: skip
async def add_decryption(election_id: int, position: int) -> Response:
    text = await body_text()
    record = await election_service().add_decryption(election_id, position, text)
    return jsonify(election_json(record))
