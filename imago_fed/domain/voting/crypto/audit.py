"""Benaloh's challenge: checking a ballot the voter chose to audit instead of cast.

A voting device could encrypt something other than what the voter picked.
Before casting, the voter may ask the device to open the encrypted ballot:
reveal, per ciphertext, the randomness r and the plaintext m. Anyone can then
recompute (g^r, y^r g^m) and compare it with the ballot; a device that cheats
is caught with good probability each time it is audited, without knowing in
advance which ballots will be. The opened ballot shows the vote, so it is
spoilt: the device makes a fresh one (new randomness) for casting.

    opening = {"plaintexts": [[m…] per question], "randomness": [["r"…] …]}

This is the independent re-check of what the browser booth shows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from imago_fed.domain.voting.crypto.ballots import validate_choices
from imago_fed.domain.voting.crypto.election import Election
from imago_fed.domain.voting.crypto.elgamal import PublicKey, encrypt
from imago_fed.domain.voting.crypto.encoding import FormatError

__all__ = ["check_opening"]


def check_opening(election: Election, raw: str, opening: dict[str, Any]) -> list[str]:
    """Where the revealed randomness and plaintexts do not give the ballot (empty: they do).

    Also refuses plaintexts that are not a valid choice for their question,
    so an opening cannot "explain" a ballot with an impossible vote.
    """
    key = PublicKey(election.group, election.public_key)
    group = election.group
    try:
        answers = json.loads(raw)["answers"]
        plaintexts: Sequence[Sequence[int]] = opening["plaintexts"]
        randomness: Sequence[Sequence[str]] = opening["randomness"]
        shapes = [len(a["choices"]) for a in answers]
    except (ValueError, KeyError, TypeError) as exc:
        raise FormatError(f"not a ballot and its opening: {exc}") from exc
    if (
        len(answers) != len(election.questions)
        or [len(m) for m in plaintexts] != shapes
        or [len(r) for r in randomness] != shapes
    ):
        return ["the opening does not have one value per ciphertext"]
    problems = []
    for i, (question, answer, ms, rs) in enumerate(
        zip(election.questions, answers, plaintexts, randomness, strict=True), 1
    ):
        try:
            validate_choices(question, list(ms))
        except FormatError as exc:
            problems.append(f"question {i}: {exc}")
        for j, (choice, m, r) in enumerate(zip(answer["choices"], ms, rs, strict=True), 1):
            expected, _ = encrypt(key, int(m), int(r) % group.q)
            alpha, beta = group.encode(expected.alpha), group.encode(expected.beta)
            if (alpha, beta) != (choice["alpha"], choice["beta"]):
                problems.append(f"question {i}, answer {j}: not (g^r, y^r g^m)")
    return problems
