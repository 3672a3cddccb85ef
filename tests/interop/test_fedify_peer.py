"""The Fedify test peer itself works: two real Fedify peers talk signed ActivityPub.

alice and bob run in strict mode, so every inbox POST must carry a cavage HTTP signature
that Fedify's ``verifyRequest`` accepts, by a key owned by the activity's actor.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.interop.fedify_peer import FedifyPeer, FedifyPeerError

AP_ACCEPT = {"Accept": "application/activity+json"}


@pytest.fixture(scope="module")
def alice() -> Iterator[FedifyPeer]:
    with FedifyPeer("alice") as peer:
        yield peer


@pytest.fixture(scope="module")
def bob() -> Iterator[FedifyPeer]:
    with FedifyPeer("bob") as peer:
        yield peer


def _assert_signed_by(record: dict, peer: FedifyPeer) -> None:
    sig = record["http_signature"]
    assert sig is not None, record
    assert sig["verified"] is True
    assert sig["key_id"] == peer.key_id
    assert sig["owner"] == peer.actor_url
    assert 'algorithm="rsa-sha256"' in sig["header"]
    assert record["actor"] == peer.actor_url


def test_peer_serves_actor_and_webfinger(alice: FedifyPeer) -> None:
    actor = httpx.get(alice.actor_url, headers=AP_ACCEPT).json()
    assert actor["id"] == alice.actor_url
    assert actor["type"] == "Person"
    assert actor["inbox"] == alice.inbox_url
    assert actor["endpoints"]["sharedInbox"] == alice.shared_inbox_url
    assert actor["followers"] == alice.followers_url
    assert actor["publicKey"]["id"] == alice.key_id
    assert actor["publicKey"]["owner"] == alice.actor_url
    assert "BEGIN PUBLIC KEY" in actor["publicKey"]["publicKeyPem"]

    host = alice.base_url.removeprefix("http://")
    wf = httpx.get(
        f"{alice.base_url}/.well-known/webfinger",
        params={"resource": f"acct:alice@{host}"},
    ).json()
    assert {"rel": "self", "href": alice.actor_url, "type": "application/activity+json"} in wf[
        "links"
    ]


def test_follow_is_signed_and_accepted(alice: FedifyPeer, bob: FedifyPeer) -> None:
    result = alice.follow(bob.actor_url)
    follow_id = result["id"]
    assert result["target"] == bob.actor_url

    follow = bob.wait_for_type("Follow", id=follow_id)
    _assert_signed_by(follow, alice)
    assert follow["object_id"] == bob.actor_url
    assert follow["recipient"] == "bob"
    assert follow["activity"]["type"] == "Follow"

    accept = alice.wait_for_type("Accept", actor=bob.actor_url)
    _assert_signed_by(accept, bob)
    assert accept["object_id"] == follow_id
    assert alice.state()["following"][bob.actor_url]["state"] == "accepted"

    assert alice.actor_url in bob.state()["followers"]
    followers = httpx.get(bob.followers_url, headers=AP_ACCEPT).json()
    assert followers["totalItems"] == 1


def test_post_is_delivered_and_note_is_fetchable(alice: FedifyPeer, bob: FedifyPeer) -> None:
    result = alice.post(bob.actor_url, "<p>Hello <b>bob</b></p>", public=True)
    note_id = result["note_id"]

    create = bob.wait_for_type("Create", id=result["activity_id"])
    _assert_signed_by(create, alice)
    assert create["object_id"] == note_id
    note_in_create = create["activity"]["object"]
    assert note_in_create["content"] == "<p>Hello <b>bob</b></p>"

    note = httpx.get(note_id, headers=AP_ACCEPT).json()
    assert note["id"] == note_id
    assert note["type"] == "Note"
    assert note["attributedTo"] == alice.actor_url
    assert note["content"] == "<p>Hello <b>bob</b></p>"
    tags = note["tag"] if isinstance(note["tag"], list) else [note["tag"]]
    assert any(t["type"] == "Mention" and t["href"] == bob.actor_url for t in tags)
    # Fedify compacts the public collection to "as:Public".
    to = note["to"] if isinstance(note["to"], list) else [note["to"]]
    assert bob.actor_url in to
    assert "as:Public" in to

    alice.like(note_id, bob.actor_url)
    like = bob.wait_for_type("Like", object_id=note_id)
    _assert_signed_by(like, alice)

    alice.delete(note_id, bob.actor_url)
    delete = bob.wait_for_type("Delete", object_id=note_id)
    _assert_signed_by(delete, alice)
    assert httpx.get(note_id, headers=AP_ACCEPT).status_code == 404


def test_announce_of_uri_is_dereferenced_with_signed_get(
    alice: FedifyPeer, bob: FedifyPeer
) -> None:
    note_id = bob.post(alice.actor_url, "<p>to be boosted</p>")["note_id"]
    announce_id = bob.send(
        alice.actor_url, {"type": "Announce", "object": note_id, "to": alice.actor_url}
    )["id"]

    def fetched(record: dict) -> bool:
        return (
            record["id"] == announce_id
            and record["fetched"] is not None
            and record["fetched"]["status"] != "pending"
        )

    announce = alice.wait_for(fetched, description="Announce with fetched object")
    _assert_signed_by(announce, bob)
    assert announce["fetched"]["status"] == "ok", announce["fetched"]
    assert announce["fetched"]["type"] == "Note"
    assert announce["fetched"]["object"]["id"] == note_id
    assert announce["fetched"]["object"]["content"] == "<p>to be boosted</p>"


def test_unfollow_sends_undo(alice: FedifyPeer, bob: FedifyPeer) -> None:
    follow_id = alice.follow(bob.actor_url)["id"]
    alice.wait_for(lambda r: r["type"] == "Accept" and r["object_id"] == follow_id)
    undo = alice.unfollow(bob.actor_url)
    record = bob.wait_for_type("Undo", id=undo["id"])
    _assert_signed_by(record, alice)
    assert record["object_id"] == follow_id
    assert alice.actor_url not in bob.state()["followers"]


def test_strict_peer_rejects_unsigned_delivery_and_foreign_actor(
    alice: FedifyPeer, bob: FedifyPeer
) -> None:
    # A perfectly valid activity (LD signature + Object Integrity proof included),
    # re-POSTed without an HTTP signature: the strict peer refuses it.
    result = alice.post(bob.actor_url, "<p>replayed</p>")
    create = bob.wait_for_type("Create", id=result["activity_id"])
    raw = create["activity"]
    assert create["ld_signature"] and create["proof"]
    resp = httpx.post(
        bob.inbox_url, json=raw, headers={"Content-Type": "application/activity+json"}
    )
    assert resp.status_code == 401
    assert bob.rejected()[-1]["reason"] == "no Signature header"

    # Signed by alice's key but claiming bob as the actor: key owner != actor.
    with pytest.raises(FedifyPeerError) as excinfo:
        alice.send(bob.actor_url, {"type": "Like", "actor": bob.actor_url, "object": raw["id"]})
    assert excinfo.value.status == 502
    last = bob.rejected()[-1]
    assert last["status"] == 401
    assert "not owned by the actor" in last["reason"]
    assert last["signature"]["key_id"] == alice.key_id


def test_stock_fedify_accepts_ld_signed_activity_without_http_signature(
    alice: FedifyPeer, bob: FedifyPeer
) -> None:
    """Documents the leniency that strict mode removes (Mastodon would answer 401)."""
    result = alice.post(bob.actor_url, "<p>seen by bob</p>")
    raw = bob.wait_for_type("Create", id=result["activity_id"])["activity"]
    headers = {"Content-Type": "application/activity+json"}
    with FedifyPeer("carol", strict=False) as carol:
        # Tampered copy: LD signature and proof no longer verify -> Fedify wants HTTP sig.
        tampered = dict(raw, id=raw["id"] + "-tampered")
        assert httpx.post(carol.inbox_url, json=tampered, headers=headers).status_code == 401
        # Untouched copy, no HTTP signature at all: stock Fedify accepts it.
        assert httpx.post(carol.inbox_url, json=raw, headers=headers).status_code == 202
        record = carol.wait_for_type("Create", id=result["activity_id"])
        assert record["http_signature"] is None


async def test_async_api(alice: FedifyPeer, bob: FedifyPeer) -> None:
    result = await alice.apost(bob.actor_url, "<p>async</p>", name="A thread title")
    record = await bob.await_for_type("Create", id=result["activity_id"])
    assert record["activity"]["object"]["name"] == "A thread title"
