"""Liveness and readiness, for load balancers, systemd and container probes.

``/healthz`` answers while the process runs. ``/readyz`` answers 200 only when
the database is reachable *and* at the schema revision this code expects:
serving requests against an older schema would fail in confusing ways.
"""

from __future__ import annotations

import asyncio
import logging

from quart import Blueprint, Response, jsonify

from imago_fed.web.errors import RETRY_AFTER_S
from imago_fed.web.runtime import runtime

__all__ = ["health"]

log = logging.getLogger(__name__)
health = Blueprint("health", __name__)

READY_TIMEOUT_S = 5.0


@health.get("/healthz")
async def healthz() -> Response:
    return jsonify({"status": "ok"})


@health.get("/readyz")
async def readyz() -> tuple[Response, int]:
    schema = runtime().schema
    expected = schema.expected()
    checks: dict[str, object] = {"database": "ok", "migrations": {"expected": expected}}
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            current = await schema.current()
    except Exception as exc:  # any failure (refused, timeout, auth) means "not ready"
        log.warning("readiness: database unreachable", extra={"error": type(exc).__name__})
        checks["database"] = f"unreachable: {type(exc).__name__}"
        response = jsonify({"status": "unavailable", "checks": checks})
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response, 503
    checks["migrations"] = {"expected": expected, "current": current}
    if current != expected:
        return jsonify({"status": "unavailable", "checks": checks}), 503
    return jsonify({"status": "ok", "checks": checks}), 200
