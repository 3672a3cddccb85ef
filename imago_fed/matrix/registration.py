"""The appservice registration file the homeserver loads.

Synapse reads YAML; we write the plain subset (quoted strings, lists) so no
YAML library is needed. ``rate_limited: false`` matters: Synapse rate-limits
appservices by default, which throttles a bridge under any real load.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

__all__ = ["new_token", "registration", "to_yaml"]


def new_token() -> str:
    return secrets.token_urlsafe(32)


def registration(
    *,
    id: str,
    url: str,
    as_token: str,
    hs_token: str,
    sender_localpart: str,
    prefix: str,
    server_name: str,
) -> dict[str, Any]:
    server = re.escape(server_name)
    return {
        "id": id,
        "url": url,
        "as_token": as_token,
        "hs_token": hs_token,
        "sender_localpart": sender_localpart,
        "rate_limited": False,
        "receive_ephemeral": False,
        "namespaces": {
            "users": [{"exclusive": True, "regex": f"@{re.escape(prefix)}.*:{server}"}],
            "aliases": [{"exclusive": True, "regex": f"#{re.escape(prefix)}.*:{server}"}],
            "rooms": [],
        },
    }


def to_yaml(value: Any, indent: int = 0) -> str:
    """YAML for dicts, lists and scalars (strings JSON-quoted, which YAML accepts)."""
    pad = "  " * indent
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{key}:\n{to_yaml(item, indent + 1)}")
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
        return "\n".join(lines)
    if isinstance(value, list):
        lines = []
        for item in value:
            if isinstance(item, dict):
                body = to_yaml(item, indent + 1).lstrip()
                lines.append(f"{pad}- {body}")
            else:
                lines.append(f"{pad}- {_scalar(item)}")
        return "\n".join(lines)
    return pad + _scalar(value)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[]"
    if isinstance(value, dict):
        return "{}"
    return json.dumps(value)
