"""Driving the real belenios-tool 2.0, the way its demo scripts do.

The package's ``examples/demo*.sh`` call a source-tree binary and templates
that Debian does not ship; this is the same sequence with the installed
``belenios-tool`` and a template written here. ``BELENIOS_USE_URANDOM=1``
keeps it from blocking on /dev/random.

A missing tool is a failure, not a skip: CI installs it (.ci/run), and an
interoperability claim that silently stops being tested is worse than none.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TEMPLATE = {
    "description": "Interop test election.",
    "name": "Interop",
    "questions": [
        {"answers": ["Answer 1", "Answer 2"], "min": 0, "max": 1, "question": "Question 1?"},
        {
            "answers": ["Answer 1", "Answer 2"],
            "blank": True,
            "min": 1,
            "max": 1,
            "question": "Question 2?",
        },
    ],
}
# Five voters; the second question allows a blank vote (leading flag).
VOTES = [
    [[1, 0], [0, 1, 0]],
    [[0, 1], [0, 0, 1]],
    [[0, 0], [1, 0, 0]],
    [[1, 0], [0, 1, 0]],
    [[1, 0], [0, 0, 1]],
]
WEIGHTS = [1, 2, 3, 1, 5]
# Expected result: weights of the counted ballots per answer.
EXPECTED = [[1 + 1 + 5, 2], [3, 1 + 1, 2 + 5]]


def tool_path() -> str:
    path = shutil.which("belenios-tool")
    if path is None:
        pytest.fail(
            "belenios-tool is not installed: the Belenios interoperability tests need it "
            "(apt-get install belenios-tool; .ci/run installs it when missing)",
            pytrace=False,
        )
    return path


@dataclass
class ToolElection:
    """A directory where belenios-tool ran (part of) an election."""

    dir: Path
    exe: str
    uuid: str = ""
    credentials: list[str] = field(default_factory=list)

    def run(self, *args: str, stdin: str | None = None) -> str:
        return self.run_full(*args, stdin=stdin)[0]

    def run_full(self, *args: str, stdin: str | None = None) -> tuple[str, str]:
        """stdout and stderr (belenios-tool reports on stderr); fails on a non-zero exit."""
        env = dict(os.environ, BELENIOS_USE_URANDOM="1")
        proc = subprocess.run(
            [self.exe, *args],
            cwd=self.dir,
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        if proc.returncode != 0:
            raise AssertionError(
                f"belenios-tool {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()}"
            )
        return proc.stdout, proc.stderr

    @property
    def archive(self) -> Path:
        return self.dir / f"{self.uuid}.bel"

    def add_event(self, kind: str, payload: str = "") -> None:
        self.run("archive", "add-event", f"--type={kind}", stdin=payload)

    def verify(self) -> str:
        """``election verify``'s messages; raises if it exits non-zero."""
        return self.run_full("election", "verify")[1]


def setup_election(
    tmp: Path, *, threshold: tuple[int, int] | None = None, weights: list[int] = WEIGHTS
) -> ToolElection:
    """Credentials (with weights), trustees (Single, or Single + Pedersen t-of-n), archive."""
    e = ToolElection(tmp, tool_path())
    e.uuid = e.run("setup", "generate-token").strip()
    group = ("--group", "BELENIOS-2048")
    voters = "".join(f"voter{i}@example.org,voter{i},{w}\n" for i, w in enumerate(weights, 1))
    (tmp / "voters.txt").write_text(voters)
    e.run("setup", "generate-credentials", "--uuid", e.uuid, *group, "--file", "voters.txt")
    (pub,) = tmp.glob("*.pubcreds")
    pub.rename(tmp / "public_creds.json")
    (priv,) = tmp.glob("*.privcreds")
    e.credentials = [line.split()[-1] for line in priv.read_text().splitlines()]
    priv.rename(tmp / "private_creds.txt")
    if threshold is not None:
        t, n = threshold
        keygen = ("setup", "generate-trustee-key-threshold", *group)
        for _ in range(n):
            e.run(*keygen, "--step", "1")
        keys = sorted(tmp.glob("*.key"))
        (tmp / "certs.jsons").write_text("".join(k.with_suffix(".cert").read_text() for k in keys))
        certs = ("--certs", "certs.jsons")
        e.run(*keygen, *certs, "--step", "2")
        polys = "".join(
            e.run(*keygen, *certs, "--key", k.name, "--step", "3", "--threshold", str(t))
            for k in keys
        )
        (tmp / "polynomials.jsons").write_text(polys)
        e.run(*keygen, *certs, "--step", "4", "--polynomials", "polynomials.jsons")
        outputs = "".join(
            e.run(
                *keygen,
                *certs,
                "--key",
                k.name,
                "--step",
                "5",
                stdin=k.with_suffix(".vinput").read_text(),
            )
            for k in keys
        )
        threshold_json = e.run(
            *keygen, *certs, "--step", "6", "--polynomials", "polynomials.jsons", stdin=outputs
        )
        (tmp / "threshold.json").write_text(threshold_json)
    e.run("setup", "generate-trustee-key", *group)
    (tmp / "public_keys.jsons").write_text(
        "".join(p.read_text() for p in sorted(tmp.glob("*.pubkey")))
    )
    e.run("setup", "make-trustees")
    (tmp / "threshold.json").unlink(missing_ok=True)
    (tmp / "template.json").write_text(json.dumps(TEMPLATE))
    e.run("setup", "make-election", "--uuid", e.uuid, *group, "--template", "template.json")
    e.run("archive", "init")
    return e


def cast(e: ToolElection, credential: str, vote: list[list[int]]) -> str:
    (e.dir / "cred.txt").write_text(credential + "\n")
    (e.dir / "vote.json").write_text(json.dumps(vote))
    ballot = e.run("election", "generate-ballot", "--privcred", "cred.txt", "--ballot", "vote.json")
    e.add_event("Ballot", ballot)
    return ballot.strip()


def tally_and_decrypt(e: ToolElection, pedersen: list[int] | None = None) -> None:
    """EndBallots, tally, Single (owner 1) and the listed Pedersen trustees (1-based)."""
    e.add_event("EndBallots")
    e.add_event("EncryptedTally", e.run("election", "compute-encrypted-tally"))
    for position in pedersen or []:
        key = sorted(e.dir.glob("*.key"))[position - 1]
        share = e.run(
            "election",
            "decrypt-threshold",
            "--key",
            key.name,
            "--decryption-key",
            key.with_suffix(".dkey").name,
            "--trustee-id",
            str(1 + position),
        )
        e.add_event("PartialDecryption", share)
    (privkey,) = e.dir.glob("*.privkey")
    e.add_event(
        "PartialDecryption",
        e.run("election", "decrypt", "--privkey", privkey.name, "--trustee-id", "1"),
    )
    e.add_event("Result", e.run("election", "compute-result"))
