"""``imago-fed election verify`` and ``imago-fed trustee keygen|decrypt``.

    election verify BOARD.bel      every check of verify.py, one line each,
                                   then the result; exit 1 if any failed
    trustee keygen                 ID.privkey (stays here, mode 0600) and
                                   ID.pubkey (send it to the administrator);
                                   belenios-tool's file formats
    trustee decrypt BOARD.bel      verifies the board first, then prints this
                                   trustee's partial decryption and its
                                   ``{"owner","payload"}`` line, as
                                   ``belenios-tool election decrypt`` does
                                   (``archive add-event --type=PartialDecryption``
                                   takes either); with ``--seed`` and
                                   ``--ceremony`` for a threshold trustee
    trustee threshold cert         round 1 of a t-of-n key: ID.seed (stays
                                   here, mode 0600) and ID.cert (send it)
    trustee threshold polynomial   round 3, from the seed and the ceremony
    trustee threshold verification round 5, likewise; each prints what to send

    credentials generate           an external credential authority's side:
                                   UUID.privcreds (voter and credential per
                                   line: send each voter theirs, privately)
                                   and UUID.pubcreds (upload it); the same
                                   files as ``belenios-tool setup
                                   generate-credentials``

``--ceremony`` is the election's ``/elections/<id>/ceremony`` URL or a saved
copy of it. The rounds print every trustee's certificate fingerprint: the
trustees compare them with each other (by phone, in person) to be sure the
server relayed their own certificates and not someone else's.

A trustee's private key is read from a local file and never printed: what
leaves the machine is the partial decryption, with its proofs.

Verification spreads ballots over processes (``--jobs``; fork, so the comb
tables built for g and y are shared rather than rebuilt). No configuration
is read: these commands work on files only. Register with
``main.add_command(election)`` and ``main.add_command(trustee)``.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from imago_fed.domain.voting.crypto import (
    FormatError,
    Report,
    generate_single,
    group_by_name,
    partial_decrypt,
    verify_archive,
    verify_archive_bytes,
)
from imago_fed.domain.voting.crypto.ceremony import CeremonyTrustee, cert_fingerprint
from imago_fed.domain.voting.crypto.credentials import (
    format_public_credential,
    generate_credential,
    public_credential,
)
from imago_fed.domain.voting.crypto.encoding import compact, sha256_hex
from imago_fed.domain.voting.crypto.groups import set_native_arithmetic
from imago_fed.domain.voting.crypto.trustees import TrusteeError, owner_keys

__all__ = ["credentials", "election", "process_mapper", "trustee"]

T = TypeVar("T")
R = TypeVar("R")
_WORK: Callable[[Any], Any] | None = None


def _call(item: Any) -> Any:
    assert _WORK is not None
    return _WORK(item)


def process_mapper(jobs: int) -> Callable[[Callable[[T], R], Sequence[T]], Iterable[R]]:
    """A ``map`` over ``jobs`` forked processes that inherit the work function.

    The function (a bound method holding the election and its tables) is set
    in a module global before forking, so it is never pickled; only the
    chunks of ballots and the results cross the process boundary.
    """

    def mapper(fn: Callable[[T], R], items: Sequence[T]) -> Iterable[R]:
        global _WORK
        if jobs <= 1 or len(items) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
            return list(map(fn, items))
        _WORK = fn
        try:
            with multiprocessing.get_context("fork").Pool(min(jobs, len(items))) as pool:
                return pool.map(_call, items, chunksize=1)
        finally:
            _WORK = None

    return mapper


def _print_report(report: Report, path: str) -> None:
    click.echo(f"Archive: {path}")
    election = report.election
    if election is not None:
        click.echo(
            f"Election: {election.name!r} (uuid {election.uuid}), group {election.group.name}, "
            f"{len(election.questions)} question(s)"
        )
    width = max((len(c.name) for c in report.checks), default=0)
    for check in report.checks:
        mark = "ok    " if check.ok else "FAILED"
        click.echo(f"  {mark} {check.name.ljust(width)}  {check.detail}")
    if election is not None:
        click.echo(
            f"Ballots: {report.ballots} on the board, {report.counted} counted "
            f"(last per credential), total weight {report.total_weight}"
        )
    if report.result is not None and election is not None:
        click.echo("Result:")
        for question, row in zip(election.questions, report.result, strict=True):
            answers = (["(blank)"] if question.blank_allowed else []) + list(question.answers)
            counts = ", ".join(f"{a}: {n}" for a, n in zip(answers, row, strict=True))
            click.echo(f"  {question.question} {counts}")
    if report.result is None and election is not None:
        click.echo("No result on the board yet (checked as far as it goes).")
    if report.ok:
        click.echo("VERIFIED: every check passed.")
    else:
        first = report.failures[0]
        click.echo(f"NOT VERIFIED: {first.name} failed: {first.detail}")


@click.group()
def election() -> None:
    """Belenios-compatible elections: audit a public board."""


@election.command("verify")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=lambda: os.cpu_count() or 1,
    show_default="CPU count",
    help="processes for ballot checks",
)
@click.option("--json", "as_json", is_flag=True, help="print the report as one JSON object")
@click.option(
    "--pure-arithmetic",
    is_flag=True,
    help="without the C accelerator, if built (same verdicts, slower: a cross-check)",
)
def verify(archive: Path, jobs: int, as_json: bool, pure_arithmetic: bool) -> None:
    """Verify ARCHIVE (a Belenios .bel board): proofs, signatures, tally, result."""
    if pure_arithmetic:
        set_native_arithmetic(False)  # before the workers fork: they inherit it
    report = verify_archive(archive, mapper=process_mapper(jobs))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "checks": [
                        {"name": c.name, "ok": c.ok, "detail": c.detail} for c in report.checks
                    ],
                    "ballots": report.ballots,
                    "counted": report.counted,
                    "total_weight": report.total_weight,
                    "result": report.result,
                }
            )
        )
    else:
        _print_report(report, str(archive))
    sys.exit(0 if report.ok else 1)


@click.group()
def trustee() -> None:
    """Trustee side of a Belenios-compatible election (files only)."""


@trustee.command("keygen")
@click.option("--group", "group_name", default="BELENIOS-2048", show_default=True)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
)
def keygen(group_name: str, directory: Path) -> None:
    """Generate a trustee key pair: ID.privkey (keep) and ID.pubkey (publish)."""
    try:
        group = group_by_name(group_name)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--group") from exc
    x, public = generate_single(group)
    pub = compact(public.to_json(group)) + "\n"
    ident = sha256_hex(pub)[:8].upper()
    directory.mkdir(parents=True, exist_ok=True)
    private_path = directory / f"{ident}.privkey"
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(str(x)))
    (directory / f"{ident}.pubkey").write_text(pub)
    click.echo(
        f"keypair {ident}: public key in {directory / (ident + '.pubkey')}, "
        f"private key in {private_path} (never send it)"
    )


EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _private_key(
    group: Any, privkey: Path | None, seed: Path | None, ceremony: str | None,
    trustee_id: int | None,
) -> tuple[int, int]:  # fmt: skip
    """(x, owner number) from an ID.privkey, or from a seed and the ceremony's sealed x_j."""
    if privkey is not None:
        if trustee_id is None:
            raise click.UsageError("--trustee-id is needed with --privkey")
        try:
            return int(json.loads(privkey.read_text())) % group.q, trustee_id
        except (ValueError, TypeError, FormatError) as exc:
            raise click.ClickException(f"{privkey}: not a private key") from exc
    if seed is None or ceremony is None:
        raise click.UsageError("give --privkey, or --seed with --ceremony")
    me = _ceremony_trustee(seed, group.name)
    state = _load_ceremony(ceremony)
    certs = [t["cert"] for t in state["trustees"]]
    try:
        position = me.position(certs)
        verification = state["trustees"][position - 1]["verification"]
        if verification is None:
            raise click.ClickException("this trustee's key was never completed (round 5)")
        x = me.private_key(state["uuid"], position, verification)
    except TrusteeError as exc:
        raise click.ClickException(f"{exc.check}: {exc.detail}") from exc
    if trustee_id is not None and trustee_id != position:
        raise click.ClickException(f"this seed is trustee {position}, not {trustee_id}")
    return x, position


