"""Public election routes: what voters, trustees and auditors reach without a token.

    GET  /elections/<id>           parameters (the election JSON), state, result
    POST /elections/<id>/ballots   a Belenios ballot, JSON as ``create_ballot``
                                   writes it (canonical form: the bytes are
                                   hashed for the tracker, so they are read raw)
    GET  /elections/<id>/archive   the board: a belenios-tool 2.0 archive
    GET  /elections/<id>/ceremony  a t-of-n key's rounds so far (certs,
                                   signed coefexps, sealed shares, X_j): what
                                   ``imago-fed trustee threshold`` reads
    GET  /elections/<id>/ballots   the accepted ballots' trackers (JSON), each
                                   counted or replaced; ``?tracker=`` looks one up
    GET  /elections/<id>/trackers  the same as an HTML page for voters: state,
                                   result, a lookup form, the archive link
    GET  /elections/<id>/booth     the voting booth (web/pages/booth.py)

Ballots carry no identity, only a credential signature: that is what makes
the box public. A refused ballot gets 422 naming the check that failed.

The tracker lookup answers "found, counted", "replaced by a later ballot"
(the voter, or someone holding their credential, cast again: only the last
ballot per credential counts) or "not found". These routes are public and
outside ``/api/v1``, so they are not in the admin API's OpenAPI document.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote

from quart import Blueprint, Response, jsonify, request

from imago_fed.domain.voting.crypto import Election
from imago_fed.domain.voting.elections import BoardEntry, ElectionRecord, tracker_status
from imago_fed.services.elections import Elections
from imago_fed.web.body import text_document
from imago_fed.web.runtime import runtime

__all__ = ["body_text", "election_service", "elections"]

elections = Blueprint("elections", __name__, url_prefix="/elections")
MAX_BALLOT_BYTES = 1_000_000


async def body_text() -> str:
    """The request body as text (the files trustees and voters send are JSON text),
    through the one door for bodies (``web/body.py``)."""
    return await text_document()


def election_service() -> Elections:
    """The running app's elections service (Runtime.elections)."""
    return runtime().elections


@elections.get("/<int:election_id>")
async def get_election(election_id: int) -> Response:
    return jsonify(await election_service().describe(election_id))


@elections.post("/<int:election_id>/ballots")
async def cast_ballot(election_id: int) -> tuple[Response, int]:
    raw = (await body_text())[:MAX_BALLOT_BYTES]
    tracker = await election_service().cast(election_id, raw.strip())
    return jsonify({"tracker": tracker}), 201


@elections.post("/<int:election_id>/audits")
async def audit_ballot(election_id: int) -> tuple[Response, int]:
    """The booth's Benaloh challenge: this ballot is about to be opened, never cast it."""
    raw = (await body_text())[:MAX_BALLOT_BYTES]
    tracker = await election_service().audit(election_id, raw.strip())
    return jsonify({"tracker": tracker, "audited": True}), 201


@elections.get("/<int:election_id>/ceremony")
async def get_ceremony(election_id: int) -> Response:
    return jsonify(await election_service().ceremony(election_id))


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


# ------------------------------------------------------------ trackers
STATES = {
    "keys": "waiting for the trustees' keys; the ballot box is not open yet",
    "open": "ballots are accepted; a new ballot replaces the voter's earlier one",
    "tallied": "the box is closed, the encrypted tally is on the board, the trustees "
    "are decrypting it",
    "done": "the result is decrypted and the whole board verified",
}
LOOKUP = {
    "counted": "found, counted",
    "replaced": "replaced by a later ballot",
    "not_found": "not found",
}
MAX_TRACKER_CHARS = 200


async def _board(election_id: int) -> tuple[ElectionRecord, list[BoardEntry]]:
    return await election_service().board(election_id)


def _wanted_tracker() -> str | None:
    value = request.args.get("tracker")
    return value[:MAX_TRACKER_CHARS] if value is not None and value.strip() else None


