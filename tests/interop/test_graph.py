"""The graph of groups across three real instances and two Fedify peers.

    A:news ◀─partner─▶ B:hub ◀─partner─▶ C:end        (Offer / Accept, signed)
       ▲                                    │
       └──────────── partner (later) ───────┘          (a cycle)

    alice (Fedify) posts into news; news propagates the note:
      hop_limit 1  -> hub only            hop_limit 2 -> hub, then end
      end opted out -> hub only           on the cycle -> hub and end once each
    bob (Fedify) follows end: he gets end's boost (Announce of the note id).

Every hop is a signed HTTP request verified by the receiving server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.interop.fedify_peer import FedifyPeer
from tests.interop.instance import Instance, running_instance

AT_ONCE = {"reannounce": "at_once"}


async def relations(instance: Instance, slug: str, state: str | None = None) -> list[dict]:
    params = {"state": state} if state else {}
    response = await instance.api("GET", f"/groups/{slug}/relations", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def items(instance: Instance, slug: str) -> dict[str, dict[str, Any]]:
    response = await instance.api("GET", f"/groups/{slug}/propagations")
    assert response.status_code == 200, response.text
    return {i["object_id"]: i for i in response.json()["items"]}


async def relate(left: Instance, a: str, right: Instance, b: str) -> None:
    """``a`` proposes a partnership over the network; ``b`` accepts under its own table."""
    proposed = await left.api(
        "POST", f"/groups/{a}/relations", json={"target": f"@{b}@{right.domain}", "kind": "partner"}
    )
    assert proposed.status_code == 202, proposed.text
    assert proposed.json()["state"] == "executed"  # the default table: do-ocracy

    async def offered() -> list[dict]:
        return [r for r in await relations(right, b, "proposed") if r["other"] == left.actor(a)]

    [incoming] = await right.wait_for(offered, what=f"{b} received {a}'s Offer")
    assert incoming["proposed_by"] == left.actor(a) and incoming["kind"] == "partner"
    accepted = await right.api("POST", f"/groups/{b}/relations/{incoming['id']}/accept", json={})
    assert accepted.status_code == 202, accepted.text

    async def accepted_on_the_left() -> list[dict]:
        return [r for r in await relations(left, a, "accepted") if r["other"] == right.actor(b)]

    await left.wait_for(accepted_on_the_left, what=f"{a} saw {b}'s Accept")


async def propagate(instance: Instance, slug: str, note: str, hop_limit: int) -> dict:
    response = await instance.api(
        "POST", f"/groups/{slug}/propagations",
        json={"object": note, "criteria": {"hop_limit": hop_limit}},
    )  # fmt: skip
    assert response.status_code == 202, response.text
    return response.json()


async def dropped(instance: Instance, slug: str, note: str, reason: str) -> bool:
    """The group's inbox logged a propagated Announce of ``note`` as ignored, for ``reason``."""
    for record in await instance.received(slug):
        body = record.get("activity") or {}
        if (
            record["type"] == "Announce"
            and body.get("object") == note
            and record["state"] == "ignored"
            and reason in (record["error"] or "")
        ):
            return True
    return False


