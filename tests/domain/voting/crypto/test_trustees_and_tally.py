"""Trustee keys, t-of-n decryption (exactly t works, t - 1 does not), tally, boards."""

from __future__ import annotations

import itertools
import json

import pytest

from imago_fed.domain.voting.crypto import (
    BELENIOS_2048,
    ED25519,
    NotEnoughShares,
    PartialDecryption,
    PublicKey,
    Question,
    SingleTrustee,
    TrusteeError,
    combine_factors,
    compute_result,
    encrypt,
    generate_single,
    partial_decrypt,
    pedersen_ceremony,
    run_election,
    verify_archive_bytes,
)
from imago_fed.domain.voting.crypto.groups import Group
from imago_fed.domain.voting.crypto.trustees import (
    PedersenTrustees,
    check_trustees,
    combine_keys,
    lagrange,
    parse_trustees,
    trustees_json,
)
from tests.domain.voting.crypto.rewrite import only, rewrite


@pytest.fixture(params=[BELENIOS_2048, ED25519], ids=lambda g: g.name)
def group(request: pytest.FixtureRequest) -> Group:
    return request.param


def test_lagrange_recovers_the_constant_term() -> None:
    q = 101
    coefs = [42, 7, 13]  # f(x) = 42 + 7x + 13x^2: any 3 points give f(0)
    points = {x: sum(c * x**k for k, c in enumerate(coefs)) % q for x in range(1, 6)}
    for subset in itertools.combinations(points, 3):
        assert sum(lagrange(q, subset, d) * points[d] for d in subset) % q == 42


def test_single_trustee_keys_prove_knowledge(group: Group) -> None:
    x, key = generate_single(group)
    assert key.public_key == group.g_pow(x) and key.check(group)
    forged = type(key)(group.mul(key.public_key, group.g), key.pok)
    with pytest.raises(TrusteeError) as caught:
        check_trustees(group, [SingleTrustee(forged)])
    assert caught.value.check == "trustees.pok"


def _ceremony(group: Group, t: int, n: int):
    x, server = generate_single(group)
    item, shares = pedersen_ceremony(group, n, t)
    kinds = [SingleTrustee(server), item]
    return kinds, x, shares


def test_threshold_exactly_t_decrypts_and_t_minus_one_does_not(group: Group) -> None:
    t, n = 3, 5
    kinds, server_x, shares = _ceremony(group, t, n)
    assert parse_trustees(group, trustees_json(group, kinds)) == kinds
    check_trustees(group, kinds)
    key = PublicKey(group, combine_keys(group, kinds))
    row = [encrypt(key, m)[0] for m in (0, 1, 4)]
    cts = [row]
    phi = "fingerprint"
    server = partial_decrypt(group, phi, server_x, cts)
    for chosen in [(1, 2, 3), (2, 4, 5), (1, 3, 5)]:
        pds = {1: server} | {1 + d: partial_decrypt(group, phi, shares[d - 1], cts) for d in chosen}
        for owner, pd in pds.items():
            public = group.g_pow(server_x if owner == 1 else shares[owner - 2])
            assert pd.verify(group, phi, public, cts) is None
        factors = combine_factors(group, kinds, pds)
        assert compute_result(group, cts, factors, 10) == [[0, 1, 4]]
    too_few = {1: server} | {1 + d: partial_decrypt(group, phi, shares[d - 1], cts) for d in (2, 5)}
    with pytest.raises(NotEnoughShares, match="2 of the 3 partial decryptions"):
        combine_factors(group, kinds, too_few)
    without_server = {1 + d: partial_decrypt(group, phi, shares[d - 1], cts) for d in (1, 2, 3)}
    with pytest.raises(TrusteeError, match="single trustee"):
        combine_factors(group, kinds, without_server)


