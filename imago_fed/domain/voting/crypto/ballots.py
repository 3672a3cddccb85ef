"""Ballots (spec 4.11-4.15): encrypted answers, their proofs, a signature.

    {"election_uuid","election_hash":phi,"credential":"<g^s>",
     "answers":[{"choices":[{"alpha","beta"}…],
                 "individual_proofs":[[π0,π1]…],    one 0/1 proof per choice
                 "overall_proof":[π…],               sum in min..max
                 "blank_proof"?:[π0,πΣ]}…],          only if blank is allowed
     "signature":{"hash":b64(sha256(ballot without signature)),
                  "proof":Schnorr under s, hashed as sig|hash|A}}

Making one (``create_ballot``) needs the private credential and the choices
(per question one 0/1 per answer, with a leading blank flag when blank votes
are allowed: ``[1,0,0]`` is blank, ``[0,0,1]`` picks the second answer).

Checking one (``BallotChecker.check``) is what a server does on receipt and
an auditor for every ballot in an archive, in this order, stopping at the
first failure and naming it (:class:`BallotRejected` ``.check``):

    ballot.format        JSON of the right shape, canonical (re-serialised
                         byte for byte: belenios-tool refuses anything else)
    ballot.election      uuid and phi are this election's
    ballot.credential    the credential is in the published list
    ballot.signature     hash over the ballot, Schnorr proof under the credential
    ballot.membership    every alpha and beta is in the group (x^q = 1)
    ballot.individual_proof, ballot.overall_proof, ballot.blank_proof
"""

from __future__ import annotations

import gc
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from imago_fed.domain.voting.crypto.credentials import PublicCredentials, derive_secret
from imago_fed.domain.voting.crypto.election import Election, Question
from imago_fed.domain.voting.crypto.elgamal import Ciphertext, PublicKey, combine, encrypt
from imago_fed.domain.voting.crypto.encoding import (
    FormatError,
    canonical_number,
    compact,
    sha256_b64,
)
from imago_fed.domain.voting.crypto.groups import InvalidElement, Prepared, both_members
from imago_fed.domain.voting.crypto.proofs import (
    Clause,
    Proof,
    Witness,
    parse_proof,
    proof_json,
    prove_or,
    schnorr_prove,
    schnorr_verify,
    verify_or,
)

__all__ = [
    "BallotChecker",
    "BallotRejected",
    "CheckedBallot",
    "create_ballot",
    "validate_choices",
]


class BallotRejected(Exception):
    """A ballot failed ``check`` (e.g. ``ballot.overall_proof``); ``detail`` says where."""

    def __init__(self, check: str, detail: str) -> None:
        super().__init__(f"{check}: {detail}")
        self.check, self.detail = check, detail


# ------------------------------------------------------------------- making
def validate_choices(question: Question, choices: Sequence[int]) -> None:
    if len(choices) != question.width or any(c not in (0, 1) for c in choices):
        raise FormatError(f"expected {question.width} values 0 or 1 for {question.question!r}")
    picks = choices[1:] if question.blank_allowed else choices
    if question.blank_allowed and choices[0] == 1:
        if any(picks):
            raise FormatError("a blank vote selects nothing")
    elif not question.min <= sum(picks) <= question.max:
        raise FormatError(f"select between {question.min} and {question.max} answers")


