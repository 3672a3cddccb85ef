"""The ``imago-fed`` command (shared plumbing in :mod:`imago_fed.commands.common`)."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import sys
from pathlib import Path
from typing import Any, TypeVar

import click

from imago_fed import __version__
from imago_fed.commands.common import run, settings_of, with_runtime
from imago_fed.config import DEFAULT_CONFIG_PATH, Settings

log = logging.getLogger("imago_fed")
T = TypeVar("T")


@click.group()
@click.version_option(__version__, prog_name="imago-fed")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"TOML configuration file (default: $IMAGO_CONFIG, else {DEFAULT_CONFIG_PATH})",
)
@click.pass_context
def main(ctx: click.Context, config_path: Path | None) -> None:
    """Imago Fed: groups that are ActivityPub actors and Matrix spaces at once."""
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path


# ------------------------------------------------------------------- init
@main.command()
@click.option("--domain", default="localhost:8080", show_default=True, help="public host[:port]")
@click.option(
    "--scheme",
    type=click.Choice(["http", "https"]),
    default=None,
    help="default: http for localhost, else https",
)
@click.pass_context
def init(ctx: click.Context, domain: str, scheme: str | None) -> None:
    """Write a starter config with a fresh admin token (never overwrites one)."""
    path: Path = ctx.obj.get("config_path") or Path(
        os.environ.get("IMAGO_CONFIG") or DEFAULT_CONFIG_PATH
    )
    if path.exists():
        click.echo(f"{path} already exists; leaving it as it is.")
        return
    scheme = scheme or ("http" if domain.split(":")[0] in ("localhost", "127.0.0.1") else "https")
    token = secrets.token_urlsafe(32)
    example = Path(__file__).resolve().parents[1] / "config" / "imago.example.toml"
    text = example.read_text() if example.is_file() else ""
    text = (
        text.replace('domain = "localhost:8080"', f'domain = "{domain}"')
        .replace('scheme = "https"', f'scheme = "{scheme}"')
        .replace('admin_token = ""', f'admin_token = "{token}"')
    )
    if f'admin_token = "{token}"' not in text:
        text = f'[instance]\ndomain = "{domain}"\nscheme = "{scheme}"\nadmin_token = "{token}"\n'
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    click.echo(f"wrote {path} (mode 0600)")
    click.echo(f"admin API token: {token}")
    click.echo("keep it secret; it is also in the file. Next: imago-fed serve")


# ------------------------------------------------------------------ serve
@main.command()
@click.pass_context
def serve(ctx: click.Context) -> None:
    """Run the server: database (embedded if none configured), migrations, HTTP."""
    settings = settings_of(ctx)
    try:
        run(_serve(settings))
    except OSError as exc:
        log.error("cannot serve: %s", exc)
        ctx.exit(1)


async def _serve(settings: Settings) -> None:
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config as HypercornConfig

    from imago_fed.app import create_app
    from imago_fed.store import migrations
    from imago_fed.store.database import database_dsn

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async with database_dsn(settings) as dsn:
        await migrations.upgrade(dsn)
        log.info("database schema at %s", migrations.head_revision())
        app = create_app(settings, dsn)
        config = HypercornConfig()
        config.bind = [settings.http.listen]
        if settings.http.tls:
            config.certfile = str(settings.http.tls_cert)
            config.keyfile = str(settings.http.tls_key)
        config.graceful_timeout = float(settings.http.graceful_timeout)
        config.accesslog = None
        config.errorlog = logging.getLogger("hypercorn.error")
        log.info(
            "serving %s on %s",
            settings.instance.base_url,
            settings.http.listen,
            extra={"version": __version__},
        )
        await hypercorn_serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]
        log.info("stopped: in-flight requests finished")


# ----------------------------------------------------------------- worker
@main.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run the inbox and delivery workers (no HTTP) until SIGTERM; see workers_in_serve."""
    settings = settings_of(ctx)
    try:
        problem = run(_worker(settings))
    except OSError as exc:
        problem = f"cannot run the worker: {exc}"
    if problem:
        click.echo(f"imago-fed: {problem}", err=True)
        ctx.exit(1)


