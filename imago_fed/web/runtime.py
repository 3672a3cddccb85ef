"""What request handlers reach for: the wired services of the running app.

:func:`imago_fed.app.create_app` builds one :class:`Runtime` when the server
starts serving; handlers get it with :func:`runtime`, never from globals.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from quart import current_app

from imago_fed.config import Settings
from imago_fed.domain.groups import GroupDirectory
from imago_fed.keys import KeyVault

__all__ = ["Runtime", "runtime"]

EXTENSION_KEY = "imago_fed"


@dataclass
class Runtime:
    settings: Settings
    pool: asyncpg.Pool
    vault: KeyVault
    groups: GroupDirectory


def runtime() -> Runtime:
    return current_app.extensions[EXTENSION_KEY]