@trustee.command("decrypt")
@click.argument("archive", type=EXISTING_FILE)
@click.option("--privkey", type=EXISTING_FILE, help="a single trustee's ID.privkey")
@click.option("--seed", type=EXISTING_FILE, help="a threshold trustee's ID.seed")
@click.option("--ceremony", help="with --seed: the ceremony URL or file")
@click.option("--trustee-id", type=click.IntRange(min=1), help="owner number")
@click.option("--jobs", type=click.IntRange(min=1), default=lambda: os.cpu_count() or 1)
def decrypt(
    archive: Path, privkey: Path | None, seed: Path | None, ceremony: str | None,
    trustee_id: int | None, jobs: int,
) -> None:  # fmt: skip
    """Check ARCHIVE, then print this trustee's partial decryption of its tally."""
    report = verify_archive_bytes(archive.read_bytes(), mapper=process_mapper(jobs))
    if not report.ok:
        first = report.failures[0]
        raise click.ClickException(f"the board does not verify ({first.name}: {first.detail})")
    if report.election is None or report.encrypted_tally is None or report.trustees is None:
        raise click.ClickException("the board has no encrypted tally yet")
    group = report.election.group
    x, trustee_id = _private_key(group, privkey, seed, ceremony, trustee_id)
    keys = owner_keys(report.trustees)
    if trustee_id > len(keys) or keys[trustee_id - 1] != group.g_pow(x):
        raise click.ClickException(
            f"this private key is not trustee {trustee_id}'s in the board's trustees"
        )
    share = partial_decrypt(group, report.election.fingerprint, x, report.encrypted_tally)
    text = share.to_json(group)
    click.echo(text)
    click.echo(compact({"owner": trustee_id, "payload": sha256_hex(text)}))


