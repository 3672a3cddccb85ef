"""Secret ballots for proposals: the server's side of a Belenios election.

    setup      electorate snapshot (the members when the proposal opened),
               one private credential each (never stored: the server is the
               credential authority but keeps only g^s), trustees named;
               ``deliver`` sends each credential straight to its voter in a
               private message (Matrix bot DM, fediverse direct Note); only
               the ones that could not be delivered are returned, once
               With an external credential authority the server makes
               none: the authority (``imago-fed credentials generate``, or
               ``belenios-tool setup generate-credentials``) sends each
               voter theirs and uploads only the public list
    keys       each trustee uploads the ID.pubkey of ``imago-fed trustee
               keygen``; with every key (and the public credentials) in,
               the election is built (y = the product of the keys) and the
               ballot box opens
    ballots    checked in full (proofs, credential, signature) before they
               are stored; the last ballot per credential counts
    close      EndBallots and the encrypted tally go on the board
    decrypt    each trustee runs ``imago-fed trustee decrypt`` on the
               board and uploads the partial decryption; its proofs are
               checked on arrival; with all of them the result is computed,
               the whole board is verified, and the proposal concluded

Trustees are either n Single trustees (every one of them must decrypt) or,
when the setup names a ``threshold`` t, one t-of-n Pedersen key that the
trustees make on their own machines in three rounds
(``imago-fed trustee threshold cert|polynomial|verification``; see
``domain/voting/crypto/ceremony.py``): the server relays their messages and
checks each on arrival, and any t of them decrypt. It never holds a share.

The board is rebuilt from the stored rows on every request, in the order
belenios-tool writes it; what is appended (ballots, then partial
decryptions in order of arrival) never reorders what came before.

One service, :class:`Elections`, its methods grouped by phase, one module each:

    base.py     the collaborators (ElectionStore port, Governance, clock,
                direct messengers) and reading one election
    setup.py    setup, deliver, trustee keys, threshold ceremony, credentials
    ballots.py  cast, the trackers
    tally.py    close, close_due, partial decryptions, the result
    board.py    the archive and the public description (pure builders too)

It reaches PostgreSQL only through the ``ElectionStore`` port
(``domain/ports/elections.py``; ``store/elections.py`` implements it), so its
use cases run over an in-memory store in the fast tests.
"""

from __future__ import annotations

from imago_fed.services.elections.ballots import BallotBox
from imago_fed.services.elections.board import PublicBoard
from imago_fed.services.elections.setup import Delivery, ElectionSetup, credential_notice
from imago_fed.services.elections.tally import ElectionTally

__all__ = ["Delivery", "Elections", "credential_notice"]


class Elections(ElectionSetup, BallotBox, ElectionTally, PublicBoard):
    """Every use case of a secret vote's election (see the module docstring)."""