def _make_answer(key: PublicKey, s0: str, question: Question, m: Sequence[int]) -> dict[str, Any]:
    group, q = key.group, key.group.q
    validate_choices(question, m)
    encrypted = [encrypt(key, mi) for mi in m]
    cts = [c for c, _ in encrypted]
    rs = [r for _, r in encrypted]
    enc = group.encode
    individual = [
        prove_or(
            key,
            f"prove|{s0}|{enc(c.alpha)},{enc(c.beta)}|",
            [Witness(r, mi, 0), Witness(r, mi, 1)],
            mi,
        )
        for c, r, mi in zip(cts, rs, m, strict=True)
    ]
    s = s0 + "|" + ",".join(f"{enc(c.alpha)},{enc(c.beta)}" for c in cts)
    bounds = range(question.min, question.max + 1)
    out: dict[str, Any] = {
        "choices": [{"alpha": enc(c.alpha), "beta": enc(c.beta)} for c in cts],
        "individual_proofs": [[proof_json(p) for p in ps] for ps in individual],
    }
    if question.blank_allowed:
        m0, r0 = m[0], rs[0]
        m_sum, r_sum = sum(m[1:]), sum(rs[1:]) % q
        blank = prove_or(
            key,
            f"bproof0|{s}|",
            [Witness(r0, m0, 0), Witness(r_sum, m_sum, 0)],
            0 if m0 == 0 else 1,
        )
        overall = prove_or(
            key,
            f"bproof1|{s}|",
            [Witness(r0, m0, 1)] + [Witness(r_sum, m_sum, b) for b in bounds],
            0 if m0 == 1 else 1 + m_sum - question.min,
        )
        out["overall_proof"] = [proof_json(p) for p in overall]
        out["blank_proof"] = [proof_json(p) for p in blank]
    else:
        total = combine(group, cts)
        m_sum, r_sum = sum(m), sum(rs) % q
        overall = prove_or(
            key,
            f"prove|{s}|{enc(total.alpha)},{enc(total.beta)}|",
            [Witness(r_sum, m_sum, b) for b in bounds],
            m_sum - question.min,
        )
        out["overall_proof"] = [proof_json(p) for p in overall]
    return out


def create_ballot(
    election: Election, key: PublicKey, credential: str, choices: Sequence[Sequence[int]]
) -> str:
    """The ballot's canonical JSON; ``credential`` is the voter's private one."""
    group = election.group
    if len(choices) != len(election.questions):
        raise FormatError(f"expected answers to {len(election.questions)} questions")
    secret = derive_secret(group, election.uuid, credential)
    public = group.encode(group.g_pow(secret))
    s0 = f"{election.fingerprint}|{public}"
    body: dict[str, Any] = {
        "election_uuid": election.uuid,
        "election_hash": election.fingerprint,
        "credential": public,
        "answers": [
            _make_answer(key, s0, question, m)
            for question, m in zip(election.questions, choices, strict=True)
        ],
    }
    signed = sha256_b64(compact(body))
    proof = schnorr_prove(group, secret, f"sig|{signed}|")
    body["signature"] = {"hash": signed, "proof": proof_json(proof)}
    return compact(body)


def ciphertexts_fingerprint(raw: str) -> str:
    """A hash of a ballot's ciphertexts alone: the same for any re-serialisation.

    An audited ballot must never be cast, whatever JSON spelling carries it:
    the ciphertexts are what its revealed randomness opens, so they are the
    key, not the tracker (which hashes the exact text).
    """
    value = json.loads(raw)
    if not isinstance(value, dict) or not isinstance(value.get("answers"), list):
        raise FormatError("a ballot is a JSON object with answers")
    pairs = [
        [[str(c["alpha"]), str(c["beta"])] for c in answer["choices"]]
        for answer in value["answers"]
    ]
    return sha256_b64(compact(pairs))


# ----------------------------------------------------------------- checking
@dataclass(frozen=True, slots=True)
class CheckedBallot:
    """What the tally needs from a valid ballot."""

    credential: str
    weight: int
    tracker: str  # b64 sha256 of the whole ballot: what the voter can look up
    ciphertexts: tuple[tuple[Ciphertext, ...], ...]


