"""Ballots: made, checked, and refused with the failing check named."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from imago_fed.domain.voting.crypto import (
    BELENIOS_2048,
    ED25519,
    BallotChecker,
    BallotRejected,
    Election,
    FormatError,
    PublicCredentials,
    PublicKey,
    Question,
    create_ballot,
    credential_is_valid,
    derive_secret,
    generate_credential,
    public_credential,
)
from imago_fed.domain.voting.crypto.encoding import compact, sha256_b64
from imago_fed.domain.voting.crypto.groups import Group
from imago_fed.domain.voting.crypto.proofs import proof_json, schnorr_prove

UUID = "Ba7test8uuid9xyz"
QUESTIONS = (
    Question("Pick one or none", ("a", "b"), 0, 1),
    Question("Pick one, or blank", ("x", "y", "z"), 1, 1, True),
    Question("Pick two or three", ("p", "q", "r", "s"), 2, 3),
)
VOTE = [[0, 1], [0, 0, 0, 1], [1, 1, 0, 1]]


class Setting:
    def __init__(self, group: Group) -> None:
        self.group = group
        x = group.random_scalar()
        self.key = PublicKey(group, group.g_pow(x))
        self.election = Election.build(
            uuid=UUID,
            name="n",
            description="d",
            group=group,
            public_key=self.key.y,
            questions=QUESTIONS,
        )
        self.credential = generate_credential()
        public = group.encode(public_credential(group, UUID, self.credential))
        self.checker = BallotChecker(self.election, self.key, PublicCredentials(group, [public]))

    def ballot(self, vote: list[list[int]] = VOTE) -> str:
        return create_ballot(self.election, self.key, self.credential, vote)

    def resign(self, raw: str, change: Callable[[dict], None]) -> str:
        ballot = json.loads(raw)
        change(ballot)
        del ballot["signature"]
        signed = sha256_b64(compact(ballot))
        secret = derive_secret(self.group, UUID, self.credential)
        proof = schnorr_prove(self.group, secret, f"sig|{signed}|")
        ballot["signature"] = {"hash": signed, "proof": proof_json(proof)}
        return compact(ballot)


@pytest.fixture(scope="module", params=[BELENIOS_2048, ED25519], ids=lambda g: g.name)
def setting(request: pytest.FixtureRequest) -> Setting:
    return Setting(request.param)


def test_credentials_have_a_checksum() -> None:
    c = generate_credential()
    assert credential_is_valid(c) and credential_is_valid(c.replace("-", ""))
    raw = c.replace("-", "")
    typo = raw[:3] + ("2" if raw[3] != "2" else "3") + raw[4:]
    assert not credential_is_valid(typo)
    with pytest.raises(FormatError):
        derive_secret(BELENIOS_2048, UUID, typo)


@pytest.mark.parametrize(
    "vote",
    [
        [[0, 0], [1, 0, 0, 0], [0, 0, 1, 1]],  # blank second question, minimum elsewhere
        [[1, 0], [0, 1, 0, 0], [1, 1, 1, 0]],
    ],
)
def test_valid_ballots_check(setting: Setting, vote: list[list[int]]) -> None:
    raw = setting.ballot(vote)
    checked = setting.checker.check(raw)
    assert checked.weight == 1 and checked.tracker == sha256_b64(raw)
    assert [len(row) for row in checked.ciphertexts] == [2, 4, 4]


@pytest.mark.parametrize(
    "vote",
    [
        [[1, 1], [0, 1, 0, 0], [1, 1, 0, 0]],  # two in a max-1 question
        [[0, 0], [0, 0, 0, 0], [1, 1, 0, 0]],  # neither blank nor a choice
        [[0, 0], [1, 1, 0, 0], [1, 1, 0, 0]],  # blank and a choice
        [[0, 0], [0, 1, 0, 0], [1, 0, 0, 0]],  # one in a min-2 question
        [[0, 2], [0, 1, 0, 0], [1, 1, 0, 0]],  # not 0/1
        [[0, 0], [0, 1, 0], [1, 1, 0, 0]],  # wrong width
    ],
)
def test_invalid_choices_are_refused_before_encrypting(setting: Setting, vote) -> None:
    with pytest.raises(FormatError):
        setting.ballot(vote)


def _bump(p: dict[str, str]) -> None:
    p["response"] = str((int(p["response"]) + 1) % BELENIOS_2048.q)


def _elt(setting: Setting, ballot: dict, q: int, j: int, part: str) -> None:
    g = setting.group
    x = g.decode(ballot["answers"][q]["choices"][j][part])
    ballot["answers"][q]["choices"][j][part] = g.encode(g.mul(x, g.g))


CHANGES: dict[str, tuple[Callable[[Setting, dict], None], str]] = {
    "individual challenge": (
        lambda s, b: _bump(b["answers"][0]["individual_proofs"][0][0]),
        "ballot.individual_proof",
    ),
    "alpha": (lambda s, b: _elt(s, b, 2, 1, "alpha"), "ballot.individual_proof"),
    "beta": (lambda s, b: _elt(s, b, 0, 0, "beta"), "ballot.individual_proof"),
    "overall": (lambda s, b: _bump(b["answers"][2]["overall_proof"][0]), "ballot.overall_proof"),
    "blank overall": (
        lambda s, b: _bump(b["answers"][1]["overall_proof"][1]),
        "ballot.overall_proof",
    ),
    "blank proof": (lambda s, b: _bump(b["answers"][1]["blank_proof"][1]), "ballot.blank_proof"),
    "dropped blank proof": (lambda s, b: b["answers"][1].pop("blank_proof"), "ballot.format"),
    "uuid": (lambda s, b: b.update(election_uuid="Another7uuid8here9"), "ballot.election"),
    "election hash": (lambda s, b: b.update(election_hash="x" * 43), "ballot.election"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_changed_resigned_ballot_names_the_failing_check(setting: Setting, change: str) -> None:
    edit, check = CHANGES[change]
    raw = setting.resign(setting.ballot(), lambda b: edit(setting, b))
    with pytest.raises(BallotRejected) as caught:
        setting.checker.check(raw)
    assert caught.value.check == check


def test_signature_and_format_checks(setting: Setting) -> None:
    raw = setting.ballot()
    ballot = json.loads(raw)
    ballot["signature"]["proof"]["challenge"] = str(
        (int(ballot["signature"]["proof"]["challenge"]) + 1) % setting.group.q
    )
    cases = {
        "ballot.signature": compact(ballot),
        "ballot.format": raw.replace('","', '", "', 1),  # not compact any more
    }
    unsigned = json.loads(raw)
    unsigned["answers"][0]["overall_proof"][0]["challenge"] = "0"
    cases["ballot.signature "] = compact(unsigned)  # proof changed, old signature
    for check, text in cases.items():
        with pytest.raises(BallotRejected) as caught:
            setting.checker.check(text)
        assert caught.value.check == check.strip()


def test_unknown_credentials_are_refused(setting: Setting) -> None:
    stranger = Setting.__new__(Setting)
    stranger.__dict__.update(setting.__dict__, credential=generate_credential())
    with pytest.raises(BallotRejected) as caught:
        setting.checker.check(stranger.ballot())
    assert caught.value.check == "ballot.credential"


def test_non_members_are_refused(setting: Setting) -> None:
    g = setting.group

    def swap(b: dict) -> None:
        if g is BELENIOS_2048:
            b["answers"][0]["choices"][1]["alpha"] = str(g.p - 1)
        else:  # a point of order 8
            b["answers"][0]["choices"][1]["alpha"] = (
                "05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826"
            )

    raw = setting.resign(setting.ballot(), swap)
    with pytest.raises(BallotRejected) as caught:
        setting.checker.check(raw)
    assert caught.value.check == "ballot.membership"
