"""Verifying a Belenios board: belenios-tool 2.0 against ours, same file, same run.

    python -m bench.ballots [--ballots 1000] [--jobs 2] [--ed25519-ballots 1000]
                            [--rounds 1]

1. Makes one BELENIOS-2048 board of N ballots with our code (belenios's own
   demo template: a 2-answer question, and a 2-answer question that allows
   blank votes, so 5 ciphertexts and 13 proofs a ballot), tallied, decrypted
   by one trustee, with a result. Not timed.
2. Times ``belenios-tool election verify`` on it, then ``imago-fed election
   verify`` (``python -m imago_fed.commands.election verify``) with one
   process and with ``--jobs``: whole processes both, start-up included, and
   each must report success. The ratio is belenios-tool's time over ours.
   ``--rounds N`` repeats the three, interleaved, prints every round and
   keeps each verifier's fastest (the machine is shared: other work slows
   whichever run it lands on).
3. The same for an Ed25519 board (belenios-tool 2.0 does not know the group:
   it is run once to show that it refuses), and ballot creation per ballot
   for both groups.

Where the speed comes from (see groups.py): comb tables for g and the
election key; for each alpha, beta and credential one squaring chain
x^(2^i), shared by its challenges and its membership test, each exponent
then cut into sliding windows (about 58 products for 256 bits); chains of
homomorphic sums multiplied from their parts where a window needs them;
listed credentials tested for membership in the ballot's work item on the
chain of its signature check (no separate pass); the ballots spread over
processes in small items.

Measured: see bench/README.md. A ballot needs about 6,900 modular
multiplications of 2048 bits even with the precomputation (40 % of them
the eleven squaring chains). From Python each costs ~1.3-1.5 us, GMP's
division two thirds of it; the optional C accelerator (``_montgomery.c``)
does the same chains, windows and tables with Montgomery products: ~0.9 us
on GMP's mpn layer, ~0.45 us with AVX-512 IFMA, ~0.27 us each when alpha's
and beta's are interleaved. ``--pure-arithmetic`` times the pure path in the
same run. Ed25519 (libsodium through PyNaCl, no multi-scalar or fixed-base
API for y): ~7.5-9 ms/ballot in one process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.summary import Row, format_table
from imago_fed.commands.election import process_mapper
from imago_fed.domain.voting.crypto import (
    BELENIOS_2048,
    ED25519,
    CheckedBallot,
    Ciphertext,
    Election,
    Group,
    PublicKey,
    Question,
    combine_factors,
    compute_result,
    create_ballot,
    generate_credential,
    generate_single,
    partial_decrypt,
    public_credential,
    tally,
)
from imago_fed.domain.voting.crypto.board import BoardWriter
from imago_fed.domain.voting.crypto.election import new_uuid
from imago_fed.domain.voting.crypto.encoding import sha256_b64
from imago_fed.domain.voting.crypto.groups import native_arithmetic
from imago_fed.domain.voting.crypto.trustees import SingleTrustee

QUESTIONS = (
    Question("Question 1?", ("Answer 1", "Answer 2"), 0, 1),
    Question("Question 2?", ("Answer 1", "Answer 2"), 1, 1, True),
)
PATTERNS = ([[1, 0], [0, 1, 0]], [[0, 1], [0, 0, 1]], [[0, 0], [1, 0, 0]])
TIME_CAP = 900  # seconds for any one verifier run
TARGET_WALL_RATIO = 1 / 8  # ours / belenios-tool, wall time, all cores for both


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"machine: {os.cpu_count()} CPU ({model}), Python {platform.python_version()}"


class _Maker:
    """Everything a worker needs to make ballots (inherited through fork)."""

    def __init__(self, election: Election, key: PublicKey, credentials: list[str]) -> None:
        self.election, self.key, self.credentials = election, key, credentials

    def make(self, indexes: list[int]) -> list[str]:
        return [
            create_ballot(self.election, self.key, self.credentials[i], PATTERNS[i % 3])
            for i in indexes
        ]


def _ciphertexts(group: Group, raw: str) -> CheckedBallot:
    """Our own fresh ballots, read back for the tally without re-checking them."""
    value = json.loads(raw)
    rows = tuple(
        tuple(Ciphertext(group.decode(c["alpha"]), group.decode(c["beta"])) for c in a["choices"])
        for a in value["answers"]
    )
    return CheckedBallot(value["credential"], 1, sha256_b64(raw), rows)


def make_board(group: Group, n: int, jobs: int, directory: Path) -> tuple[Path, float]:
    """A tallied board of n ballots; returns its path and seconds per ballot made."""
    x, trustee = generate_single(group)
    key = PublicKey(group, trustee.public_key).warm()
    election = Election.build(
        uuid=new_uuid(),
        name="Benchmark",
        description="",
        group=group,
        public_key=trustee.public_key,
        questions=QUESTIONS,
    )
    credentials = [generate_credential() for _ in range(n)]
    publics = [group.encode(public_credential(group, election.uuid, c)) for c in credentials]
    maker = _Maker(election, key, credentials)
    chunks = [list(range(i, min(i + 50, n))) for i in range(0, n, 50)]
    start = time.perf_counter()
    raws = [raw for part in process_mapper(jobs)(maker.make, chunks) for raw in part]
    made = (time.perf_counter() - start) / n * jobs  # CPU-seconds per ballot
    board = BoardWriter(election, [SingleTrustee(trustee)], publics, timestamp=int(time.time()))
    for raw in raws:
        board.add_ballot(raw)
    board.end_ballots()
    encrypted = tally(group, [q.width for q in QUESTIONS], [_ciphertexts(group, r) for r in raws])
    board.add_encrypted_tally(encrypted)
    share = partial_decrypt(group, election.fingerprint, x, encrypted.ciphertexts)
    board.add_partial_decryption(1, share)
    factors = combine_factors(group, [SingleTrustee(trustee)], {1: share})
    board.add_result(compute_result(group, encrypted.ciphertexts, factors, encrypted.total_weight))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{election.uuid}.bel"
    path.write_bytes(board.to_bytes())
    return path, made


@dataclass(frozen=True)
class Timing:
    wall: float  # seconds, whole process
    cpu: float  # user + system seconds of the process and its children
    peak_mb: float = 0.0  # peak RSS of the largest process of the tree (the kernel's maxrss)

    def line(self, label: str, n: int, baseline: Timing | None = None) -> str:
        text = (
            f"{label:<32}: {self.wall:7.2f} s wall {self.wall / n * 1e3:7.2f} ms/ballot"
            f" | CPU {self.cpu / n * 1e3:7.2f} ms/ballot"
        )
        if baseline is not None:
            text += f" | {baseline.wall / self.wall:.2f}x wall, {baseline.cpu / self.cpu:.2f}x CPU"
        return text


def timed(cmd: list[str], cwd: Path, expect: str) -> Timing:
    """Run ``cmd`` to its end; its wall time, CPU and peak RSS (from ``wait4``'s rusage)."""
    env = dict(os.environ, BELENIOS_USE_URANDOM="1")
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            _, status, usage = _wait4(proc.pid, TIME_CAP)
        except TimeoutError:
            proc.kill()
            proc.wait()
            sys.exit(f"{' '.join(cmd)} took more than {TIME_CAP} s")
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    if proc.returncode != 0 or expect not in text:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}): {text[-500:]}")
    # ru_maxrss is in KiB on Linux; for wait4 it is the largest of the child and the
    # descendants it waited for (the verifier's worker processes).
    return Timing(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def _wait4(pid: int, cap: float) -> tuple[int, int, resource.struct_rusage]:
    deadline = time.monotonic() + cap
    while True:
        waited, status, usage = os.wait4(pid, os.WNOHANG)
        if waited == pid:
            return waited, status, usage
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.02)