def _canonical(value: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ballot rebuilt in spec order, without and with its signature."""
    if not isinstance(value, dict):
        raise FormatError("a ballot is a JSON object")
    num = canonical_number

    def proofs(items: Any) -> list[dict[str, str]]:
        if not isinstance(items, list):
            raise FormatError("proofs are a list")
        return [{"challenge": num(p["challenge"]), "response": num(p["response"])} for p in items]

    answers = []
    for a in value["answers"]:
        answer: dict[str, Any] = {
            "choices": [{"alpha": c["alpha"], "beta": c["beta"]} for c in a["choices"]],
            "individual_proofs": [proofs(ps) for ps in a["individual_proofs"]],
            "overall_proof": proofs(a["overall_proof"]),
        }
        if "blank_proof" in a:
            answer["blank_proof"] = proofs(a["blank_proof"])
        answers.append(answer)
    body = {
        "election_uuid": value["election_uuid"],
        "election_hash": value["election_hash"],
        "credential": value["credential"],
        "answers": answers,
    }
    sig = value["signature"]
    signed = dict(body, signature={"hash": sig["hash"], "proof": proofs([sig["proof"]])[0]})
    return body, signed


class BallotChecker:
    """Checks ballots of one election against its key and credential list."""

    def __init__(
        self, election: Election, key: PublicKey, credentials: PublicCredentials | None
    ) -> None:
        self.election, self.key, self.credentials = election, key, credentials
        self.group = election.group
        # listed credentials whose squaring chain check_chunk has computed
        self._chains: dict[str, Prepared] = {}

    def check_chunk(
        self, work: tuple[Sequence[str], Sequence[str]]
    ) -> tuple[list[CheckedBallot | tuple[str, str]], list[str]]:
        """(``check_many(raws)``, the listed ``credentials`` that are not in the group).

        The auditor's split of the setup check: each listed credential is
        tested (x^q = 1) in the chunk holding a ballot cast with it, on the
        same squaring chain as that ballot's signature check (x^challenge),
        instead of one exponentiation for each in a separate pass.
        """
        raws, credentials = work
        group = self.group
        outside: list[str] = []
        # Checking allocates many small tuples and lists but makes no cycles:
        # the cyclic collector would only walk them (about 2 % of the time).
        collecting = gc.isenabled()
        gc.disable()
        try:
            for text in credentials:
                try:
                    prepared = group.prepare(group.decode(text))
                except InvalidElement:
                    outside.append(text)
                    continue
                if prepared.is_member():
                    self._chains[text] = prepared
                else:
                    outside.append(text)
            return self.check_many(raws), outside
        finally:
            self._chains.clear()
            if collecting:
                gc.enable()

    def check_many(self, raws: Sequence[str]) -> list[CheckedBallot | tuple[str, str]]:
        """``check`` each; a rejection becomes (check, "tracker …: detail")."""
        out: list[CheckedBallot | tuple[str, str]] = []
        for raw in raws:
            try:
                out.append(self.check(raw))
            except BallotRejected as exc:
                out.append((exc.check, f"tracker {sha256_b64(raw)}: {exc.detail}"))
            except (ValueError, KeyError, TypeError, IndexError) as exc:  # shapes check() missed
                out.append(("ballot.format", f"tracker {sha256_b64(raw)}: {exc!r}"))
        return out

    def check(self, raw: str) -> CheckedBallot:
        group, election = self.group, self.election
        try:
            value = json.loads(raw)
            body, signed = _canonical(value)
            if compact(signed) != raw:
                raise FormatError("not in canonical form")
            # compact(signed) is compact(body) with ',"signature":{…}' before its
            # closing brace; no string in canonical JSON holds an unescaped quote
            unsigned_text = raw[: raw.rindex(',"signature":')] + "}"
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BallotRejected("ballot.format", str(exc) or type(exc).__name__) from exc
        if body["election_uuid"] != election.uuid or body["election_hash"] != election.fingerprint:
            raise BallotRejected("ballot.election", "uuid or election hash of another election")
        credential_text = body["credential"]
        weight = 1
        if self.credentials is not None:
            if credential_text not in self.credentials.weights:
                raise BallotRejected("ballot.credential", "credential not in the published list")
            weight = self.credentials.weights[credential_text]
        prepared = self._chains.get(credential_text)
        if prepared is None:
            try:
                credential = group.decode(credential_text)
            except InvalidElement as exc:
                raise BallotRejected("ballot.format", f"credential: {exc}") from exc
            if self.credentials is None:
                # unlisted: the membership test and the signature share a chain
                prepared = group.prepare(credential)
                if not prepared.is_member():
                    raise BallotRejected("ballot.membership", "credential not in the group")
        else:
            credential = prepared.value
        signature = signed["signature"]
        proof = parse_proof(signature["proof"])
        if signature["hash"] != sha256_b64(unsigned_text):
            raise BallotRejected("ballot.signature", "signed hash is not the ballot's hash")
        if not schnorr_verify(
            group, credential, proof, f"sig|{signature['hash']}|", prepared=prepared
        ):
            raise BallotRejected("ballot.signature", "signature proof does not verify")
        if len(body["answers"]) != len(election.questions):
            raise BallotRejected("ballot.format", "not one answer per question")
        s0 = f"{election.fingerprint}|{credential_text}"
        cts = tuple(
            self._check_answer(s0, i, question, answer)
            for i, (question, answer) in enumerate(
                zip(election.questions, body["answers"], strict=True)
            )
        )
        return CheckedBallot(credential_text, weight, sha256_b64(raw), cts)

    def _check_answer(
        self, s0: str, index: int, question: Question, answer: dict[str, Any]
    ) -> tuple[Ciphertext, ...]:
        group, key = self.group, self.key
        where = f"question {index + 1}"
        choices = answer["choices"]
        blank = answer.get("blank_proof")
        if (
            len(choices) != question.width
            or len(answer["individual_proofs"]) != len(choices)
            or (blank is None) == question.blank_allowed
        ):
            raise BallotRejected("ballot.format", f"{where}: wrong number of choices or proofs")
        try:
            alphas = [group.prepare(group.decode(c["alpha"])) for c in choices]
            betas = [group.prepare(group.decode(c["beta"])) for c in choices]
        except InvalidElement as exc:
            raise BallotRejected("ballot.format", f"{where}: {exc}") from exc
        for j, (a, b) in enumerate(zip(alphas, betas, strict=True)):
            if not both_members(a, b):
                raise BallotRejected("ballot.membership", f"{where}, choice {j + 1}")
        for j, (c, a, b, ps) in enumerate(
            zip(choices, alphas, betas, answer["individual_proofs"], strict=True)
        ):
            prefix = f"prove|{s0}|{c['alpha']},{c['beta']}|"
            if not verify_or(key, prefix, [Clause(a, b, 0), Clause(a, b, 1)], _proofs(ps)):
                raise BallotRejected("ballot.individual_proof", f"{where}, choice {j + 1}")
        s = s0 + "|" + ",".join(f"{c['alpha']},{c['beta']}" for c in choices)
        bounds = range(question.min, question.max + 1)
        overall = _proofs(answer["overall_proof"])
        if question.blank_allowed:
            assert blank is not None  # checked with the shapes above
            a_sum = group.prepare_product(alphas[1:])
            b_sum = group.prepare_product(betas[1:])
            clauses = [Clause(alphas[0], betas[0], 0), Clause(a_sum, b_sum, 0)]
            if not verify_or(key, f"bproof0|{s}|", clauses, _proofs(blank)):
                raise BallotRejected("ballot.blank_proof", where)
            clauses = [Clause(alphas[0], betas[0], 1)] + [Clause(a_sum, b_sum, m) for m in bounds]
            if not verify_or(key, f"bproof1|{s}|", clauses, overall):
                raise BallotRejected("ballot.overall_proof", where)
        else:
            a_sum, b_sum = group.prepare_product(alphas), group.prepare_product(betas)
            prefix = f"prove|{s}|{group.encode(a_sum.value)},{group.encode(b_sum.value)}|"
            if not verify_or(key, prefix, [Clause(a_sum, b_sum, m) for m in bounds], overall):
                raise BallotRejected("ballot.overall_proof", where)
        return tuple(Ciphertext(a.value, b.value) for a, b in zip(alphas, betas, strict=True))


def _proofs(items: Sequence[dict[str, str]]) -> list[Proof]:
    return [Proof(int(p["challenge"]), int(p["response"])) for p in items]
