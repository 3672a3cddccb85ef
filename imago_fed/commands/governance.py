"""``imago-fed proposal|table|delegate``: decisions from the command line.

The same use cases as the admin API and the Matrix bot (domain/governance/
service.py); a running server publishes what they start (the Question, the
Matrix poll) as soon as the database notifies it.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import click

from imago_fed.commands.common import run, settings_of, with_runtime
from imago_fed.domain.errors import DomainError
from imago_fed.domain.governance.actions import ActionKind
from imago_fed.domain.governance.delegation import Delegation
from imago_fed.domain.governance.proposals import YES_NO

__all__ = ["delegate", "proposal", "table"]


def _fail(exc: DomainError) -> None:
    raise click.ClickException(exc.message) from exc


@click.group()
def proposal() -> None:
    """Open, list and show proposals."""


@proposal.command("create")
@click.argument("slug")
@click.option("--action", type=click.Choice([a.value for a in ActionKind]), required=True)
@click.option("--title", required=True)
@click.option(
    "--option",
    "options",
    multiple=True,
    help="an option (repeat); only a democracy vote takes them (default: "
    + "/".join(YES_NO)
    + "); the other protocols fix their own: oligarchy approve/refuse, "
    "consensus agree/stand aside/block, do-ocracy challenge",
)
@click.option("--params", default="{}", help='JSON, e.g. \'{"block_domain": "spam.example"}\'')
@click.option("--duration-s", type=int, default=None, help="override the protocol's duration")
@click.option("--author", default="admin")
@click.pass_context
def create(ctx: click.Context, slug: str, action: str, title: str, options: tuple[str, ...],
           params: str, duration_s: int | None, author: str) -> None:  # fmt: skip
    """Open a proposal in group SLUG under the protocol its control table names."""
    settings = settings_of(ctx)
    try:
        parsed = json.loads(params)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--params") from exc

    async def act(rt: Any) -> Any:
        group = await rt.groups.get(slug)
        return await rt.governance.propose(
            group.id, action=ActionKind(action), title=title, author=author, options=options,
            params=parsed, duration=timedelta(seconds=duration_s) if duration_s else None,
        )  # fmt: skip

    try:
        created = run(with_runtime(settings, act))
    except DomainError as exc:
        _fail(exc)
    click.echo(f"proposal {created.id} {created.state}: {created.title}")


@proposal.command("list")
@click.argument("slug")
@click.pass_context
def list_(ctx: click.Context, slug: str) -> None:
    """Proposals of group SLUG, newest first."""
    settings = settings_of(ctx)

    async def act(rt: Any) -> list[Any]:
        return await rt.governance_store.list((await rt.groups.get(slug)).id)

    try:
        found = run(with_runtime(settings, act))
    except DomainError as exc:
        _fail(exc)
    for item in found:
        click.echo(f"{item.id}\t{item.state}\t{item.action.value}\t{item.title}")


@proposal.command("show")
@click.argument("proposal_id", type=int)
@click.pass_context
def show(ctx: click.Context, proposal_id: int) -> None:
    """A proposal with its current tally (JSON)."""
    settings = settings_of(ctx)

    async def act(rt: Any) -> dict[str, Any]:
        found = await rt.governance.get(proposal_id)
        outcome = await rt.governance.outcome(found)
        return {
            "id": found.id, "title": found.title, "state": found.state,
            "options": list(found.options), "result": dict(found.result),
            "current": {"verdict": outcome.verdict, "tally": outcome.tally},
        }  # fmt: skip

    try:
        click.echo(json.dumps(run(with_runtime(settings, act)), indent=2, default=str))
    except DomainError as exc:
        _fail(exc)


@click.command()
@click.argument("slug")
@click.pass_context
def table(ctx: click.Context, slug: str) -> None:
    """Group SLUG's control table (JSON). Change it with a proposal: --action amend_table."""
    settings = settings_of(ctx)

    async def act(rt: Any) -> dict[str, Any]:
        return (await rt.governance.table((await rt.groups.get(slug)).id)).to_dict()

    try:
        click.echo(json.dumps(run(with_runtime(settings, act)), indent=2))
    except DomainError as exc:
        _fail(exc)


@click.command()
@click.argument("slug")
@click.argument("delegator")
@click.argument("delegate_to")
@click.option("--scope", default="*", help="*, an action kind, or topic:<name>")
@click.option("--revoke", is_flag=True, help="take DELEGATOR's delegation (in --scope) back")
@click.pass_context
def delegate(ctx: click.Context, slug: str, delegator: str, delegate_to: str, scope: str,
             revoke: bool) -> None:  # fmt: skip
    """Delegate DELEGATOR's vote in group SLUG to DELEGATE_TO (a member or group:<slug>)."""
    settings = settings_of(ctx)

    async def act(rt: Any) -> None:
        group_id = (await rt.groups.get(slug)).id
        if revoke:
            await rt.governance.revoke(group_id, delegator, scope)
        else:
            await rt.governance.delegate(group_id, Delegation(delegator, delegate_to, scope))

    try:
        run(with_runtime(settings, act))
    except DomainError as exc:
        _fail(exc)
    click.echo("revoked" if revoke else f"{delegator} -> {delegate_to} ({scope})")
