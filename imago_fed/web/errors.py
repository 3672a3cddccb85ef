"""One shape for every JSON error: ``{"error": {"code", "message"}}``.

Domain errors carry no status codes; this module is the one table mapping
them to HTTP. A database that is away (restarting, stopped) is a 503 with
``Retry-After``: senders (other servers, Synapse) keep what they sent and
try again, where a 500 or a 4xx could make them give up. Anything else
unexpected becomes a 500 with a request id to quote, and the traceback goes
to the log, never to the client.

A person who follows a dead link in a browser gets a page instead of JSON:
a 404 for a request that asks for HTML and not for JSON (browsers do, API
clients, peers and homeservers never do) is rendered from ``not_found.html``.
The admin API and the Matrix appservice API always answer JSON.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from quart import Quart, Response, has_request_context, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from imago_fed.domain.errors import Conflict, DomainError, InvalidInput, NotFound, UpstreamFailed
from imago_fed.logs import request_id_var

__all__ = [
    "RETRY_AFTER_S",
    "ApiError",
    "error_document",
    "error_response",
    "register_error_handlers",
    "unexpected_error",
    "wants_html",
]

log = logging.getLogger(__name__)

DOMAIN_STATUS: dict[type[DomainError], tuple[int, str]] = {
    InvalidInput: (422, "invalid_input"),
    NotFound: (404, "not_found"),
    Conflict: (409, "conflict"),
    UpstreamFailed: (502, "upstream_failed"),
}
#: Seconds a client is told to wait when the database is away.
RETRY_AFTER_S = 5


class ApiError(Exception):
    """An HTTP-level refusal raised by a handler (bad auth, malformed body)."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.field = field


def error_document(code: str, message: str, **extra: object) -> dict[str, object]:
    """The one error shape, as a document (Quart's ``jsonify`` or the inbox door render it)."""
    return {"error": {"code": code, "message": message, **extra}}


def error_response(status: int, code: str, message: str, **extra: object) -> Response:
    response = jsonify(error_document(code, message, **extra))
    response.status_code = status
    return response


def unexpected_error(
    exc: BaseException, unavailable: Callable[[BaseException], bool]
) -> tuple[int, dict[str, object], dict[str, str]]:
    """What an exception nobody handled becomes: status, document, headers (and a log line).

    The database away is a 503 with Retry-After; anything else a 500 with the
    request id to quote (the traceback to our log, never to the client)."""
    if unavailable(exc):
        log.warning("database unreachable", extra={"error": type(exc).__name__})
        message = "the server cannot reach its database; try again shortly"
        return 503, error_document("unavailable", message), {"Retry-After": str(RETRY_AFTER_S)}
    log.error("unhandled error", exc_info=exc)
    message = "internal error; quote the request id to the admin"
    return 500, error_document("internal_error", message, request_id=request_id_var.get()), {}


#: Paths whose clients are programs: their errors stay JSON whatever they accept.
_MACHINE_PATHS = ("/api/", "/_matrix/", "/.well-known/", "/nodeinfo/")


def wants_html() -> bool:
    """Whether the request comes from a browser navigating (HTML asked, no JSON type)."""
    if not has_request_context() or request.path.startswith(_MACHINE_PATHS):
        return False
    accept = request.headers.get("Accept", "").lower()
    return "text/html" in accept and "json" not in accept


async def not_found_page() -> Response:
    """The 404 page for people: what was asked for, and where to go from here."""
    body = await render_template("not_found.html", path=request.path)
    response = Response(body, status=404, content_type="text/html; charset=utf-8")
    response.headers["Vary"] = "Accept"
    return response


def _never(_: BaseException) -> bool:
    return False


def register_error_handlers(
    app: Quart, *, unavailable: Callable[[BaseException], bool] = _never
) -> None:
    """``unavailable`` tells an exception meaning "the database is away" (503)."""

    @app.errorhandler(ApiError)
    async def _api_error(exc: ApiError) -> Response:
        if exc.status == 404 and wants_html():
            return await not_found_page()
        extra = {"field": exc.field} if exc.field else {}
        response = error_response(exc.status, exc.code, exc.message, **extra)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="imago-fed"'
        return response

    @app.errorhandler(DomainError)
    async def _domain_error(exc: DomainError) -> Response:
        status, code = DOMAIN_STATUS.get(type(exc), (400, "bad_request"))
        if status == 404 and wants_html():
            return await not_found_page()
        extra = {"field": exc.field} if exc.field else {}
        return error_response(status, code, exc.message, **extra)

    @app.errorhandler(HTTPException)
    async def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        if status == 404 and wants_html():
            return await not_found_page()
        code = (exc.name or "error").lower().replace(" ", "_")
        response = error_response(status, code, exc.description or exc.name or "error")
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        return response

    @app.errorhandler(Exception)
    async def _unexpected(exc: Exception) -> Response:
        status, document, headers = unexpected_error(exc, unavailable)
        response = jsonify(document)
        response.status_code = status
        response.headers.update(headers)
        return response
