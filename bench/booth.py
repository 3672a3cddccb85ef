"""The browser booth's encryption against the command line's, same ballot, same run.

    python -m bench.booth [--rounds 5]

A 5-option Majority Judgment ballot (25 ciphertexts, 25 0/1 proofs, 5
overall proofs, the signature) on BELENIOS-2048:

1. in headless Chromium (Debian's, as the browser tests drive it), with the
   booth's own modules (``web/static/booth``) served from loopback: the
   first ballot including the tables for g and y the page builds at load,
   then each further ballot;
2. with ``imago-fed ballot``'s function (``encrypt_ballot``: Python, gmpy2),
   as many times.

Each ballot made is checked by the ballot box's checker, so a fast wrong
ballot cannot pass. The target: under 3 s in the browser on a 2-core machine.
"""

from __future__ import annotations

import argparse
import functools
import shutil
import statistics
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import imago_fed
from bench._support import machine
from imago_fed.commands.ballot import encrypt_ballot
from imago_fed.domain.voting.crypto import (
    BELENIOS_2048,
    BallotChecker,
    Election,
    PublicCredentials,
    PublicKey,
    generate_credential,
    public_credential,
)
from imago_fed.domain.voting.crypto.election import new_uuid
from imago_fed.domain.voting.elections import choices_for, questions_for
from tests.web.browser import chromium

OPTIONS = ["saw", "drill", "plane", "lathe", "vice"]
GRADES = [1, 3, 5, 2, 2]
STATIC = Path(imago_fed.__file__).parent / "web" / "static"

# Runs in the page: import the booth's modules, time the tables, then ballots.
SCRIPT = """
const [raw, credential, choices, rounds, done] = arguments;
(async () => {
  const { loadElection, createBallot } = await import("/booth/ballot.js");
  let started = performance.now();
  const election = await loadElection(raw);
  const tables = performance.now() - started;
  const times = [];
  let ballot = null;
  for (let i = 0; i < rounds; i++) {
    started = performance.now();
    ballot = await createBallot(election, credential, choices);
    times.push(performance.now() - started);
  }
  return { tables, times, raw: ballot.raw, agent: navigator.userAgent };
})().then(done, (error) => done({ error: String(error) }));
"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def _election() -> Election:
    group = BELENIOS_2048
    return Election.build(
        uuid=new_uuid(), name="bench", description="booth", group=group,
        public_key=group.g_pow(group.random_scalar()),
        questions=questions_for("majority_judgment", OPTIONS),
    )  # fmt: skip


def run(rounds: int) -> float:
    """Print the figures; return the browser's time for the first ballot (tables included)."""
    election = _election()
    credential = generate_credential()
    listed = [BELENIOS_2048.encode(public_credential(BELENIOS_2048, election.uuid, credential))]
    checker = BallotChecker(
        election, PublicKey(BELENIOS_2048, election.public_key),
        PublicCredentials(BELENIOS_2048, listed),
    )  # fmt: skip
    choices = choices_for("majority_judgment", OPTIONS, GRADES)
    with tempfile.TemporaryDirectory(prefix="imago-bench-booth-") as folder:
        root = Path(folder)
        shutil.copytree(STATIC / "booth", root / "site" / "booth")
        (root / "site" / "index.html").write_text("<!doctype html><title>bench</title>")
        handler = functools.partial(_Quiet, directory=str(root / "site"))
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            with chromium(root / "profile") as browser:
                browser.set_script_timeout(120)
                browser.get(f"http://127.0.0.1:{httpd.server_port}/index.html")
                out = browser.execute_async_script(
                    SCRIPT, election.raw, credential, choices, rounds
                )
        finally:
            httpd.shutdown()
    if "error" in out:
        raise SystemExit(f"the booth failed in the browser: {out['error']}")
    checker.check(out["raw"])  # a ballot the box accepts, or this raises
    cli_times = []
    params = {"state": "open", "election": election.raw, "method": "majority_judgment",
              "options": OPTIONS}  # fmt: skip
    for _ in range(rounds):
        started = time.perf_counter()
        raw = encrypt_ballot(params, credential, GRADES)
        cli_times.append((time.perf_counter() - started) * 1000)
        checker.check(raw)
    browser_times = out["times"]
    first = out["tables"] + browser_times[0]
    print(machine())
    print(f"browser: {out['agent']}")
    print(f"5-option MJ ballot, BELENIOS-2048, {rounds} rounds each")
    print(f"  browser tables for g and y (once, at page load): {out['tables']:.0f} ms")
    print(f"  browser first ballot, tables included:           {first:.0f} ms (target < 3000)")
    print(f"  browser per ballot: median {statistics.median(browser_times):.0f} ms, "
          f"min {min(browser_times):.0f} ms")  # fmt: skip
    print(f"  CLI (encrypt_ballot) per ballot: median {statistics.median(cli_times):.0f} ms, "
          f"min {min(cli_times):.0f} ms")  # fmt: skip
    ratio = statistics.median(browser_times) / statistics.median(cli_times)
    print(f"  ratio browser/CLI (medians): {ratio:.2f}")
    return first


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.booth", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    run(max(1, args.rounds))


if __name__ == "__main__":
    cli()