async def _worker(settings: Settings) -> str | None:

    from imago_fed.store.database import create_pool, database_dsn

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async with database_dsn(settings) as dsn:
        return await _work(settings, await create_pool(dsn, settings), stop)


async def _work(settings: Settings, pool: Any, stop: asyncio.Event) -> str | None:
    import asyncpg

    from imago_fed.app import build_runtime, close_runtime, start_workers, stop_workers
    from imago_fed.store import migrations

    try:
        async with pool.acquire() as conn:
            current = await migrations.current_revision(conn)
        if current != migrations.head_revision():
            return f"database schema at {current or 'nothing'}: run imago-fed migrate first"
        rt = build_runtime(settings, pool)
        await start_workers(rt)
        log.info("inbox and delivery workers running", extra={"version": __version__})
        await stop.wait()
        await stop_workers(rt)
        await close_runtime(rt)
        log.info("workers stopped: in-flight work finished")
    except asyncpg.PostgresError as exc:
        await pool.close()
        return f"database error: {exc}"
    return None


# ---------------------------------------------------------------- migrate
@main.command()
@click.option("--revision", default="head", show_default=True, help="target revision")
@click.option("--down", is_flag=True, help="downgrade to --revision instead of upgrading")
@click.pass_context
def migrate(ctx: click.Context, revision: str, down: bool) -> None:
    """Bring the database schema to a revision (the latest by default)."""
    settings = settings_of(ctx)

    async def act() -> None:
        from imago_fed.store import migrations
        from imago_fed.store.database import database_dsn

        async with database_dsn(settings) as dsn:
            if down:
                await migrations.downgrade(dsn, revision)
            else:
                await migrations.upgrade(dsn, revision)
            click.echo(f"database at {'base' if revision == 'base' else revision}")

    run(act())