async def test_relations_and_propagation_across_three_instances(
    tmp_path: Path, pg_admin_dsn: str
) -> None:
    async with (
        running_instance("a", tmp_path, pg_admin_dsn) as a,
        running_instance("b", tmp_path, pg_admin_dsn) as b,
        running_instance("c", tmp_path, pg_admin_dsn) as c,
    ):
        with FedifyPeer("alice") as alice, FedifyPeer("bob") as bob:
            await a.create_group("news")
            await b.create_group("hub")
            await c.create_group("end")

            # Bad input is refused with a clear message.
            for body, status, words in (
                ({"target": f"@hub@{b.domain}", "kind": "friend"}, 422, "unknown relation kind"),
                ({"target": f"@news@{a.domain}", "kind": "partner"}, 422, "itself"),
                ({"target": f"@nobody@{b.domain}", "kind": "partner"}, 404, "cannot resolve"),
            ):
                refused = await a.api("POST", "/groups/news/relations", json=body)
                assert refused.status_code == status, refused.text
                assert words in refused.text

            # A chain of accepted relations across instances.
            await relate(b, "hub", a, "news")
            await relate(c, "end", b, "hub")
            public = await _get_json(a, "/groups/news")
            assert public["relations"] == f"{a.actor('news')}/relations"
            graph = await _get_json(a, "/groups/news/relations")
            assert [(i["type"], i["subject"], i["object"]) for i in graph["items"]] == [
                ("Relationship", b.actor("hub"), a.actor("news"))
            ]
            assert graph["items"][0]["relationship"].endswith("#partner")

            for instance, slug in ((b, "hub"), (c, "end")):
                put = await instance.api("PUT", f"/groups/{slug}/feed-rules", json=AT_ONCE)
                assert put.status_code == 200 and put.json()["reannounce"] == "at_once"

            await alice.afollow(a.actor("news"))
            await alice.await_for_type("Accept", timeout=30)
            await bob.afollow(c.actor("end"))
            await bob.await_for(lambda r: r["type"] == "Accept", timeout=30)

            async def post(text: str) -> str:
                made = await alice.apost(a.actor("news"), f"<p>{text}</p>", public=True)
                note = made["note_id"]

                async def announced() -> bool:
                    return any(r["object_id"] == note for r in await alice.areceived("Announce"))

                await a.wait_for(announced, what="news announced alice's post")
                return note

            # hop_limit 1: hub receives it and stops there.
            first = await post("first")
            done = await propagate(a, "news", first, 1)
            assert done["result"]["executed"] == f"propagated to 1 group(s): {b.actor('hub')}"
            got = await b.wait_for(lambda: _has(b, "hub", first), what="hub got the first note")
            assert got["verdict"] == "accept" and got["hops"] == 1 and got["hop_limit"] == 1
            assert got["origin"] == a.actor("news") and got["path"] == [a.actor("news")]

            # hop_limit 2: hub relays to end; bob, end's follower, sees end's boost.
            second = await post("second")
            await propagate(a, "news", second, 2)
            at_end = await c.wait_for(lambda: _has(c, "end", second), what="end got the second")
            assert at_end["path"] == [a.actor("news"), b.actor("hub")] and at_end["hops"] == 2
            boost = await bob.await_for(
                lambda r: r["type"] == "Announce" and r["object_id"] == second, timeout=30
            )
            assert boost["actor"] == c.actor("end")
            assert boost["http_signature"]["verified"] is True
            assert first not in await items(c, "end")  # the first stopped at hub

            # end opts out: hub still takes the third note, end drops it.
            await c.api("PUT", "/groups/end/feed-rules", json={"enabled": False})
            third = await post("third")
            await propagate(a, "news", third, 2)
            await b.wait_for(lambda: _has(b, "hub", third), what="hub got the third")
            await c.wait_for(
                lambda: dropped(c, "end", third, "opted out"), what="end dropped the third"
            )
            assert third not in await items(c, "end")

            # A cycle: end and news become partners too; each group gets the item once.
            await c.api("PUT", "/groups/end/feed-rules", json=AT_ONCE)
            await relate(c, "end", a, "news")
            fourth = await post("fourth")
            await propagate(a, "news", fourth, 3)
            await b.wait_for(lambda: _has(b, "hub", fourth), what="hub got the fourth")
            await c.wait_for(lambda: _has(c, "end", fourth), what="end got the fourth")
            # Each relays to the other; the second copy is a duplicate, dropped.
            await c.wait_for(
                lambda: dropped(c, "end", fourth, "duplicate"), what="end dropped the copy"
            )
            await b.wait_for(
                lambda: dropped(b, "hub", fourth, "duplicate"), what="hub dropped the copy"
            )
            assert (await items(a, "news"))[fourth]["verdict"] == "sent"  # never came back

            # Removing a relation is a decision too, and reaches the other side.
            [edge] = [
                r for r in await relations(c, "end", "accepted") if r["other"] == b.actor("hub")
            ]
            removed = await c.api("DELETE", f"/groups/end/relations/{edge['id']}")
            assert removed.status_code == 202, removed.text

            async def removed_at_hub() -> bool:
                found = await relations(b, "hub", "removed")
                return any(r["other"] == c.actor("end") for r in found)

            await b.wait_for(removed_at_hub, what="hub saw the relation removed")


async def _has(instance: Instance, slug: str, note: str) -> dict[str, Any] | None:
    return (await items(instance, slug)).get(note)


async def _get_json(instance: Instance, path: str) -> dict[str, Any]:
    import httpx

    async with httpx.AsyncClient(base_url=instance.base_url, timeout=30) as client:
        response = await client.get(path, headers={"Accept": "application/activity+json"})
    assert response.status_code == 200, response.text
    return response.json()