# --------------------------------------------------------- threshold rounds
def _load_ceremony(source: str) -> dict[str, Any]:
    """The ceremony document, from the server (a URL) or from a saved copy."""
    # imported here: `election verify` starts without httpx (a third of its imports)
    import httpx

    try:
        if source.startswith(("https://", "http://")):
            with httpx.Client(timeout=30, follow_redirects=False) as client:
                response = client.get(source, headers={"Accept": "application/json"})
                response.raise_for_status()
                value = response.json()
        else:
            value = json.loads(Path(source).read_text())
    except (httpx.HTTPError, OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read the ceremony from {source}: {exc}") from exc
    if not isinstance(value, dict) or "trustees" not in value or "uuid" not in value:
        raise click.ClickException(f"{source}: not an election's key ceremony")
    return value


def _ceremony_trustee(seed: Path, group_name: str) -> CeremonyTrustee:
    try:
        group = group_by_name(group_name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    return CeremonyTrustee.from_seed(group, seed.read_text())


def _round_inputs(seed: Path, source: str, needs: str) -> tuple[CeremonyTrustee, dict, list]:
    """Seed, ceremony and certs, once every trustee has sent round ``needs``."""
    state = _load_ceremony(source)
    me = _ceremony_trustee(seed, state.get("group", "BELENIOS-2048"))
    missing = [t["position"] for t in state["trustees"] if t.get(needs) is None]
    if missing:
        raise click.ClickException(
            f"trustee(s) {', '.join(map(str, missing))} have not sent their {needs} yet"
        )
    for t in state["trustees"]:
        click.echo(
            f"trustee {t['position']} ({t['member']}): certificate {cert_fingerprint(t['cert'])}",
            err=True,
        )
    return me, state, [t["cert"] for t in state["trustees"]]


@trustee.group("threshold")
def threshold() -> None:
    """Make a t-of-n trustee key with the other trustees, round by round."""


@threshold.command("cert")
@click.option("--group", "group_name", default="BELENIOS-2048", show_default=True)
@click.option(
    "--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
    default=Path("."), show_default=True,
)  # fmt: skip
def threshold_cert(group_name: str, directory: Path) -> None:
    """Round 1: ID.seed (keep it: it is all you need later) and ID.cert (send it)."""
    try:
        me = CeremonyTrustee.create(group_by_name(group_name))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--group") from exc
    cert = me.cert()
    ident = cert_fingerprint(cert)[:8].upper()
    directory.mkdir(parents=True, exist_ok=True)
    seed_path = directory / f"{ident}.seed"
    fd = os.open(seed_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(me.trustee.seed + "\n")
    (directory / f"{ident}.cert").write_text(compact(cert) + "\n")
    click.echo(
        f"certificate {cert_fingerprint(cert)} in {directory / (ident + '.cert')}; "
        f"seed in {seed_path} (never send it, do not lose it)"
    )


@threshold.command("polynomial")
@click.option("--seed", type=EXISTING_FILE, required=True)
@click.option("--ceremony", "source", required=True, help="the ceremony URL or file")
def threshold_polynomial(seed: Path, source: str) -> None:
    """Round 3: print the signed coefficients and the shares sealed to each trustee."""
    me, state, certs = _round_inputs(seed, source, "cert")
    try:
        click.echo(compact(me.polynomial(state["uuid"], certs, int(state["threshold"]))))
    except TrusteeError as exc:
        raise click.ClickException(f"{exc.check}: {exc.detail}") from exc


@threshold.command("verification")
@click.option("--seed", type=EXISTING_FILE, required=True)
@click.option("--ceremony", "source", required=True, help="the ceremony URL or file")
def threshold_verification(seed: Path, source: str) -> None:
    """Round 5: check the shares sent to you; print your verification key."""
    me, state, certs = _round_inputs(seed, source, "polynomial")
    polys = [t["polynomial"] for t in state["trustees"]]
    try:
        message = me.verification(state["uuid"], certs, polys, int(state["threshold"]))
    except TrusteeError as exc:
        raise click.ClickException(f"{exc.check}: {exc.detail}") from exc
    click.echo(compact(message))


@click.group()
def credentials() -> None:
    """An external credential authority: voters' credentials made off the server."""


@credentials.command("generate")
@click.option("--uuid", "uuid", required=True, help="the election's uuid (from its setup)")
@click.option("--voters", type=EXISTING_FILE, required=True, help="one voter per line")
@click.option("--group", "group_name", default="BELENIOS-2048", show_default=True)
@click.option(
    "--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
    default=Path("."), show_default=True,
)  # fmt: skip
def generate_credentials(uuid: str, voters: Path, group_name: str, directory: Path) -> None:
    """One private credential per voter, and the public list the server takes."""
    try:
        group = group_by_name(group_name)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--group") from exc
    names = [line.strip() for line in voters.read_text().splitlines() if line.strip()]
    if not names or len(set(names)) != len(names):
        raise click.ClickException(f"{voters}: give each voter once, one per line")
    privates = {name: generate_credential() for name in names}
    publics = sorted(
        format_public_credential(group, public_credential(group, uuid, c))
        for c in privates.values()
    )
    directory.mkdir(parents=True, exist_ok=True)
    private_path = directory / f"{uuid}.privcreds"
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.writelines(f"{name} {credential}\n" for name, credential in privates.items())
    (directory / f"{uuid}.pubcreds").write_text(json.dumps(publics) + "\n")
    click.echo(
        f"{len(names)} credentials: private ones in {private_path} (send each voter theirs, "
        f"then destroy the file), public ones in {directory / (uuid + '.pubcreds')} (upload it)"
    )


if __name__ == "__main__":  # python -m imago_fed.commands.election, until cli.py registers it
    election()
