"""Structured logging with a request id.

Admins feed our output to journald, Loki or a file; one JSON object a line is
what those tools parse. On a terminal we print plain lines instead, because a
person is reading. One-shot commands (``imago-fed group create``, ``check``,
...) are read by a person too, who wants their answer and not the server's
chatter: they show only warnings and errors, as plain lines, unless
``--verbose`` asks for everything. The request id travels in a context variable so every line
logged while a request is handled carries it, down to the store.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from typing import Any

__all__ = [
    "configure_logging",
    "configure_quiet_logging",
    "log_access",
    "new_request_id",
    "request_id_var",
]

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
access_log = logging.getLogger("imago_fed.access")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def new_request_id(incoming: str) -> str:
    """The caller's ``X-Request-Id`` when it is a plain token, else a fresh one."""
    return incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


def log_access(method: str, path: str, status: int, started: float) -> None:
    """The one access log line of a request (``started``: its ``time.perf_counter()``).

    Method, path and status only: never headers nor query, which may carry secrets."""
    if access_log.isEnabledFor(logging.INFO):
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        access_log.info(
            "%s %s %s", method, path, status,
            extra={"method": method, "path": path, "status": status, "duration_ms": duration_ms},
        )  # fmt: skip


# Attributes every LogRecord has; anything else was passed with ``extra=`` and
# belongs in the JSON object.
_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Readable lines for a terminal, with the request id and extras appended."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = {
            k: v
            for k, v in record.__dict__.items()
            if k not in _STANDARD_ATTRS and not k.startswith("_")
        }
        request_id = request_id_var.get()
        if request_id:
            extras = {"request_id": request_id, **extras}
        if extras:
            line += "  " + " ".join(f"{k}={v}" for k, v in extras.items())
        return line


class HumanFormatter(logging.Formatter):
    """``imago-fed: warning: ...``: the shape of the commands' own error lines."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"imago-fed: {record.levelname.lower()}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(level: str = "info", fmt: str = "auto") -> None:
    """Install one handler on the root logger, replacing any earlier one."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    _install(
        JsonFormatter()
        if use_json
        else TextFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"),
        level,
    )


def configure_quiet_logging() -> None:
    """What a one-shot command shows of the log: warnings and errors, one plain line each."""
    _install(HumanFormatter(), "warning")


def _install(formatter: logging.Formatter, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # The HTTP server's own access log duplicates ours; its error log is still useful.
    # (Hypercorn serves the tests' fake peers.)
    for access in ("uvicorn.access", "hypercorn.access"):
        logging.getLogger(access).disabled = True
    for noisy in ("asyncio", "alembic", "pgserver", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
