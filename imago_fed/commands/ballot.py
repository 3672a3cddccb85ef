"""``imago-fed ballot``: vote in a secret election from the voter's own machine.

    GET  <election URL>            the election parameters (public)
    encrypt here                   create_ballot with the private credential,
                                   read from a local file: it never leaves
    POST <election URL>/ballots    prints the tracker, to look up on the board

``--choices`` is the ballot as for an open vote, a JSON array of integers:

    majority_judgment   one grade 1..5 per option            [1, 3, 2]
    approval            the approved option indexes, from 0  [0, 2]
    plurality, yes/no   one option index, from 0             [1]
    schulze             one rank per option: 1 = first,      [1, 3, 2]
                        equal ranks tie, 0 = unranked        [2, 1, 0]

For Schulze, ``[2, 1, 0]`` puts option 1 first, option 0 second and leaves
option 2 out (below both); this client turns the ranks into one preference
per pair of options, so its ballot is always a consistent ranking. A wrong
shape (a rank per option missing, a rank above the number of options) is
refused before anything is encrypted. No configuration is read.

``imago-fed ballot-audit`` re-checks, on a machine other than the voter's
device, a ballot the browser booth audited (Benaloh's challenge).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import httpx

from imago_fed.domain.errors import InvalidInput
from imago_fed.domain.voting.crypto import Election, FormatError, PublicKey, create_ballot
from imago_fed.domain.voting.crypto.audit import check_opening
from imago_fed.domain.voting.elections import choices_for

__all__ = ["ballot", "ballot_audit", "encrypt_ballot"]


def encrypt_ballot(params: dict[str, Any], credential: str, choices: Sequence[int]) -> str:
    """The ballot JSON for ``params`` (what ``GET /elections/<id>`` returns)."""
    if params.get("state") != "open" or not params.get("election"):
        raise ValueError(f"the ballot box is not open (state {params.get('state')})")
    election = Election.parse(params["election"])
    plaintexts = choices_for(params["method"], params["options"], list(choices))
    key = PublicKey(election.group, election.public_key)
    return create_ballot(election, key, credential.strip(), plaintexts)


@click.command("ballot")
@click.option("--election", "url", required=True, help="https://host/elections/<id>")
@click.option(
    "--credential", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True
)
@click.option(
    "--choices",
    required=True,
    help="JSON array: MJ grades or Schulze ranks per option (e.g. [1, 3, 2]), "
    "approved indexes, or one index",
)
def ballot(url: str, credential: Path, choices: str) -> None:
    """Encrypt a ballot locally and cast it; print its tracker."""
    try:
        wanted = json.loads(choices)
        if not isinstance(wanted, list) or not all(
            isinstance(c, int) and not isinstance(c, bool) for c in wanted
        ):
            raise ValueError("a JSON array of integers")
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--choices") from exc
    url = url.rstrip("/")
    with httpx.Client(timeout=60, follow_redirects=True) as client:
        fetched = client.get(url)
        if fetched.status_code != 200:
            raise click.ClickException(f"{url}: HTTP {fetched.status_code}")
        try:
            raw = encrypt_ballot(fetched.json(), credential.read_text(), wanted)
        except (ValueError, FormatError, InvalidInput) as exc:
            raise click.ClickException(str(exc)) from exc
        sent = client.post(
            url + "/ballots", content=raw, headers={"Content-Type": "application/json"}
        )
    if sent.status_code != 201:
        raise click.ClickException(f"ballot refused: HTTP {sent.status_code} {sent.text[:300]}")
    click.echo(f"ballot cast; tracker {sent.json()['tracker']}")


@click.command("ballot-audit")
@click.option("--election", "url", required=True, help="https://host/elections/<id>")
@click.argument("record", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def ballot_audit(url: str, record: Path) -> None:
    """Re-check a ballot the voting booth audited, on another machine.

    RECORD is what the booth shows after an audit (the ballot and its
    opening, as JSON). Each ciphertext must be (g^r, y^r g^m) for the revealed
    r and m under the election's key: if so, the booth encrypted what it showed.
    """
    try:
        value = json.loads(record.read_text())
        raw = json.dumps(value["ballot"], separators=(",", ":"), ensure_ascii=False)
        opening = value["opening"]
    except (ValueError, KeyError, TypeError) as exc:
        raise click.ClickException(f"{record}: not an audit record ({exc})") from exc
    with httpx.Client(timeout=60, follow_redirects=True) as client:
        fetched = client.get(url.rstrip("/"))
    if fetched.status_code != 200 or not fetched.json().get("election"):
        raise click.ClickException(f"{url}: no election parameters (HTTP {fetched.status_code})")
    election = Election.parse(fetched.json()["election"])
    if json.loads(raw).get("election_hash") != election.fingerprint:
        raise click.ClickException("this ballot was made for another election")
    try:
        problems = check_opening(election, raw, opening)
    except FormatError as exc:
        raise click.ClickException(str(exc)) from exc
    if problems:
        raise click.ClickException("the opening does not match: " + "; ".join(problems))
    shown = opening["plaintexts"]
    click.echo(f"audit checks: every ciphertext encrypts the revealed choices {shown}")
