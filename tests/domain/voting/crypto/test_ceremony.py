"""t-of-n trustee keys made round by round, every message crossing as JSON text."""

from __future__ import annotations

import json

import pytest

from imago_fed.domain.voting.crypto import (
    BELENIOS_2048,
    ED25519,
    PublicKey,
    TrusteeError,
    combine_factors,
    compute_result,
    encrypt,
    partial_decrypt,
)
from imago_fed.domain.voting.crypto.ceremony import (
    CeremonyTrustee,
    assemble,
    cert_fingerprint,
    check_cert,
    check_polynomial,
    check_verification,
    open_box,
    seal,
)
from imago_fed.domain.voting.crypto.groups import Group
from imago_fed.domain.voting.crypto.trustees import combine_keys, parse_trustees, trustees_json

UUID = "Hb4X9y1mFzLq7c"


@pytest.fixture(params=[BELENIOS_2048, ED25519], ids=lambda g: g.name)
def group(request: pytest.FixtureRequest) -> Group:
    return request.param


def wire(value):
    """What the server stores and serves: JSON text, parsed again on the other side."""
    return json.loads(json.dumps(value))


def run_rounds(group: Group, n: int, t: int):
    seeds = [CeremonyTrustee.create(group).trustee.seed for _ in range(n)]
    machines = [lambda s=s: CeremonyTrustee.from_seed(group, s) for s in seeds]  # fresh each round
    certs: list = []
    for machine in machines:
        cert = wire(machine().cert())
        check_cert(group, cert, certs)
        certs.append(cert)
    polys = []
    for i, machine in enumerate(machines, 1):
        poly = wire(machine().polynomial(UUID, certs, t))
        check_polynomial(group, certs, i, poly, t)
        polys.append(poly)
    verifications = []
    for j, machine in enumerate(machines, 1):
        message = wire(machine().verification(UUID, certs, polys, t))
        check_verification(group, polys, j, message)
        verifications.append(message)
    item = assemble(group, t, certs, polys, verifications)
    return machines, certs, polys, verifications, item


def test_two_of_three_made_on_separate_machines_decrypt_with_any_two(group: Group) -> None:
    machines, _certs, _polys, verifications, item = run_rounds(group, 3, 2)
    assert parse_trustees(group, trustees_json(group, [item])) == [item]
    key = PublicKey(group, combine_keys(group, [item]))
    cts = [[encrypt(key, m)[0] for m in (3, 0, 2)]]
    xs = {j: machines[j - 1]().private_key(UUID, j, verifications[j - 1]) for j in (1, 2, 3)}
    for chosen in [(1, 2), (2, 3), (1, 3)]:
        shares = {j: partial_decrypt(group, "phi", xs[j], cts) for j in chosen}
        for j, share in shares.items():
            assert share.verify(group, "phi", item.verification_keys[j - 1].public_key, cts) is None
        factors = combine_factors(group, [item], shares)
        assert compute_result(group, cts, factors, 5) == [[3, 0, 2]]


def test_a_forged_share_names_its_sender(group: Group) -> None:
    seeds = [CeremonyTrustee.create(group) for _ in range(3)]
    certs = [wire(s.cert()) for s in seeds]
    polys = [wire(s.polynomial(UUID, certs, 2)) for s in seeds]
    # trustee 2 seals a wrong share for trustee 3 (right recipient, right context)
    ek3 = json.loads(certs[2]["message"])["encryption"]
    polys[1]["shares"][2] = seal(group, group.decode(ek3), b"12345", f"{UUID}|share|2|3")
    with pytest.raises(TrusteeError, match="share from trustee 2 does not match"):
        seeds[2].verification(UUID, certs, polys, 2)
    # a box moved from another slot does not open: the context binds it
    polys[1]["shares"][2] = polys[1]["shares"][1]
    with pytest.raises(TrusteeError, match="does not open"):
        seeds[2].verification(UUID, certs, polys, 2)


def test_the_server_refuses_what_does_not_check(group: Group) -> None:
    a, b = CeremonyTrustee.create(group), CeremonyTrustee.create(group)
    cert_a, cert_b = wire(a.cert()), wire(b.cert())
    with pytest.raises(TrusteeError, match="already has these keys"):
        check_cert(group, cert_a, [cert_a])
    forged = {**cert_b, "message": cert_a["message"]}
    with pytest.raises(TrusteeError, match="signature"):
        check_cert(group, forged, [])
    certs = [cert_a, cert_b]
    poly_a = wire(a.polynomial(UUID, certs, 2))
    with pytest.raises(TrusteeError, match="signature"):
        check_polynomial(group, certs, 2, poly_a, 2)  # a's coefexps offered as b's
    with pytest.raises(TrusteeError, match="expected 1 coefficients"):
        check_polynomial(group, certs, 1, poly_a, 1)
    poly_b = wire(b.polynomial(UUID, certs, 2))
    message = wire(a.verification(UUID, certs, [poly_a, poly_b], 2))
    with pytest.raises(TrusteeError, match="does not match"):
        check_verification(group, [poly_a, poly_b], 2, message)  # a's key offered as b's
    assert cert_fingerprint(cert_a) != cert_fingerprint(cert_b)
    stranger = CeremonyTrustee.create(group)
    with pytest.raises(TrusteeError, match="not among the trustees"):
        stranger.polynomial(UUID, certs, 2)


def test_a_box_opens_only_for_its_recipient_and_context(group: Group) -> None:
    dk = group.random_scalar()
    box = wire(seal(group, group.g_pow(dk), b"secret", "ctx"))
    assert open_box(group, dk, box, "ctx") == b"secret"
    with pytest.raises(TrusteeError):
        open_box(group, dk + 1, box, "ctx")
    with pytest.raises(TrusteeError):
        open_box(group, dk, box, "other")
    with pytest.raises(TrusteeError, match="malformed"):
        open_box(group, dk, {"alpha": "x"}, "ctx")