# ------------------------------------------------------------------ check
@main.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate the configuration and reach the database; say what is wrong."""
    settings = settings_of(ctx)
    click.echo(f"configuration: ok ({settings.source or 'defaults and environment'})")

    async def act() -> list[str]:
        import asyncpg

        from imago_fed.store import migrations
        from imago_fed.store.database import database_dsn

        problems: list[str] = []
        try:
            async with database_dsn(settings) as dsn:
                conn = await asyncio.wait_for(asyncpg.connect(dsn), timeout=10)
                try:
                    current = await migrations.current_revision(conn)
                finally:
                    await conn.close()
                head = migrations.head_revision()
                where = "embedded" if not settings.database.url else "configured"
                click.echo(f"database: reachable ({where})")
                if current != head:
                    problems.append(
                        f"database schema at {current or 'nothing'}, expected {head}: "
                        "run imago-fed migrate"
                    )
                else:
                    click.echo(f"schema: at {head}")
        except Exception as exc:  # report every failure, never crash
            problems.append(f"database: unreachable ({type(exc).__name__}: {exc})")
        return problems

    problems = run(act())
    for problem in problems:
        click.echo(problem, err=True)
    ctx.exit(1 if problems else 0)


# ------------------------------------------------------------------ group
@main.group()
def group() -> None:
    """Manage groups."""


@group.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="display name")
@click.option("--summary", default="", help="a short description")
@click.pass_context
def group_create(ctx: click.Context, slug: str, name: str, summary: str) -> None:
    """Create a group with handle @SLUG@domain."""
    from imago_fed.domain.errors import DomainError

    settings = settings_of(ctx)
    try:
        created = run(with_runtime(settings, lambda rt: rt.groups.create(slug, name, summary)))
    except DomainError as exc:
        click.echo(f"imago-fed: {exc.message}", err=True)
        ctx.exit(1)
    click.echo(f"created @{created.slug}@{settings.instance.domain} ({created.name})")


@group.command("list")
@click.pass_context
def group_list(ctx: click.Context) -> None:
    """List groups."""
    settings = settings_of(ctx)

    async def all_groups(rt: Any) -> list[Any]:
        found: list[Any] = []
        after = None
        while page := await rt.groups.list(limit=500, after=after):
            found.extend(page)
            after = page[-1].slug
            if len(page) < 500:
                break
        return found

    for item in run(with_runtime(settings, all_groups)):
        click.echo(f"{item.slug}\t{item.name}\t{item.created_at:%Y-%m-%d}")


@group.command("follow")
@click.argument("slug")
@click.argument("actor")
@click.pass_context
def group_follow(ctx: click.Context, slug: str, actor: str) -> None:
    """Make group SLUG follow ACTOR (@name@host or an actor URL), e.g. a partner group.

    The Follow is queued for delivery; a running server (or worker) sends it.
    """
    from imago_fed.domain.errors import DomainError

    settings = settings_of(ctx)

    async def follow(rt: Any) -> dict[str, Any]:
        return await rt.following.follow(await rt.groups.get(slug), actor)

    try:
        result = run(with_runtime(settings, follow))
    except DomainError as exc:
        click.echo(f"imago-fed: {exc.message}", err=True)
        ctx.exit(1)
    click.echo(f"{slug} asked to follow {result['actor']} (queued)")


@group.command("unfollow")
@click.argument("slug")
@click.argument("actor")
@click.pass_context
def group_unfollow(ctx: click.Context, slug: str, actor: str) -> None:
    """Make group SLUG stop following ACTOR (an actor URL or @name@host)."""
    from imago_fed.domain.errors import DomainError

    settings = settings_of(ctx)

    async def unfollow(rt: Any) -> None:
        await rt.following.unfollow(await rt.groups.get(slug), await rt.following.resolve(actor))

    try:
        run(with_runtime(settings, unfollow))
    except DomainError as exc:
        click.echo(f"imago-fed: {exc.message}", err=True)
        ctx.exit(1)
    click.echo(f"{slug} no longer follows {actor} (Undo queued)")


# ----------------------------------------------------------------- matrix
@main.group()
def matrix() -> None:
    """The Matrix application service."""


@matrix.command("registration")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the YAML here (default: print it)")  # fmt: skip
@click.option("--url", default=None, help="where the homeserver reaches us (default: base URL)")
@click.pass_context
def matrix_registration(ctx: click.Context, output: Path | None, url: str | None) -> None:
    """Write the appservice registration for the homeserver (app_service_config_files).

    Tokens come from [matrix] as_token/hs_token; when they are empty, new ones
    are made and saved into the config file, so both sides agree.
    """
    import re

    from imago_fed.matrix.registration import new_token, registration, to_yaml

    settings = settings_of(ctx)
    config = settings.matrix
    as_token, hs_token = config.as_token.value, config.hs_token.value
    if not (as_token and hs_token):
        if settings.source is None:
            click.echo(
                "imago-fed: no config file to save the tokens in: run imago-fed init", err=True
            )
            ctx.exit(2)
        as_token, hs_token = as_token or new_token(), hs_token or new_token()
        text = settings.source.read_text()
        for key, value in (("as_token", as_token), ("hs_token", hs_token)):
            text, count = re.subn(rf'(?m)^{key} = ""$', f'{key} = "{value}"', text, count=1)
            if not count:
                click.echo(f"imago-fed: add {key} to [matrix] in {settings.source} first", err=True)
                ctx.exit(2)
        settings.source.write_text(text)
        click.echo(f"saved new tokens in {settings.source}", err=True)
    if not config.server_name:
        click.echo("imago-fed: set [matrix] server_name first", err=True)
        ctx.exit(2)
    document = (
        to_yaml(
            registration(
                id=config.appservice_id,
                url=url or settings.instance.base_url,
                as_token=as_token,
                hs_token=hs_token,
                sender_localpart=config.bot_localpart,
                prefix=config.namespace_prefix,
                server_name=config.server_name,
            )
        )
        + "\n"
    )
    if output is None:
        click.echo(document, nl=False)
        return
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(document)
    click.echo(f"wrote {output}; add it to the homeserver's app_service_config_files")


def _register_commands() -> None:
    """Commands that live in their own modules (imago_fed/commands/)."""
    from imago_fed.commands.ballot import ballot
    from imago_fed.commands.election import credentials, election, trustee
    from imago_fed.commands.governance import delegate, proposal, table
    from imago_fed.commands.tally import tally

    for command in (tally, proposal, table, delegate, election, trustee, credentials, ballot):
        main.add_command(command)


_register_commands()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
