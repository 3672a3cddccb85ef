"""Prometheus metrics: what happened (counters kept by this process) and what is
(gauges read from the database at scrape time).

    every request ──> imago_http_requests_total{method,route,status}
                      imago_http_request_duration_seconds{route}
    inbox POST    ──> imago_inbox_requests_total{outcome,reason}
    AS PUT        ──> imago_appservice_transactions_total{outcome}
    GET /metrics  ──> gauges: delivery queue depth, deliveries by state,
                      proposals by state, ballots ──> text exposition

Routes are labelled by their rule (``/groups/<slug>``), never by the path, so
the label set stays small whatever is requested. Each app has its own
registry: several apps in one process (tests) never share counters.

Access: with ``[metrics] token`` as a bearer token, or without a token on the
separate ``[metrics] listen`` address, where nothing but ``/metrics`` answers.
Neither set: ``/metrics`` is 404, as if it did not exist.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from quart import Blueprint, Quart, Response, current_app, g, request

from imago_fed.web.errors import ApiError
from imago_fed.web.runtime import runtime

__all__ = [
    "METRICS_PATH",
    "Metrics",
    "app_metrics",
    "inbox_reason",
    "metrics",
    "on_metrics_address",
]

EXTENSION_KEY = "imago_fed.metrics"
METRICS_PATH = "/metrics"
metrics = Blueprint("metrics", __name__)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "imago_http_requests", "HTTP requests answered", ["method", "route", "status"],
            registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "imago_http_request_duration_seconds", "Time to answer, by route", ["route"],
            registry=r,
        )  # fmt: skip
        self.inbox = Counter(
            "imago_inbox_requests", "Inbox POSTs, accepted or refused", ["outcome", "reason"],
            registry=r,
        )  # fmt: skip
        self.transactions = Counter(
            "imago_appservice_transactions", "Matrix appservice transactions received",
            ["outcome"], registry=r,
        )  # fmt: skip
        self.queue_depth = Gauge(
            "imago_delivery_queue_depth", "Deliveries waiting to be sent", registry=r
        )
        self.oldest = Gauge(
            "imago_delivery_queue_oldest_seconds", "Age of the oldest waiting delivery",
            registry=r,
        )  # fmt: skip
        self.deliveries = Gauge(
            "imago_deliveries", "Delivery rows by outcome", ["state"], registry=r
        )
        self.proposals = Gauge("imago_proposals", "Proposals by state", ["state"], registry=r)
        self.ballots = Gauge("imago_ballots", "Secret ballots accepted", registry=r)

    def install(self, app: Quart) -> None:
        app.extensions[EXTENSION_KEY] = self

        @app.before_request
        async def _started() -> None:
            g.metrics_started = time.perf_counter()

        @app.after_request
        async def _count(response: Response) -> Response:
            rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
            started = g.get("metrics_started", time.perf_counter())
            self.count(request.method, rule, response.status_code, started)
            return response

    def count(self, method: str, rule: str, status: int, started: float) -> None:
        """One request answered (Quart's, or the inbox door's in web/inbox_door.py)."""
        self.requests.labels(method, rule, str(status)).inc()
        self.latency.labels(rule).observe(time.perf_counter() - started)


# Refusal reasons carry details (an exception's text); the label keeps their kind
# only, so a stream of forged requests cannot grow the number of series.
_INBOX_REASONS = {
    "the activity id is not on the actor's host": "foreign_id",
    "this instance does not accept activities from you": "blocked",
    "malformed signature": "malformed_signature",
    "signature rejected": "bad_signature",
    "cannot verify the signature": "unverifiable_signature",
    "the signing key does not belong to the activity's actor": "key_mismatch",
}


def inbox_reason(status: int, reason: str) -> str:
    """A bounded label for an inbox refusal."""
    return _INBOX_REASONS.get(reason.split(":", 1)[0], f"http_{status}")


def app_metrics(app: Quart | None = None) -> Metrics:
    return (app or current_app).extensions[EXTENSION_KEY]


def on_metrics_address(scope: Mapping[str, Any] | None = None, listen: str | None = None) -> bool:
    """Whether this request came in on ``[metrics] listen`` (not the public address);
    the current Quart request's, or the ASGI ``scope`` given with the setting."""
    if scope is None:
        scope, listen = request.scope, runtime().settings.metrics.listen
    server = scope.get("server")
    if not listen or not server:
        return False
    return str(server[1]) == listen.rpartition(":")[2]


def _authorised() -> bool:
    if on_metrics_address():
        return True
    token = runtime().settings.metrics.token.value
    if not token:
        raise ApiError(404, "not_found", "no such page")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.encode()
    ):
        raise ApiError(401, "unauthorized", "a metrics bearer token is required")
    return True


@metrics.get(METRICS_PATH)
async def scrape() -> Response:
    _authorised()
    rt, m = runtime(), app_metrics()
    queue = await rt.deliveries_readings.queue()
    m.queue_depth.set(queue.depth)
    age = (rt.clock.now() - queue.oldest).total_seconds() if queue.oldest else 0.0
    m.oldest.set(max(0.0, age))
    # A state with no rows left must read 0, not its last value: start from empty.
    for gauge, counts in (
        (m.deliveries, await rt.activity_counts.deliveries_by_state()),
        (m.proposals, await rt.activity_counts.proposals_by_state()),
    ):
        gauge.clear()
        for state, n in counts.items():
            gauge.labels(state).set(n)
    m.ballots.set(await rt.activity_counts.ballots())
    return Response(generate_latest(m.registry), content_type=CONTENT_TYPE_LATEST)
