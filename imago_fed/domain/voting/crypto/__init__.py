"""Verifiable secret ballots in the Helios-C / Belenios family.

Interoperable with belenios-tool 2.0 (election ``version`` 1, archive v2):
its archives verify here, ours verify there. Pure Python over gmpy2 (GMP)
and PyNaCl (libsodium); randomness only from ``secrets``.

    credential authority   credentials.py   private credential -> g^s (+ weight)
    trustees               trustees.py      Single keys, t-of-n Pedersen
    election               election.py      questions, y, uuid, phi
    voter                  ballots.py       ElGamal per answer, 0/1 proofs,
                                            min..max and blank proofs, Schnorr
                                            signature under the credential
    server / auditor       tally.py         last ballot per credential, product
                                            to the weights, partial decryptions,
                                            Lagrange, result
    public board           archive.py       the tar (``BELENIOS``, hashed
                                            members, event chain)
                           board.py         writing one; running a whole election
                           verify.py        ``verify_archive`` -> Report
    underneath             groups.py, ed25519.py, elgamal.py, proofs.py, encoding.py

Every check an auditor makes has a name (``ballot.signature``,
``decryption.proof``, …; listed in verify.py) and a failing archive reports
the first failing check by that name.
"""

from __future__ import annotations

from imago_fed.domain.voting.crypto.archive import ArchiveWriter, Event, parse_archive
from imago_fed.domain.voting.crypto.ballots import (
    BallotChecker,
    BallotRejected,
    CheckedBallot,
    ciphertexts_fingerprint,
    create_ballot,
)
from imago_fed.domain.voting.crypto.board import BoardWriter, ElectionRun, run_election
from imago_fed.domain.voting.crypto.credentials import (
    PublicCredentials,
    credential_is_valid,
    derive_secret,
    generate_credential,
    public_credential,
)
from imago_fed.domain.voting.crypto.ed25519 import ED25519
from imago_fed.domain.voting.crypto.election import Election, Question, Unsupported
from imago_fed.domain.voting.crypto.elgamal import Ciphertext, PublicKey, encrypt
from imago_fed.domain.voting.crypto.encoding import FormatError
from imago_fed.domain.voting.crypto.groups import (
    BELENIOS_2048,
    RFC_3526_2048,
    Group,
    InvalidElement,
    group_by_name,
)
from imago_fed.domain.voting.crypto.tally import (
    EncryptedTally,
    PartialDecryption,
    combine_factors,
    compute_result,
    partial_decrypt,
    tally,
)
from imago_fed.domain.voting.crypto.trustees import (
    NotEnoughShares,
    PedersenTrustees,
    SingleTrustee,
    ThresholdTrustee,
    TrusteeError,
    TrusteePublicKey,
    generate_single,
    pedersen_ceremony,
)
from imago_fed.domain.voting.crypto.verify import (
    Check,
    Report,
    verify_archive,
    verify_archive_bytes,
)

__all__ = [
    "BELENIOS_2048",
    "ED25519",
    "RFC_3526_2048",
    "ArchiveWriter",
    "BallotChecker",
    "BallotRejected",
    "BoardWriter",
    "Check",
    "CheckedBallot",
    "Ciphertext",
    "Election",
    "ElectionRun",
    "EncryptedTally",
    "Event",
    "FormatError",
    "Group",
    "InvalidElement",
    "NotEnoughShares",
    "PartialDecryption",
    "PedersenTrustees",
    "PublicCredentials",
    "PublicKey",
    "Question",
    "Report",
    "SingleTrustee",
    "ThresholdTrustee",
    "TrusteeError",
    "TrusteePublicKey",
    "Unsupported",
    "ciphertexts_fingerprint",
    "combine_factors",
    "compute_result",
    "create_ballot",
    "credential_is_valid",
    "derive_secret",
    "encrypt",
    "generate_credential",
    "generate_single",
    "group_by_name",
    "parse_archive",
    "partial_decrypt",
    "pedersen_ceremony",
    "public_credential",
    "run_election",
    "tally",
    "verify_archive",
    "verify_archive_bytes",
]
