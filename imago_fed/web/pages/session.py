"""Signing in to the admin pages: the admin token, exchanged once for a session cookie.

    GET  /admin/sign-in   a form (with a CSRF token)
    POST /admin/sign-in   token checked ──> session cookie {admin, csrf, since}
    POST /admin/sign-out  cookie cleared

The cookie is Quart's signed session (key derived from the instance secret),
HttpOnly and SameSite=Strict, Secure when the instance is served over https.
It holds a fingerprint of the admin token, not the token: changing the token
signs everyone out. Every POST of the pages must carry the session's CSRF
token in a hidden field (``csrf``); SameSite already stops most cross-site
posts, the token stops the rest (older browsers, a sibling subdomain).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from quart import Quart, redirect, request, session, url_for

from imago_fed.config import Settings
from imago_fed.web.runtime import runtime

__all__ = [
    "SESSION_LIFETIME",
    "CsrfRefused",
    "configure_sessions",
    "csrf_token",
    "is_admin",
    "require_admin",
    "safe_next",
    "sign_in",
    "sign_out",
    "token_matches",
    "verify_csrf",
]

SESSION_LIFETIME = timedelta(hours=12)
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


class CsrfRefused(Exception):
    """A form was posted without the session's CSRF token."""


def configure_sessions(app: Quart, settings: Settings, instance_secret: bytes) -> None:
    app.secret_key = hmac.new(instance_secret, b"imago-fed admin pages", hashlib.sha256).hexdigest()
    app.config.update(
        SESSION_COOKIE_NAME="imago_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=settings.instance.scheme == "https",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )


def _fingerprint(token: str) -> str:
    return hashlib.sha256(b"admin-token:" + token.encode()).hexdigest()[:32]


def token_matches(given: str) -> bool:
    expected = runtime().settings.instance.admin_token.value
    return bool(given) and hmac.compare_digest(given.strip().encode(), expected.encode())


def csrf_token() -> str:
    """The session's CSRF token (made on first use, kept for the session)."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


async def verify_csrf() -> None:
    form = await request.form
    expected = session.get("csrf")
    given = form.get("csrf", "")
    if not isinstance(expected, str) or not hmac.compare_digest(given.encode(), expected.encode()):
        raise CsrfRefused()


def is_admin() -> bool:
    mark = session.get("admin")
    since = session.get("since")
    expected = _fingerprint(runtime().settings.instance.admin_token.value)
    if not isinstance(mark, str) or not isinstance(since, int | float):
        return False
    fresh = time.time() - since < SESSION_LIFETIME.total_seconds()
    return fresh and hmac.compare_digest(mark, expected)


def sign_in() -> None:
    session.clear()  # a new session on sign-in: nothing carried over from before
    session.permanent = True
    session["admin"] = _fingerprint(runtime().settings.instance.admin_token.value)
    session["since"] = int(time.time())
    session["csrf"] = secrets.token_urlsafe(32)


def sign_out() -> None:
    session.clear()


def safe_next(target: str | None) -> str:
    """Only a local path: a sign-in link must not send anyone to another site."""
    # Browsers read "/\host" as "//host": a backslash anywhere is refused too.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("admin_pages.status_page")


def require_admin(handler: F) -> F:
    @wraps(handler)
    async def guarded(*args: Any, **kwargs: Any) -> Any:
        if not is_admin():
            return redirect(url_for("admin_pages.sign_in_form", next=request.path))
        return await handler(*args, **kwargs)

    return guarded  # type: ignore[return-value]