@elections.get("/<int:election_id>/ballots")
async def list_ballots(election_id: int) -> Response:
    record, entries = await _board(election_id)
    body: dict[str, Any] = {
        "election": record.id,
        "state": record.state,
        "counted": sum(e.counted for e in entries),
        "ballots": [{"tracker": e.tracker, "counted": e.counted} for e in entries],
    }
    wanted = _wanted_tracker()
    if wanted is not None:
        body["lookup"] = {"tracker": wanted, "status": tracker_status(entries, wanted)}
    return jsonify(body)


@elections.get("/<int:election_id>/trackers")
async def tracker_page(election_id: int) -> Response:
    record, entries = await _board(election_id)
    proposal = await runtime().governance.get(record.proposal_id)
    e = html.escape
    base = f"/elections/{record.id}"
    parts = [
        "<!doctype html><html lang=en><meta charset=utf-8>",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Ballot box: {e(proposal.title)}</title>",
        f"<h1>Ballot box: {e(proposal.title)}</h1>",
        f"<p>Election {record.id} (uuid <code>{e(record.uuid)}</code>), secret vote on "
        f"proposal {record.proposal_id}.</p>",
        f"<p>State: <strong>{e(record.state)}</strong> ({e(STATES.get(record.state, ''))}).</p>",
    ]
    if record.state == "open" and record.election is not None:
        parts.append(f'<p><a href="{e(base)}/booth">Vote in the voting booth</a></p>')
    if record.election is not None:
        parts.append(
            f'<p><a href="{e(base)}/archive" download>Download the board</a> (a Belenios '
            "archive: <code>imago-fed election verify</code> or <code>belenios-tool election "
            f'verify</code> audit it) · <a href="{e(base)}/ballots">these trackers as JSON</a></p>'
        )
    parts += _result_html(record, proposal.state, proposal.result)
    parts.append(
        "<h2>Is my ballot on the board?</h2>"
        '<form method="get"><label>Tracker (printed when you voted) '
        '<input name="tracker" size="48" autocomplete="off"></label> '
        "<button>Look up</button></form>"
    )
    wanted = _wanted_tracker()
    if wanted is not None:
        status = tracker_status(entries, wanted)
        parts.append(
            f'<p id="lookup" class="{e(status)}">Tracker <code>{e(wanted)}</code>: '
            f"<strong>{e(LOOKUP[status])}</strong>.</p>"
        )
    counted = sum(entry.counted for entry in entries)
    parts.append(
        f"<h2>Accepted ballots</h2><p>{len(entries)} accepted, {counted} counted "
        "(only the last ballot of each credential counts).</p>"
    )
    if entries:
        rows = "".join(
            f'<tr><td>{i}</td><td><a href="?tracker={quote(entry.tracker, safe="")}">'
            f"<code>{e(entry.tracker)}</code></a></td>"
            f"<td>{'counted' if entry.counted else 'replaced by a later ballot'}</td></tr>"
            for i, entry in enumerate(entries, 1)
        )
        parts.append(
            "<table><thead><tr><th>#</th><th>tracker</th><th>status</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )
    return Response("".join(parts), content_type="text/html; charset=utf-8")


def _result_html(record: ElectionRecord, state: str, outcome: Any) -> list[str]:
    if record.result is None or record.election is None:
        return []
    e = html.escape
    parts = ["<h2>Result</h2>"]
    tally = dict(outcome or {}).get("tally") or {}
    verdict = dict(outcome or {}).get("verdict")
    if verdict:
        line = f"<p>The proposal is <strong>{e(state)}</strong> ({e(str(verdict))})"
        if tally.get("winner") is not None:
            line += f"; winner: <strong>{e(str(tally['winner']))}</strong>"
        elif tally.get("reason"):
            line += f"; {e(str(tally['reason']))}"
        parts.append(line + ".</p>")
    questions = Election.parse(record.election).questions
    for question, row in zip(questions, record.result, strict=False):
        answers = list(question.answers)
        if len(row) == len(answers) + 1:  # a leading blank count
            answers = ["blank", *answers]
        items = "".join(
            f"<li>{e(answer)}: {int(count)}</li>"
            for answer, count in zip(answers, row, strict=False)
        )
        parts.append(f"<h3>{e(question.question)}</h3><ul>{items}</ul>")
    return parts
