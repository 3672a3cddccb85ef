"""``imago-fed matrix registration``: the appservice file the homeserver loads.

Both sides must hold the same two tokens: when ``[matrix] as_token`` and
``hs_token`` are empty, new ones are made and written into our config file
first, then into the registration, so they cannot drift apart.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import click

from imago_fed.commands.common import fail, settings_of

__all__ = ["matrix"]


@click.group()
def matrix() -> None:
    """The Matrix application service."""


@matrix.command("registration")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the YAML here (default: print it)")  # fmt: skip
@click.option("--url", default=None, help="where the homeserver reaches us (default: base URL)")
@click.pass_context
def registration(ctx: click.Context, output: Path | None, url: str | None) -> None:
    """Write the appservice registration for the homeserver (app_service_config_files).

    Tokens come from [matrix] as_token/hs_token; when they are empty, new ones
    are made and saved into the config file, so both sides agree.
    """
    from imago_fed.matrix.registration import new_token, to_yaml
    from imago_fed.matrix.registration import registration as make_registration

    settings = settings_of(ctx)
    config = settings.matrix
    as_token, hs_token = config.as_token.value, config.hs_token.value
    if not (as_token and hs_token):
        if settings.source is None:
            fail(ctx, "no config file to save the tokens in: run imago-fed init", 2)
        as_token, hs_token = as_token or new_token(), hs_token or new_token()
        text = settings.source.read_text()
        for key, value in (("as_token", as_token), ("hs_token", hs_token)):
            text, count = re.subn(rf'(?m)^{key} = ""$', f'{key} = "{value}"', text, count=1)
            if not count:
                fail(ctx, f"add {key} to [matrix] in {settings.source} first", 2)
        settings.source.write_text(text)
        click.echo(f"saved new tokens in {settings.source}", err=True)
    if not config.server_name:
        fail(ctx, "set [matrix] server_name first", 2)
    document = (
        to_yaml(
            make_registration(
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
