"""Public election routes: what voters, trustees and auditors reach without a token.

    GET  /elections/<id>           parameters (the election JSON), state, result
    POST /elections/<id>/ballots   a Belenios ballot, JSON as ``create_ballot``
                                   writes it (canonical form: the bytes are
                                   hashed for the tracker, so they are read raw)
    GET  /elections/<id>/archive   the board: a belenios-tool 2.0 archive

Ballots carry no identity, only a credential signature: that is what makes
the box public. A refused ballot gets 422 naming the check that failed.
"""

from __future__ import annotations

from quart import Blueprint, Response, jsonify, request

from imago_fed.elections import Elections
from imago_fed.store.elections import PgElectionStore
from imago_fed.web.runtime import runtime

__all__ = ["election_service", "elections"]

elections = Blueprint("elections", __name__, url_prefix="/elections")
MAX_BALLOT_BYTES = 1_000_000


def election_service() -> Elections:
    """Stateless over the pool: built per request from the running app's services."""
    rt = runtime()
    return Elections(PgElectionStore(rt.pool), rt.governance, rt.clock)


@elections.get("/<int:election_id>")
async def get_election(election_id: int) -> Response:
    return jsonify(await election_service().describe(election_id))


@elections.post("/<int:election_id>/ballots")
async def cast_ballot(election_id: int) -> tuple[Response, int]:
    raw = (await request.get_data(as_text=True))[:MAX_BALLOT_BYTES]
    tracker = await election_service().cast(election_id, raw.strip())
    return jsonify({"tracker": tracker}), 201


@elections.get("/<int:election_id>/archive")
async def get_archive(election_id: int) -> Response:
    service = election_service()
    record = await service.get(election_id)
    body = await service.archive(election_id)
    return Response(
        body,
        content_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{record.uuid}.bel"'},
    )