def test_pedersen_checks_name_what_is_wrong(group: Group) -> None:
    kinds, _, _ = _ceremony(group, 2, 3)
    item: PedersenTrustees = kinds[1]
    keys = list(item.verification_keys)
    keys[0], keys[1] = keys[1], keys[0]
    cases = {
        "trustees.verification_key": PedersenTrustees(
            item.threshold, item.certs, item.coefexps, tuple(keys)
        ),
        "trustees.coefexps": PedersenTrustees(
            item.threshold,
            item.certs,
            (item.coefexps[1], *item.coefexps[1:]),
            item.verification_keys,
        ),
        "trustees.threshold": PedersenTrustees(
            4, item.certs, item.coefexps, item.verification_keys
        ),
    }
    signed = dict(item.certs[0], message=item.certs[1]["message"])
    cases["trustees.certificate"] = PedersenTrustees(
        item.threshold, (signed, *item.certs[1:]), item.coefexps, item.verification_keys
    )
    for check, broken in cases.items():
        with pytest.raises(TrusteeError) as caught:
            check_trustees(group, [kinds[0], broken])
        assert caught.value.check == check


def test_a_forged_share_proof_is_caught(group: Group) -> None:
    x, _ = generate_single(group)
    key = PublicKey(group, group.g_pow(x))
    cts = [[encrypt(key, 1)[0]]]
    pd = partial_decrypt(group, "phi", x, cts)
    forged = PartialDecryption(((group.mul(pd.factors[0][0], group.g),),), pd.proofs)
    assert forged.verify(group, "phi", key.y, cts) == "question 1, answer 1"
    assert pd.verify(group, "other phi", key.y, cts) == "question 1, answer 1"


QUESTIONS = [Question("Q?", ("yes", "no"), 0, 1), Question("B?", ("a", "b", "c"), 1, 2, True)]
VOTES = [
    [[1, 0], [0, 1, 1, 0]],
    [[0, 1], [1, 0, 0, 0]],
    [[0, 0], [0, 0, 1, 1]],
    [[1, 0], [0, 1, 0, 0]],  # the first voter's revote
]


def test_an_end_to_end_election_with_weights_and_a_revote(group: Group) -> None:
    run = run_election(
        group,
        QUESTIONS,
        VOTES,
        uuid="Endto7end8test9run",
        threshold=(2, 3),
        decrypting=[1, 3],
        voters=[0, 1, 2, 0],
        weights=[5, 1, 2],
        timestamp=1700000000,
    )
    # counted: voter 0's second ballot (weight 5), voter 1 (1), voter 2 (2)
    assert run.result == [[5, 1], [1, 5, 2, 2]]
    report = verify_archive_bytes(run.archive)
    assert report.ok, report.failures
    assert (report.ballots, report.counted, report.total_weight) == (4, 3, 8)
    assert report.result == run.result


def test_boards_refuse_structural_forgeries() -> None:
    run = run_election(BELENIOS_2048, QUESTIONS, VOTES[:2], uuid="Struct7ure8test9")
    data = run.archive

    def dup_credential(body: str) -> str:
        values = json.loads(body)
        return json.dumps(values + values[:1], separators=(",", ":"))

    def counts(body: str) -> str:
        value = json.loads(body)
        value["num_tallied"] += 1
        return json.dumps(value, separators=(",", ":"))

    def outsider(body: str) -> str:
        values = json.loads(body)
        return json.dumps([str(BELENIOS_2048.p - 1), *values[1:]], separators=(",", ":"))

    cases = {
        "setup.credentials": only("credentials", 0, dup_credential),
        "setup.credentials ": only("credentials", 0, outsider),
        "tally.counts": only("sized", 0, counts),
        "decryption.owner": only("owner", 0, lambda b: b.replace('"owner":1', '"owner":9')),
    }
    for check, edit in cases.items():
        report = verify_archive_bytes(rewrite(data, edit))
        assert report.failures[0].name == check.strip(), report.failures
    # a chain that skips an event
    from imago_fed.domain.voting.crypto.archive import parse_archive

    archive = parse_archive(data)
    members = archive.members
    dropped = next(i for i, m in enumerate(members) if m.name.endswith(".event.json") and i > 6)
    from imago_fed.domain.voting.crypto.archive import _tar_member

    broken = b"".join(
        _tar_member(m.name, m.body, archive.timestamp)
        for i, m in enumerate(members)
        if i != dropped
    )
    assert verify_archive_bytes(broken).failures[0].name == "archive.chain"
