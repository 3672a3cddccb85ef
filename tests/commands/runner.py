"""Running ``imago-fed`` as a person would: a process of its own, in a directory of its own.

The process gets the test configuration file and the test instance's
variables only (:func:`tests.conftest.child_env`), never the developer's.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_ADMIN_TOKEN, child_env

NOWHERE = "postgresql://nobody@127.0.0.1:1/none"


def imago(
    cwd: Path, *args: str, database_url: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    """``imago-fed ARGS`` in ``cwd``, with its data directory there too."""
    full_env = child_env(
        **{
            "IMAGO_INSTANCE_ADMIN_TOKEN": TEST_ADMIN_TOKEN,
            "IMAGO_INSTANCE_DATA_DIR": str(cwd / "data"),
            "IMAGO_LOG_FORMAT": "text",
            **env,
        }
    )
    if database_url:
        full_env["IMAGO_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "imago_fed.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=full_env,
        cwd=cwd,
    )
