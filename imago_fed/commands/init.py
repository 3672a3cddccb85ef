"""``imago-fed init``: a starter configuration with a fresh admin token.

It starts from ``config/imago.example.toml`` (every key, commented) and fills
in the domain, the scheme and the token. The scheme it writes is ``http`` for
localhost and ``https`` for anything else, while the configuration's own
default (no file, no variable) stays ``https``: a server on a real domain is
never served as plain http by accident. The file is created mode 0600 and
never overwritten, since it holds the admin token.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click

from imago_fed.config import CONFIG_ENV, DEFAULT_CONFIG_PATH

__all__ = ["init"]

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "imago.example.toml"
LOCAL_HOSTS = ("localhost", "127.0.0.1")


def starter_config(domain: str, scheme: str, token: str, example: str) -> str:
    """The example file with our three values, or a minimal file without one."""
    text = (
        example.replace('domain = "localhost:8080"', f'domain = "{domain}"')
        .replace('scheme = "https"', f'scheme = "{scheme}"')
        .replace('admin_token = ""', f'admin_token = "{token}"')
    )
    if f'admin_token = "{token}"' not in text:
        text = f'[instance]\ndomain = "{domain}"\nscheme = "{scheme}"\nadmin_token = "{token}"\n'
    return text


@click.command()
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
    path: Path = ctx.find_root().obj.get("config_path") or Path(
        os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH
    )
    if path.exists():
        click.echo(f"{path} already exists; leaving it as it is.")
        return
    scheme = scheme or ("http" if domain.split(":")[0] in LOCAL_HOSTS else "https")
    token = secrets.token_urlsafe(32)
    example = EXAMPLE.read_text() if EXAMPLE.is_file() else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(starter_config(domain, scheme, token, example))
    click.echo(f"wrote {path} (mode 0600)")
    click.echo(f"admin API token: {token}")
    click.echo("keep it secret; it is also in the file. Next: imago-fed serve")
