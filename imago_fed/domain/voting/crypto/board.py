"""Writing our own elections as Belenios boards, and running one end to end.

BoardWriter   the server's side of the board, in the order belenios-tool
              writes it: Setup (election, trustees, credentials, setup
              data), then each accepted ballot, EndBallots, the encrypted
              tally, partial decryptions, the result. The bytes are a
              valid belenios-tool 2.0 archive (``election verify``).
run_election  every role in one process (credential authority, trustees,
              voters, server): for tests, benchmarks and demonstrations.
              A real election keeps the private credentials with voters
              and trustee keys on the trustees' machines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from imago_fed.domain.voting.crypto.archive import ArchiveWriter
from imago_fed.domain.voting.crypto.ballots import BallotChecker, CheckedBallot, create_ballot
from imago_fed.domain.voting.crypto.credentials import (
    PublicCredentials,
    format_public_credential,
    generate_credential,
    public_credential,
)
from imago_fed.domain.voting.crypto.election import Election, Question
from imago_fed.domain.voting.crypto.elgamal import PublicKey
from imago_fed.domain.voting.crypto.encoding import compact
from imago_fed.domain.voting.crypto.groups import Group
from imago_fed.domain.voting.crypto.tally import (
    EncryptedTally,
    PartialDecryption,
    combine_factors,
    compute_result,
    partial_decrypt,
    result_json,
    tally,
)
from imago_fed.domain.voting.crypto.trustees import (
    Kind,
    SingleTrustee,
    combine_keys,
    generate_single,
    pedersen_ceremony,
    trustees_json,
)

__all__ = ["BoardWriter", "ElectionRun", "run_election"]


class BoardWriter:
    """Appends to a board exactly as belenios-tool's ``archive`` commands do."""

    def __init__(
        self,
        election: Election,
        trustees: Sequence[Kind],
        public_credentials: Sequence[str],
        *,
        timestamp: int,
    ) -> None:
        self.election, self.group = election, election.group
        self._writer = ArchiveWriter(timestamp)
        setup = {
            "election": self._writer.add_data(election.raw),
            "trustees": self._writer.add_data(trustees_json(self.group, trustees)),
            "credentials": self._writer.add_data(compact(list(public_credentials))),
        }
        self._writer.add_event("Setup", self._writer.add_data(compact(setup)))

    def add_ballot(self, raw: str) -> None:
        self._writer.add_event("Ballot", self._writer.add_data(raw))

    def end_ballots(self) -> None:
        self._writer.add_event("EndBallots")

    def add_encrypted_tally(self, encrypted: EncryptedTally) -> None:
        self._writer.add_data(encrypted.to_json(self.group))
        self._writer.add_event(
            "EncryptedTally", self._writer.add_data(encrypted.sized_json(self.group))
        )

    def add_partial_decryption(self, owner: int, share: PartialDecryption) -> None:
        digest = self._writer.add_data(share.to_json(self.group))
        owned = self._writer.add_data(compact({"owner": owner, "payload": digest}))
        self._writer.add_event("PartialDecryption", owned)

    def add_result(self, result: Sequence[Sequence[int]]) -> None:
        self._writer.add_event("Result", self._writer.add_data(result_json(result)))

    def to_bytes(self) -> bytes:
        return self._writer.to_bytes()


@dataclass
class ElectionRun:
    """What ``run_election`` did: the board and the secrets it had to make."""

    archive: bytes
    election: Election
    result: list[list[int]]
    credentials: list[str]
    trustee_keys: dict[int, int] = field(default_factory=dict)  # owner -> private key
    ballots: list[str] = field(default_factory=list)


def run_election(
    group: Group,
    questions: Sequence[Question],
    votes: Sequence[Sequence[Sequence[int]]],
    *,
    uuid: str,
    threshold: tuple[int, int] | None = None,
    decrypting: Sequence[int] | None = None,
    weights: Sequence[int] | None = None,
    name: str = "Election",
    description: str = "",
    timestamp: int = 0,
    voters: Sequence[int] | None = None,
) -> ElectionRun:
    """Setup, one ballot per entry of ``votes``, tally, decryption, result.

    ``threshold=(t, n)`` adds a t-of-n Pedersen item beside the server's
    Single key; ``decrypting`` lists which of the n (1-based) decrypt
    (default: the first t). ``voters[i]`` says which credential casts
    ``votes[i]`` (default: one each), so revotes can be staged.
    """
    server_x, server_key = generate_single(group)
    kinds: list[Kind] = [SingleTrustee(server_key)]
    keys: dict[int, int] = {1: server_x}
    if threshold is not None:
        t, n = threshold
        item, shares = pedersen_ceremony(group, n, t)
        kinds.append(item)
        chosen = list(decrypting) if decrypting is not None else list(range(1, t + 1))
        keys.update({1 + d: shares[d - 1] for d in chosen})
    y = combine_keys(group, kinds)
    election = Election.build(
        uuid=uuid,
        name=name,
        description=description,
        group=group,
        public_key=y,
        questions=tuple(questions),
    )
    voters = list(voters) if voters is not None else list(range(len(votes)))
    count = max(voters, default=-1) + 1
    privates = [generate_credential() for _ in range(count)]
    weights = list(weights) if weights is not None else [1] * count
    explicit = any(w != 1 for w in weights)
    publics = [
        format_public_credential(
            group, public_credential(group, uuid, c), weights[i] if explicit else None
        )
        for i, c in enumerate(privates)
    ]
    board = BoardWriter(election, kinds, publics, timestamp=timestamp)
    key = PublicKey(group, y)
    checker = BallotChecker(election, key, PublicCredentials(group, publics))
    checked: list[CheckedBallot] = []
    raws: list[str] = []
    for voter, choice in zip(voters, votes, strict=True):
        raw = create_ballot(election, key, privates[voter], choice)
        checked.append(checker.check(raw))
        board.add_ballot(raw)
        raws.append(raw)
    board.end_ballots()
    encrypted = tally(group, [q.width for q in questions], checked)
    board.add_encrypted_tally(encrypted)
    partials: dict[int, PartialDecryption] = {}
    for owner, x in keys.items():
        partials[owner] = partial_decrypt(group, election.fingerprint, x, encrypted.ciphertexts)
        board.add_partial_decryption(owner, partials[owner])
    factors = combine_factors(group, kinds, partials)
    result = compute_result(group, encrypted.ciphertexts, factors, encrypted.total_weight)
    board.add_result(result)
    return ElectionRun(board.to_bytes(), election, result, privates, keys, raws)