def load() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def ours(path: Path, jobs: int, *, pure: bool = False) -> Timing:
    cmd = [sys.executable, "-m", "imago_fed.commands.election", "verify", str(path)]
    if pure:
        cmd.append("--pure-arithmetic")
    return timed([*cmd, "--jobs", str(jobs)], path.parent, "VERIFIED")


def main(n: int, jobs: int, n_ed: int, rounds: int = 1) -> list[Row]:
    """Print the figures; return the summary table's rows."""
    print(machine())
    tool = shutil.which("belenios-tool")
    if tool is None:
        sys.exit("belenios-tool is not installed (apt-get install belenios-tool)")
    version = subprocess.run([tool, "--version"], capture_output=True, text=True).stdout.strip()
    print(
        f"belenios-tool {version}; {n} ballots, BELENIOS-2048, belenios demo template "
        "(5 ciphertexts, 13 disjunctive proofs a ballot)"
    )
    with tempfile.TemporaryDirectory(prefix="imago-bench-ballots-") as tmp:
        path, made = make_board(BELENIOS_2048, n, jobs, Path(tmp) / "ff")
        print(
            f"board: {path.stat().st_size / 1e6:.1f} MB; our ballot creation "
            f"{made * 1e3:.1f} ms CPU a ballot; load average before timing: {load()}"
        )
        native = native_arithmetic()
        print(
            "our arithmetic: "
            + (
                f"the C accelerator ({BELENIOS_2048.arithmetic} Montgomery products); "
                "the pure path (--pure-arithmetic) is timed too"
                if native
                else "pure Python (gmpy2): the C accelerator is not built"
            )
        )
        runs: dict[str, list[Timing]] = {"theirs": [], "single": [], "multi": [], "pure": []}
        for r in range(rounds):
            # interleaved, so that other work on the machine hits all of them alike
            runs["theirs"].append(
                timed([tool, "election", "verify"], path.parent, "all checks passed")
            )
            runs["single"].append(ours(path, 1))
            runs["multi"].append(ours(path, jobs))
            if native:
                runs["pure"].append(ours(path, jobs, pure=True))
            if rounds > 1:
                label = f"round {r + 1}/{rounds}"
                print(runs["theirs"][-1].line(f"  {label}: belenios-tool", n))
                print(runs["single"][-1].line(f"  {label}: ours, 1 process", n, runs["theirs"][-1]))
                print(
                    runs["multi"][-1].line(
                        f"  {label}: ours, {jobs} processes", n, runs["theirs"][-1]
                    )
                )
                if native:
                    print(
                        runs["pure"][-1].line(
                            f"  {label}: ours, pure path, {jobs} proc.", n, runs["theirs"][-1]
                        )
                    )
                print(f"  load average: {load()}")
        theirs, single, multi = (min(runs[k], key=lambda t: t.wall) for k in runs if k != "pure")
        if rounds > 1:
            print(f"fastest of {rounds} rounds, each verifier:")
        print(theirs.line("belenios-tool election verify", n))
        print(single.line("ours, 1 process", n, theirs))
        print(multi.line(f"ours, {jobs} processes", n, theirs))
        if native:
            pure = min(runs["pure"], key=lambda t: t.wall)
            print(pure.line(f"ours, pure path, {jobs} processes", n, theirs))
        print(f"load average after: {load()} (other work on the machine slows the wall figures)")

        if n_ed <= 0:
            return _rows(n, jobs, theirs, single, multi)
        ed_path, ed_made = make_board(ED25519, n_ed, jobs, Path(tmp) / "ed")
        refusal = subprocess.run(
            [tool, "election", "verify"],
            cwd=ed_path.parent,
            capture_output=True,
            text=True,
            env=dict(os.environ, BELENIOS_USE_URANDOM="1"),
        )
        reason = (refusal.stderr.strip().splitlines() or ["?"])[-1]
        print(f"Ed25519, {n_ed} ballots (belenios-tool 2.0 refuses: {reason!r}):")
        print(f"  our ballot creation {ed_made * 1e3:.1f} ms CPU a ballot")
        print(ours(ed_path, 1).line("  ours, 1 process", n_ed))
        print(ours(ed_path, jobs).line(f"  ours, {jobs} processes", n_ed))
    return _rows(n, jobs, theirs, single, multi)


