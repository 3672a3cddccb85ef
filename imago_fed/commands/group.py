"""``imago-fed group create|list|follow|unfollow``: groups from the command line.

The same use cases as the admin API (``rt.groups``, ``rt.following``); what
they queue (a Follow, an Undo, a new actor's profile) is sent by a running
``serve`` or ``worker``, woken by the database.
"""

from __future__ import annotations

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
@click.pass_context
def create(ctx: click.Context, slug: str, name: str, summary: str) -> None:
    """Create a group with handle @SLUG@domain."""
    settings = settings_of(ctx)
    try:
        created = run(with_runtime(settings, lambda rt: rt.groups.create(slug, name, summary)))
    except DomainError as exc:
        fail(ctx, exc.message)
    click.echo(f"created @{created.slug}@{settings.instance.domain} ({created.name})")


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
