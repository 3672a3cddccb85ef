"""``imago-fed group create|list|follow|unfollow|invite|invitations|revoke|members``.

The same use cases as the admin API (``rt.groups``, ``rt.following``); what
they queue (a Follow, an Undo, a new actor's profile) is sent by a running
``serve`` or ``worker``, woken by the database.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click

from imago_fed.commands.common import fail, run, settings_of, with_runtime
from imago_fed.domain.errors import DomainError

__all__ = ["group"]

PAGE = 500


@click.group()
def group() -> None:
    """Manage groups."""


@group.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="display name")
@click.option("--summary", default="", help="a short description")
@click.option("--founder", default=None, help="@me:server or @me@host: first member, moderator")
@click.pass_context
def create(ctx: click.Context, slug: str, name: str, summary: str, founder: str | None) -> None:
    """Create a group with handle @SLUG@domain (and its founder, if given)."""
    settings = settings_of(ctx)

    async def act(rt: Any) -> tuple[Any, dict[str, str] | None]:
        who = await rt.membership.founder_id(founder) if founder else None
        created = await rt.groups.create(slug, name, summary)
        return created, (await rt.membership.found(created, who) if who else None)

    try:
        created, founded = run(with_runtime(settings, act))
    except DomainError as exc:
        fail(ctx, exc.message)
    click.echo(f"created @{created.slug}@{settings.instance.domain} ({created.name})")
    if founded:
        done = founded["admitted"] or f"not admitted yet: {founded.get('error', '')}"
        click.echo(f"founder {founded['id']}: moderator; {done}")


@group.command("invite")
@click.argument("slug")
@click.option("--max-uses", default=1, show_default=True, type=int)
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 365))
@click.pass_context
def invite(ctx: click.Context, slug: str, max_uses: int, days: int) -> None:
    """Create an invitation to group SLUG: prints its code and link."""
    settings = settings_of(ctx)

    async def act(rt: Any) -> dict[str, Any]:
        made = await rt.membership.create_invitation(
            await rt.groups.get(slug), created_by="cli", max_uses=max_uses,
            expires_in=timedelta(days=days),
        )  # fmt: skip
        return rt.membership.invitation_json(made)

    try:
        shown = run(with_runtime(settings, act))
    except DomainError as exc:
        fail(ctx, exc.message)
    click.echo(f"{shown['code']}\t{shown['url']}\t{shown['max_uses']} use(s)\tuntil "
               f"{shown['expires_at']}")  # fmt: skip


@group.command("invitations")
@click.argument("slug")
@click.pass_context
def invitations(ctx: click.Context, slug: str) -> None:
    """List group SLUG's invitations: code, uses, expiry, revoked."""
    settings = settings_of(ctx)

    async def act(rt: Any) -> list[Any]:
        return await rt.membership.invitations(await rt.groups.get(slug))

    try:
        found = run(with_runtime(settings, act))
    except DomainError as exc:
        fail(ctx, exc.message)
    for item in found:
        state = "revoked" if item.revoked_at else f"{item.uses}/{item.max_uses} used"
        click.echo(f"{item.code}\t{state}\tuntil {item.expires_at:%Y-%m-%d %H:%M}")


@group.command("revoke")
@click.argument("slug")
@click.argument("code")
@click.pass_context
def revoke(ctx: click.Context, slug: str, code: str) -> None:
    """Revoke invitation CODE of group SLUG."""
    settings = settings_of(ctx)

    async def act(rt: Any) -> None:
        await rt.membership.revoke(await rt.groups.get(slug), code)

    try:
        run(with_runtime(settings, act))
    except DomainError as exc:
        fail(ctx, exc.message)
    click.echo(f"invitation {code} revoked")


@group.command("members")
@click.argument("slug")
@click.pass_context
def members(ctx: click.Context, slug: str) -> None:
    """List group SLUG's members: id, network, role, since."""
    settings = settings_of(ctx)

    async def act(rt: Any) -> list[dict[str, Any]]:
        return await rt.membership.roster(await rt.groups.get(slug))

    try:
        found = run(with_runtime(settings, act))
    except DomainError as exc:
        fail(ctx, exc.message)
    for m in found:
        click.echo(f"{m['id']}\t{m['network']}\t{m['role']}\t{m['state']}\t{m['since'][:10]}")


@group.command("list")
@click.pass_context
def list_(ctx: click.Context) -> None:
    """List groups."""
    settings = settings_of(ctx)

    async def all_groups(rt: Any) -> list[Any]:
        found: list[Any] = []
        after = None
        while page := await rt.groups.list(limit=PAGE, after=after):
            found.extend(page)
            after = page[-1].slug
            if len(page) < PAGE:
                break
        return found

    for item in run(with_runtime(settings, all_groups)):
        click.echo(f"{item.slug}\t{item.name}\t{item.created_at:%Y-%m-%d}")


@group.command("follow")
@click.argument("slug")
@click.argument("actor")
@click.pass_context
def follow(ctx: click.Context, slug: str, actor: str) -> None:
    """Make group SLUG follow ACTOR (@name@host or an actor URL), e.g. a partner group.

    The Follow is queued for delivery; a running server (or worker) sends it.
    """
    settings = settings_of(ctx)

    async def act(rt: Any) -> dict[str, Any]:
        return await rt.following.follow(await rt.groups.get(slug), actor)

    try:
        result = run(with_runtime(settings, act))
    except DomainError as exc:
        fail(ctx, exc.message)
    click.echo(f"{slug} asked to follow {result['actor']} (queued)")


@group.command("unfollow")
@click.argument("slug")
@click.argument("actor")
@click.pass_context
def unfollow(ctx: click.Context, slug: str, actor: str) -> None:
    """Make group SLUG stop following ACTOR (an actor URL or @name@host)."""
    settings = settings_of(ctx)

    async def act(rt: Any) -> None:
        await rt.following.unfollow(await rt.groups.get(slug), await rt.following.resolve(actor))

    try:
        run(with_runtime(settings, act))
    except DomainError as exc:
        fail(ctx, exc.message)
    click.echo(f"{slug} no longer follows {actor} (Undo queued)")