def _rows(n: int, jobs: int, theirs: Timing, single: Timing, multi: Timing) -> list[Row]:
    """The summary table's rows, and the one-line summary before them."""
    print(
        f"summary: verification, belenios-tool / ours: {theirs.wall / multi.wall:.2f}x wall "
        f"with {jobs} processes, {theirs.cpu / single.cpu:.2f}x CPU per ballot "
        f"(target: >= {1 / TARGET_WALL_RATIO:.0f}x wall); our verifier's peak RSS "
        f"{multi.peak_mb:.0f} MB ({jobs} processes), {single.peak_mb:.0f} MB (1 process)"
    )
    return [
        Row(
            f"ballots verify {n} (wall, {jobs} proc)",
            multi.wall,
            "s",
            TARGET_WALL_RATIO,
            better="lower",
            baseline=theirs.wall,
            baseline_name="belenios-tool",
        ),
        Row(f"ballots verify {n}: peak RSS", multi.peak_mb, "MB", 400, better="lower", on="value"),
    ]


def default_jobs() -> int:
    return os.cpu_count() or 2


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ballots")
    parser.add_argument("--ballots", type=int, default=1000, help="BELENIOS-2048 ballots (1000)")
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="processes (CPUs)")
    parser.add_argument("--ed25519-ballots", type=int, default=1000, help="Ed25519 ballots (1000)")
    parser.add_argument(
        "--rounds", type=int, default=1, help="time each verifier N times, keep the fastest (1)"
    )
    args = parser.parse_args(argv)
    print(format_table(main(args.ballots, args.jobs, args.ed25519_ballots, max(1, args.rounds))))


if __name__ == "__main__":
    cli()
