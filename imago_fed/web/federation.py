"""Public federation endpoints: discovery, actors, collections, inboxes.

Everything here is read by other servers, so it follows the specs to the
letter: WebFinger (RFC 7033), host-meta (RFC 6415), NodeInfo 2.1, and
ActivityPub with both media types. Actor and key documents are served
unsigned-readable, or key fetches from authorized-fetch servers would loop.
The inboxes' POSTs are not here: web/inbox_door.py answers them before Quart.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from quart import Blueprint, Response, request

from imago_fed.activitypub import documents, people, questions
from imago_fed.activitypub.inbox import authenticate
from imago_fed.activitypub.places import actor_fields
from imago_fed.activitypub.spaces import space_property
from imago_fed.activitypub.vocab import ACTIVITY_JSON, JSON_CONTENT_TYPES
from imago_fed.domain.errors import NotFound
from imago_fed.domain.groups import Group
from imago_fed.services.media import PERSON_AVATAR
from imago_fed.web.pages.public import group_page
from imago_fed.web.params import ascii_int, clean_text
from imago_fed.web.runtime import runtime

__all__ = ["federation"]

log = logging.getLogger(__name__)
federation = Blueprint("federation", __name__)
PAGE_SIZE = 20


def _json(document: Any, status: int = 200, content_type: str = ACTIVITY_JSON) -> Response:
    return Response(
        json.dumps(document, ensure_ascii=False),
        status=status,
        content_type=f"{content_type}; charset=utf-8",
        headers={"Vary": "Accept", "Access-Control-Allow-Origin": "*"},
    )


def _problem(status: int, message: str) -> Response:
    return _json({"error": message}, status, "application/json")


def _wants_html() -> bool:
    accept = request.headers.get("Accept", "")
    return "text/html" in accept and not any(t in accept for t in JSON_CONTENT_TYPES)


async def _group_or_404(slug: str) -> Group:
    return await runtime().groups.get(slug)  # NotFound -> 404 via the error table


# ------------------------------------------------------------- discovery
@federation.get("/.well-known/webfinger")
async def webfinger() -> Response:
    rt = runtime()
    resource = request.args.get("resource", "")
    domain = rt.settings.instance.domain
    slug: str | None = None
    if resource.startswith("acct:"):
        user, _, host = resource[5:].lstrip("@").rpartition("@")
        if host.lower() == domain:
            slug = user
    else:
        slug = rt.ids.parse_group(resource)
    if not slug or not clean_text(slug) or len(slug) > 255:
        return _problem(400 if not resource else 404, "unknown resource")
    try:
        group = await rt.groups.get(slug)
    except NotFound:
        person = await rt.federation_reads.person_by_username(slug)
        if person is None:
            return _problem(404, "no such group")
        url = people.person_url(rt.ids, slug)
        return _json(
            documents.webfinger(f"acct:{slug}@{domain}", url, url),
            content_type="application/jrd+json",
        )
    actor = rt.ids.group(group.slug)
    return _json(
        documents.webfinger(f"acct:{group.slug}@{domain}", actor, actor),
        content_type="application/jrd+json",
    )


@federation.get("/.well-known/host-meta")
async def host_meta() -> Response:
    body = documents.host_meta(runtime().settings.instance.base_url)
    return Response(body, content_type="application/xrd+xml; charset=utf-8")


@federation.get("/.well-known/nodeinfo")
async def nodeinfo_links() -> Response:
    links = documents.nodeinfo_links(runtime().settings.instance.base_url)
    return _json(links, content_type="application/json")


@federation.get("/nodeinfo/2.1")
async def nodeinfo() -> Response:
    rt = runtime()
    groups = await rt.groups.count()
    active = await rt.federation_reads.active_groups()
    return _json(
        documents.nodeinfo(
            groups=groups,
            active_month=active.month,
            active_halfyear=active.halfyear,
            posts=await rt.federation_reads.public_activity_count(),
        ),
        content_type='application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"',
    )


# ----------------------------------------------------------------- actors
@federation.get("/groups/<slug>")
async def group_actor(slug: str) -> Response:
    rt = runtime()
    group = await _group_or_404(slug)
    if _wants_html():
        return await group_page(group)
    faces = await rt.faces.of(group.id) if rt.faces is not None and group.id else None
    return _json(
        documents.actor_document(
            group,
            rt.ids,
            manually_approves=group.manually_approves_followers,
            discoverable=group.discoverable,
            faces=faces,
            graph=await actor_fields(rt.proximity, slug),
            space=await _matrix_space(group),
        )
    )


async def _matrix_space(group: Group) -> dict[str, Any] | None:
    """The group's Matrix space as its actor publishes it (None: no bridge here).

    The alias is known from the slug; the room id only once the bridge made the
    space, which it does soon after the group exists."""
    bridge = runtime().matrix
    if bridge is None or group.id is None:
        return None
    room_id = (await bridge.store.rooms_of(group.id)).get("space")
    return space_property(bridge.ids.space_alias(group.slug), room_id, bridge.ids.server_name)


@federation.get("/actor")
async def instance_actor() -> Response:
    rt = runtime()
    public_pem = await rt.instance_actor.public_pem()
    return _json(documents.instance_actor_document(rt.ids, public_pem, rt.settings.instance.domain))


@federation.get("/people/<username>")
async def person(username: str) -> Response:
    rt = runtime()
    found = await rt.federation_reads.person_by_username(username)
    if found is None:
        return _problem(404, "no such person")
    picture = await rt.media.known(PERSON_AVATAR, found.user_id) if rt.media else None
    return _json(
        people.person_document(
            rt.ids,
            username,
            found.display_name or username,
            found.public_key_pem,
            icon=picture.attachment() if picture else None,
        )
    )


@federation.get("/people/<username>/notes/<token>")
async def person_note(username: str, token: str) -> Response:
    rt = runtime()
    note_uri = f"{people.person_url(rt.ids, username)}/notes/{token}"
    note = await rt.federation_reads.created_object(note_uri)
    if note is None:
        return _problem(404, "no such note")
    return _json({"@context": documents.CONTEXT, **note})


@federation.get("/groups/<slug>/notes/<token>")
async def group_note(slug: str, token: str) -> Response:
    """A Note the group published as itself (a ``publish`` decision); public only."""
    rt = runtime()
    await _group_or_404(slug)
    note = await rt.federation_reads.created_object(f"{rt.ids.group(slug)}/notes/{token}")
    if note is None:
        return _problem(404, "no such note")
    return _json({"@context": documents.CONTEXT, **note})


# ------------------------------------------------------------ collections
def _page_number() -> int | None:
    raw = request.args.get("page")
    if raw is None:
        return None
    return ascii_int(raw, 1, 99_999) or 1


@federation.get("/groups/<slug>/outbox")
async def group_outbox(slug: str) -> Response:
    rt = runtime()
    group = await _group_or_404(slug)
    assert group.id is not None
    collection = rt.ids.group_collection(slug, "outbox")
    max_id = request.args.get("max_id")
    if request.args.get("page") is None:
        total = await rt.federation_reads.public_activity_count(group.id)
        return _json(
            documents.ordered_collection(collection, total, first=f"{collection}?page=true")
        )
    before = ascii_int(max_id)
    rows = await rt.federation_reads.outbox_page(group.id, before=before, limit=PAGE_SIZE)
    next_page = f"{collection}?page=true&max_id={rows[-1][0]}" if len(rows) == PAGE_SIZE else None
    page_id = f"{collection}?page=true" + (f"&max_id={before}" if before else "")
    items = [{k: v for k, v in body.items() if k != "@context"} for _, body in rows]
    return _json(documents.collection_page(collection, page_id, items, next_page=next_page))


@federation.get("/groups/<slug>/followers")
async def group_followers(slug: str) -> Response:
    """Count for everyone; the list only for the group's moderators (signed GET)."""
    rt = runtime()
    group = await _group_or_404(slug)
    assert group.id is not None
    collection = rt.ids.group_collection(slug, "followers")
    total = await rt.federation_reads.follower_count(group.id)
    page = _page_number()
    moderator = await _is_moderator(group)  # a signature check: do it once
    if page is None or not moderator:
        first = f"{collection}?page=1" if moderator else None
        return _json(documents.ordered_collection(collection, total, first=first))
    items = await rt.federation_reads.followers(
        group.id, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    next_page = f"{collection}?page={page + 1}" if len(items) == PAGE_SIZE else None
    return _json(
        documents.collection_page(
            collection, f"{collection}?page={page}", items, next_page=next_page
        )
    )


async def _is_moderator(group: Group) -> bool:
    if "Signature" not in request.headers:
        return False
    rt = runtime()
    try:
        actor = await authenticate(
            rt.resolver,
            method=request.method,
            url=rt.settings.instance.base_url + request.full_path.rstrip("?"),
            headers=list(request.headers.items()),
            body=None,
            now=rt.clock.now(),
        )
    except Exception:  # an unverifiable signature is simply "not a moderator"
        return False
    assert group.id is not None
    return await rt.federation_reads.is_moderator(group.id, actor)


@federation.get("/groups/<slug>/following")
async def group_following(slug: str) -> Response:
    rt = runtime()
    group = await _group_or_404(slug)
    assert group.id is not None
    collection = rt.ids.group_collection(slug, "following")
    following = await rt.federation_reads.following(group.id)
    items = [entry.target for entry in following if entry.state == "accepted"]
    document = documents.ordered_collection(collection, len(items), first=None)
    document["orderedItems"] = items
    return _json(document)


@federation.get("/groups/<slug>/moderators")
async def group_moderators(slug: str) -> Response:
    rt = runtime()
    group = await _group_or_404(slug)
    assert group.id is not None
    items = []
    for member in await rt.federation_reads.moderators(group.id):
        if member.startswith("@"):  # a Matrix moderator appears as their Person, if any
            person = await rt.federation_reads.person_of_member(member)
            if person is not None:
                items.append(people.person_url(rt.ids, person.username))
        else:
            items.append(member)
    collection = rt.ids.group_collection(slug, "moderators")
    document = documents.ordered_collection(collection, len(items), first=None)
    document["orderedItems"] = items
    return _json(document)


@federation.get("/groups/<slug>/proposals/<int:proposal_id>")
async def question(slug: str, proposal_id: int) -> Response:
    """A proposal as a Question with live counts (Mastodon re-fetches viewed polls)."""
    rt = runtime()
    group = await _group_or_404(slug)
    proposal = await rt.governance.get(proposal_id)
    if proposal.group_id != group.id:
        return _problem(404, "no such proposal")
    payload = await rt.governance.describe(proposal)
    closed = proposal.result and proposal.state not in ("open",)
    document = questions.question_document(
        rt.ids, slug, payload, closed_at=proposal.closes_at if closed else None
    )
    return _json({"@context": documents.CONTEXT, **document})


@federation.get("/activities/<token>")
async def activity(token: str) -> Response:
    rt = runtime()
    found = await rt.federation_reads.activity(rt.ids.activity(token))
    if found is None or not found[1]:
        return _problem(404, "no such activity")
    return _json(found[0])


# ---------------------------------------------------------------- inboxes
# POST /inbox and /groups/<slug>/inbox are answered in front of Quart, in raw
# ASGI: web/inbox_door.py.
