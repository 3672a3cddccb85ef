"""Federation with real peers: a second Imago instance and a Fedify server.

    alice (Fedify) ──Follow──> A:news ──Accept──> alice
    B:hub ──Follow (by WebFinger handle)──> A:news ──Accept──> B:hub
    alice ──Create(Note) mentioning news──> A:news
        ──Announce(Create) + Announce(note id)──> alice, B:hub (signed by news)
    mallory (blocked instance) ──Create──> A:news: nothing announced

Every hop is a signed HTTP request verified by the receiver: Fedify checks
our signatures (strict mode: HTTP signature required, key owner == actor) and
we check Fedify's and the other instance's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.interop.fedify_peer import FedifyPeer, FedifyPeerError, _free_port
from tests.interop.instance import Instance, running_instance


async def _contains(probe, item) -> bool:
    return item in await probe()


async def _lacks(probe, item) -> bool:
    return item not in await probe()


async def following_state(instance: Instance, slug: str, actor: str) -> str | None:
    response = await instance.api("GET", f"/groups/{slug}/following")
    for item in response.json()["items"]:
        if item["actor"] == actor:
            return item["state"]
    return None


async def test_group_federation_with_fedify_and_a_second_instance(
    tmp_path: Path, pg_admin_dsn: str
) -> None:
    async with (
        running_instance("a", tmp_path, pg_admin_dsn) as a,
        running_instance("b", tmp_path, pg_admin_dsn) as b,
    ):
        with FedifyPeer("alice") as alice, FedifyPeer("mallory", host="localhost") as mallory:
            await a.create_group("news")
            await b.create_group("hub")
            news = a.actor("news")

            # B's group follows A's group by its handle (WebFinger), A accepts.
            followed = await b.api(
                "POST", "/groups/hub/following", json={"actor": f"@news@{a.domain}"}
            )
            assert followed.status_code == 202, followed.text
            assert followed.json()["actor"] == news

            async def accepted() -> bool:
                return await following_state(b, "hub", news) == "accepted"

            await b.wait_for(accepted, what="A accepted B's follow")

            # The same from the command line, then undone: A drops the follower.
            await b.create_group("hub2")
            hub2 = b.actor("hub2")
            cli = b.cli("group", "follow", "hub2", f"@news@{a.domain}")
            assert cli.returncode == 0, cli.stderr

            async def a_followers() -> list[str]:
                response = await a.api("GET", "/groups/news/followers")
                return response.json()["items"]

            await a.wait_for(
                lambda: _contains(a_followers, hub2), what="hub2 (CLI) became a follower"
            )
            cli = b.cli("group", "unfollow", "hub2", news)
            assert cli.returncode == 0, cli.stderr
            await a.wait_for(
                lambda: _lacks(a_followers, hub2), what="hub2's Undo removed the follower"
            )

            # A Fedify user follows the group and gets a verified Accept.
            await alice.afollow(news)
            accept = await alice.await_for_type("Accept", timeout=30)
            assert accept["actor"] == news
            assert accept["http_signature"]["verified"] is True
            assert accept["http_signature"]["owner"] == news

            # The member posts into the group; the group re-shares it twice.
            post = await alice.apost(news, "<p>Seed swap on Saturday</p>", public=True)
            note_id = post["note_id"]

            def announced(record: dict) -> bool:
                return record["type"] == "Announce" and record["actor"] == news

            await alice.await_for(lambda r: announced(r) and r["object_id"] == note_id, timeout=30)
            await alice.await_for(
                lambda r: announced(r) and r["object_id"] == post["activity_id"], timeout=30
            )
            announces = [r for r in await alice.areceived("Announce") if r["actor"] == news]
            assert all(r["http_signature"]["verified"] for r in announces)
            assert all(r["activity"].get("audience") == news for r in announces)

            # B's group, a follower of A's group, received the Announce too.
            async def b_got_announce() -> list[dict]:
                items = await b.received("hub")
                return [i for i in items if i["type"] == "Announce" and i["actor"] == news]

            got = await b.wait_for(b_got_announce, what="B received A's Announce")
            assert got[0]["state"] == "done"

            # The announced object is served at its id, for threading and re-fetches.
            async def fetched() -> bool:
                records = await alice.areceived("Announce")
                return any(
                    (r.get("fetched") or {}).get("status") == "ok"
                    for r in records
                    if r["object_id"] == note_id
                )

            await a.wait_for(fetched, what="alice fetched the announced note")

            # An instance-wide domain block: mallory's posts are not announced.
            blocked = await a.api("POST", "/blocks", json={"kind": "domain", "value": "localhost"})
            assert blocked.status_code == 201
            # A's inbox answers 403: Fedify reports the delivery as failed.
            with pytest.raises(FedifyPeerError):
                await mallory.afollow(news)
            with pytest.raises(FedifyPeerError):
                await mallory.apost(news, "<p>spam</p>", public=True)
            before = len(await alice.areceived("Announce"))
            await alice.apost(news, "<p>second post</p>", public=True)
            await alice.await_for(
                lambda r: announced(r) and "second post" in str(r["activity"]), timeout=30
            )
            after = [r for r in await alice.areceived("Announce") if r["actor"] == news]
            assert len(after) == before + 2
            assert not any("spam" in str(r["activity"]) for r in after)
            assert not await mallory.areceived("Accept")


async def test_fedify_finds_a_group_by_its_handle_over_https(
    tmp_path: Path, pg_admin_dsn: str
) -> None:
    """The way a fediverse user meets a group: typing @slug@domain (WebFinger, https)."""
    async with running_instance("tls", tmp_path, pg_admin_dsn, tls=True) as c:
        assert c.tls_cert is not None
        with FedifyPeer("carol", extra_ca_file=c.tls_cert) as carol:
            await c.create_group("garden")
            followed = await carol.afollow(f"@garden@{c.domain}")
            assert followed["target"] == c.actor("garden") == f"https://{c.domain}/groups/garden"
            accept = await carol.await_for_type("Accept", timeout=30)
            assert accept["http_signature"]["verified"] is True
            post = await carol.apost(c.actor("garden"), "<p>Tomatoes!</p>", public=True)
            await carol.await_for(
                lambda r: r["type"] == "Announce" and r["object_id"] == post["note_id"], timeout=30
            )


async def test_a_fediverse_founder_out_of_reach_is_admitted_once_back(
    tmp_path: Path, pg_admin_dsn: str
) -> None:
    frida = FedifyPeer("frida", port=_free_port())  # its address, before it runs
    async with running_instance("late", tmp_path, pg_admin_dsn) as server:
        created = await server.create_group("garden", founder=frida.actor_url)
        founder = created["founder"]
        assert founder["role"] == "moderator", created
        assert founder["admitted"].startswith("queued, to be retried"), created

        async def roster() -> list[str]:
            response = await server.api("GET", "/groups/garden/roster")
            return [m["id"] for m in response.json()["items"]]

        assert frida.actor_url not in await roster()
        with frida:  # the peer answers now: the fediverse reader admits her
            told = await frida.await_for_type("Create", timeout=60)
            assert "You are now a member of garden" in str(told)
            assert frida.actor_url in await roster()
