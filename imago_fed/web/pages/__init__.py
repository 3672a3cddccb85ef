"""Pages for people: server-rendered HTML (Jinja2 templates), no script needed.

    public.py   /  (the instance's public groups), /groups/<slug> in a browser,
                /status (a summary, when [status] public = true)
    admin.py    /admin/sign-in, /admin/sign-out, /admin/status (checks, charts)
    costs.py    /admin/costs: bills, pledges, contributions, coverage
    invite.py   /invite/<code>: an invitation, and a form to use it
    booth.py    /elections/<id>/booth: a secret ballot encrypted in the browser
                (the one page that needs JavaScript: it says so without it)
    session.py  the admin session cookie and CSRF tokens
    charts.py   inline SVG charts

Templates are in ``web/templates``, the stylesheet in ``web/static``; both ship
inside the package. Every form posts a CSRF token; every page but the booth works
without JavaScript (there a copy button only adds a convenience). The booth's
one request, casting, carries no cookie and no authority but the ballot's own
signature, so it needs no CSRF token.
"""

from __future__ import annotations

from typing import Any

from quart import Quart

from imago_fed.config import Settings
from imago_fed.web.pages.admin import admin_pages
from imago_fed.web.pages.booth import booth_pages
from imago_fed.web.pages.costs import costs_pages
from imago_fed.web.pages.invite import invite_pages
from imago_fed.web.pages.public import public_pages
from imago_fed.web.pages.session import configure_sessions, csrf_token, is_admin

__all__ = ["install_pages"]


def install_pages(app: Quart, settings: Settings, instance_secret: bytes) -> None:
    configure_sessions(app, settings, instance_secret)

    @app.context_processor
    async def _common() -> dict[str, Any]:
        return {
            "instance_domain": settings.instance.domain,
            "csrf_token": csrf_token,
            "signed_in": is_admin,
            "public_status": settings.status.public,
        }

    app.register_blueprint(public_pages)
    app.register_blueprint(admin_pages)
    app.register_blueprint(costs_pages)
    app.register_blueprint(booth_pages)
    app.register_blueprint(invite_pages)
