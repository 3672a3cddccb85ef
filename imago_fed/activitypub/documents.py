"""The documents we serve: actor, WebFinger, NodeInfo, collections.

Pure functions from domain values to JSON. Mastodon's requirements shape
them: ``preferredUsername`` set, the WebFinger ``self`` link exactly equal to
the actor id, ``publicKey`` inline with ``id = <actor>#main-key``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from imago_fed import __version__
from imago_fed.activitypub.ids import Ids
from imago_fed.activitypub.media import face_document
from imago_fed.activitypub.vocab import ACTIVITY_JSON, AS2_CONTEXT, SECURITY_CONTEXT
from imago_fed.domain.groups import Group
from imago_fed.domain.media import Attachment

__all__ = [
    "CONTEXT",
    "actor_document",
    "collection_page",
    "host_meta",
    "instance_actor_document",
    "nodeinfo",
    "nodeinfo_links",
    "ordered_collection",
    "webfinger",
]

# Extension terms we emit, declared inline so no receiver needs to fetch anything.
CONTEXT: list[Any] = [
    AS2_CONTEXT,
    SECURITY_CONTEXT,
    {
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "toot": "http://joinmastodon.org/ns#",
        "discoverable": "toot:discoverable",
        "sensitive": "as:sensitive",
        "Hashtag": "as:Hashtag",
        "imago": "https://w3id.org/imago-fed/ns#",
        "relations": {"@id": "imago:relations", "@type": "@id"},
        "matrixSpace": "imago:matrixSpace",
        "matrixAlias": "imago:matrixAlias",
        "matrixRoomId": "imago:matrixRoomId",
        "matrixServer": "imago:matrixServer",
    },
]


def actor_document(
    group: Group, ids: Ids, *, manually_approves: bool, discoverable: bool,
    faces: Mapping[str, Attachment] | None = None, graph: dict[str, Any] | None = None,
    space: dict[str, Any] | None = None,
) -> dict:  # fmt: skip
    """The Group actor; ``faces`` (avatar, header) become ``icon`` and ``image``;
    ``graph``: the group's ``location`` and theme ``tag``s (activitypub/places.py);
    ``space``: its Matrix space, so other servers can link theirs to it
    (activitypub/spaces.py)."""
    actor = ids.group(group.slug)
    document = {
        "@context": CONTEXT,
        "id": actor,
        "type": "Group",
        "preferredUsername": group.slug,
        "name": group.name,
        "summary": _html_paragraphs(group.summary),
        "url": actor,
        "inbox": ids.group_collection(group.slug, "inbox"),
        "outbox": ids.group_collection(group.slug, "outbox"),
        "followers": ids.group_collection(group.slug, "followers"),
        "following": ids.group_collection(group.slug, "following"),
        "attributedTo": ids.group_collection(group.slug, "moderators"),
        "relations": f"{actor}/relations",  # the accepted graph edges (activitypub/relations.py)
        "endpoints": {"sharedInbox": ids.shared_inbox},
        "manuallyApprovesFollowers": manually_approves,
        "discoverable": discoverable,
        "published": group.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "publicKey": {
            "id": ids.group_key(group.slug),
            "owner": actor,
            "publicKeyPem": group.keys.public_pem,
        },
        **(graph or {}),
    }
    if space:
        document["matrixSpace"] = space
    for role, key in (("avatar", "icon"), ("header", "image")):
        if faces and role in faces:
            document[key] = face_document(ids.base_url, faces[role])
    return document


def instance_actor_document(ids: Ids, public_pem: str, domain: str) -> dict:
    """The instance's own actor: it signs fetches made on no group's behalf."""
    return {
        "@context": CONTEXT,
        "id": ids.instance_actor,
        "type": "Application",
        "preferredUsername": domain.split(":")[0],
        "name": "Imago Fed",
        "inbox": ids.shared_inbox,
        "outbox": ids.instance_actor + "/outbox",
        "endpoints": {"sharedInbox": ids.shared_inbox},
        "manuallyApprovesFollowers": True,
        "url": ids.base_url,
        "publicKey": {
            "id": ids.instance_key,
            "owner": ids.instance_actor,
            "publicKeyPem": public_pem,
        },
    }


def _html_paragraphs(text: str) -> str:
    from html import escape

    return "".join(f"<p>{escape(part)}</p>" for part in text.split("\n\n") if part.strip())


def webfinger(subject: str, actor_id: str, profile_url: str) -> dict:
    return {
        "subject": subject,
        "aliases": [actor_id],
        "links": [
            {"rel": "self", "type": ACTIVITY_JSON, "href": actor_id},
            {
                "rel": "http://webfinger.net/rel/profile-page",
                "type": "text/html",
                "href": profile_url,
            },
        ],
    }


def host_meta(base_url: str) -> str:
    template = f"{base_url}/.well-known/webfinger?resource={{uri}}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template="{template}"/>\n'
        "</XRD>\n"
    )


def nodeinfo_links(base_url: str) -> dict:
    return {
        "links": [
            {
                "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
                "href": f"{base_url}/nodeinfo/2.1",
            }
        ]
    }


def nodeinfo(*, groups: int, active_month: int, active_halfyear: int, posts: int) -> dict:
    return {
        "version": "2.1",
        "software": {
            "name": "imago-fed",
            "version": __version__,
        },
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": False,
        "usage": {
            "users": {
                "total": groups,
                "activeMonth": active_month,
                "activeHalfyear": active_halfyear,
            },
            "localPosts": posts,
        },
        "metadata": {"nodeName": "Imago Fed", "groups": groups},
    }


def ordered_collection(collection_id: str, total: int, *, first: str | None) -> dict:
    document: dict[str, Any] = {
        "@context": AS2_CONTEXT,
        "id": collection_id,
        "type": "OrderedCollection",
        "totalItems": total,
    }
    if first is not None:
        document["first"] = first
    return document


def collection_page(
    collection_id: str, page_id: str, items: list[Any], *, next_page: str | None
) -> dict:
    document: dict[str, Any] = {
        "@context": AS2_CONTEXT,
        "id": page_id,
        "type": "OrderedCollectionPage",
        "partOf": collection_id,
        "orderedItems": items,
    }
    if next_page is not None:
        document["next"] = next_page
    return document
