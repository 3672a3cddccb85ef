"""Decisions through the admin API on a real database: propose, vote, decide, execute."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from quart.typing import TestClientProtocol as Client

from imago_fed.app import create_app
from imago_fed.domain.governance.table import parse_changes
from imago_fed.store import follows
from imago_fed.web.runtime import EXTENSION_KEY, Runtime
from tests.conftest import TEST_ADMIN_TOKEN

AUTH = {"Authorization": f"Bearer {TEST_ADMIN_TOKEN}"}
MEMBERS = [f"https://social.example/users/m{i}" for i in range(5)]


@pytest.fixture
async def setup(migrated_db: str, make_settings) -> AsyncIterator[tuple[Runtime, Client]]:
    settings = make_settings(migrated_db, IMAGO_FEDERATION_WORKERS_IN_SERVE="false")
    app = create_app(settings, migrated_db)
    async with app.test_app() as test_app:
        rt: Runtime = app.extensions[EXTENSION_KEY]
        group = await rt.groups.create("garden", "Garden")
        for member in MEMBERS:
            await follows.add_follower(
                rt.pool, group.id, member, member + "#f", "accepted", datetime.now(UTC)
            )
        yield rt, test_app.test_client()


async def propose(client: Client, **body) -> dict:
    response = await client.post("/api/v1/groups/garden/proposals", json=body, headers=AUTH)
    assert response.status_code == 201, await response.get_data()
    return await response.get_json()


async def vote(client: Client, proposal_id: int, voter: str, ballot: list[int]) -> dict:
    response = await client.post(
        f"/api/v1/proposals/{proposal_id}/votes", json={"voter": voter, "ballot": ballot},
        headers=AUTH,
    )  # fmt: skip
    assert response.status_code == 200
    return await response.get_json()


async def test_a_moderation_vote_with_delegation_is_decided_and_executed(setup) -> None:
    rt, client = setup
    table = await (await client.get("/api/v1/groups/garden/table", headers=AUTH)).get_json()
    assert table["moderate"]["protocol"] == "democracy"
    # m3 and m4 delegate to m0 (for moderation); m0 then votes for
    for delegator in MEMBERS[3:]:
        response = await client.post(
            "/api/v1/groups/garden/delegations",
            json={"delegator": delegator, "delegate": MEMBERS[0], "scope": "moderate"},
            headers=AUTH,
        )
        assert response.status_code == 204
    cycle = await client.post(
        "/api/v1/groups/garden/delegations",
        json={"delegator": MEMBERS[0], "delegate": MEMBERS[3]}, headers=AUTH,
    )  # fmt: skip
    assert cycle.status_code == 422
    proposal = await propose(
        client, action="moderate", title="Block spam.example",
        params={"block_domain": "spam.example"}, duration_s=1,
    )  # fmt: skip
    assert proposal["state"] == "open" and proposal["options"] == ["for", "against", "abstain"]
    assert (await vote(client, proposal["id"], MEMBERS[0], [0]))["counted"] is True
    assert (await vote(client, proposal["id"], MEMBERS[1], [1]))["counted"] is True
    stranger = await vote(client, proposal["id"], "https://x.example/u", [0])
    assert stranger == {"outcome": "not a member of the group", "counted": False}
    bad = await vote(client, proposal["id"], MEMBERS[2], [7])
    assert bad["counted"] is False
    await asyncio.sleep(1.1)
    assert await rt.governance.tick() == 1
    detail = await (
        await client.get(f"/api/v1/proposals/{proposal['id']}", headers=AUTH)
    ).get_json()
    assert detail["state"] == "executed"
    tally = detail["result"]["tally"]
    assert tally["direct"] == {"for": 1, "against": 1, "abstain": 0}
    assert tally["delegated"] == {"for": 2, "against": 0, "abstain": 0}
    assert detail["result"]["executed"] == "blocked domain spam.example"
    assert [t["to_state"] for t in detail["transitions"]] == [
        "open", "closed", "adopted", "executed",
    ]  # fmt: skip
    assert [v["counted"] for v in detail["votes"]] == [True, True, False, False]
    blocks = await (await client.get("/api/v1/blocks", headers=AUTH)).get_json()
    assert blocks["items"][0]["value"] == "spam.example"
    assert blocks["items"][0]["group"] == "garden"


async def test_the_table_changes_only_through_the_table(setup) -> None:
    rt, client = setup
    changes = {"publish": {"protocol": "consensus", "window_s": 60}}
    proposal = await propose(
        client, action="amend_table", title="Publishing by consensus",
        params={"changes": changes}, duration_s=1,
    )  # fmt: skip
    assert proposal["protocol"]["threshold"] == "2/3"
    for member in MEMBERS[:2]:
        await vote(client, proposal["id"], member, [0])
    await asyncio.sleep(1.1)
    await rt.governance.tick()
    # 2 of 5 voted: quorum 1/3 reached, 2 for / 0 against > 2/3: adopted
    table = await (await client.get("/api/v1/groups/garden/table", headers=AUTH)).get_json()
    assert table["publish"] == {"protocol": "consensus", "window_s": 60}
    invalid = await client.post(
        "/api/v1/groups/garden/proposals", headers=AUTH,
        json={"action": "amend_table", "title": "x", "params": {"changes": {"nope": {}}}},
    )  # fmt: skip
    assert invalid.status_code == 422


async def test_doocracy_acts_at_once_and_a_challenge_opens_a_vote(setup) -> None:
    _rt, client = setup
    proposal = await propose(client, action="publish", title="Post the newsletter")
    assert proposal["state"] == "executed"
    challenged = await vote(client, proposal["id"], MEMBERS[4], [0])
    assert challenged["outcome"].startswith("challenge recorded")
    listed = await (await client.get("/api/v1/groups/garden/proposals", headers=AUTH)).get_json()
    assert listed["items"][0]["title"] == "Challenged: Post the newsletter"
    assert listed["items"][0]["protocol"]["protocol"] == "democracy"
    assert listed["items"][1]["state"] == "challenged"


async def test_multi_option_schulze(setup) -> None:
    rt, client = setup
    group_id = (await rt.groups.get("garden")).id
    changes = parse_changes(
        {"spend": {"protocol": "democracy", "method": "schulze", "quorum": "0"}}
    )
    table = (await rt.governance.table(group_id)).amended(changes)
    await rt.governance_store.save_table(group_id, table, datetime.now(UTC))
    proposal = await propose(
        client, action="spend", title="Which tool?", options=["saw", "drill", "lathe"],
        duration_s=1,
    )  # fmt: skip
    for member, ranks in zip(MEMBERS, [[1, 2, 3], [2, 1, 3], [1, 3, 2]], strict=False):
        assert (await vote(client, proposal["id"], member, ranks))["counted"]
    await asyncio.sleep(1.1)
    await rt.governance.tick()
    detail = await (
        await client.get(f"/api/v1/proposals/{proposal['id']}", headers=AUTH)
    ).get_json()
    assert detail["result"]["tally"]["winner"] == "saw"
    assert detail["result"]["tally"]["count"]["winners"][0] == [0]


async def test_linked_accounts_vote_once(setup) -> None:
    rt, client = setup
    group = await rt.groups.get("garden")
    await rt.pool.execute(
        "INSERT INTO matrix_members (group_id, user_id, joined_at) VALUES ($1, '@m0:hs', now())",
        group.id,
    )
    first = await rt.governance.claim_identity("matrix", "@m0:hs", MEMBERS[0])
    assert first.startswith("claim recorded")
    assert await rt.governance.claim_identity("fediverse", "@m0:hs", MEMBERS[0]) == (
        f"@m0:hs and {MEMBERS[0]} are now linked: they vote as one."
    )
    assert "@m0:hs" not in await rt.governance.members(group.id)  # one person, one voter
    proposal = await propose(client, action="moderate", title="x", duration_s=60)
    await vote(client, proposal["id"], MEMBERS[0], [0])
    await vote(client, proposal["id"], "@m0:hs", [1])  # the same person changes their mind
    assert await rt.governance_store.ballots(proposal["id"]) == {MEMBERS[0]: (1,)}


async def test_a_challenged_act_the_members_reject_is_undone(setup) -> None:
    rt, client = setup
    group_id = (await rt.groups.get("garden")).id
    doocracy = {"protocol": "doocracy", "window_s": 3600,
                "fallback": {"protocol": "democracy", "quorum": "0", "duration_s": 1}}  # fmt: skip
    table = (await rt.governance.table(group_id)).amended(parse_changes({"moderate": doocracy}))
    await rt.governance_store.save_table(group_id, table, datetime.now(UTC))
    act = await propose(
        client, action="moderate", title="Block x.example", params={"block_domain": "x.example"}
    )
    assert act["state"] == "executed" and act["result"]["executed"] == "blocked domain x.example"
    assert (await vote(client, act["id"], MEMBERS[1], [0]))["outcome"].startswith("challenge")
    listed = await (await client.get("/api/v1/groups/garden/proposals", headers=AUTH)).get_json()
    challenge = listed["items"][0]
    await vote(client, challenge["id"], MEMBERS[1], [1])  # against upholding the act
    await asyncio.sleep(1.1)
    await rt.governance.tick()
    detail = await (
        await client.get(f"/api/v1/proposals/{challenge['id']}", headers=AUTH)
    ).get_json()
    assert detail["state"] == "rejected"
    assert detail["result"]["undone"] == "unblocked domain x.example"
    blocks = await (await client.get("/api/v1/blocks", headers=AUTH)).get_json()
    assert blocks["items"] == []


async def test_open_votes_on_a_secret_ballot_are_refused(setup) -> None:
    rt, client = setup
    group_id = (await rt.groups.get("garden")).id
    secret = {"protocol": "democracy", "secret": True, "method": "majority_judgment"}
    table = (await rt.governance.table(group_id)).amended(parse_changes({"spend": secret}))
    await rt.governance_store.save_table(group_id, table, datetime.now(UTC))
    shown = await (await client.get("/api/v1/groups/garden/table", headers=AUTH)).get_json()
    assert shown["spend"]["delegation"].startswith("not used")
    proposal = await propose(client, action="spend", title="Which tool?", options=["saw", "drill"])
    refused = await vote(client, proposal["id"], MEMBERS[0], [1, 2])
    assert refused["counted"] is False and "secret ballot" in refused["outcome"]


async def test_a_vote_delegated_to_a_sub_group_follows_its_members_choice(setup) -> None:
    rt, client = setup
    youth = await rt.groups.create("youth", "Youth")
    for member in MEMBERS[1:3]:  # m1 and m2 are also in the sub-group
        await follows.add_follower(rt.pool, youth.id, member, member + "#y", "accepted",
                                   datetime.now(UTC))  # fmt: skip
    delegate = {"delegator": MEMBERS[4], "delegate": "group:youth"}
    refused = await client.post("/api/v1/groups/garden/delegations", json=delegate, headers=AUTH)
    assert refused.status_code == 422  # not linked yet
    linked = await client.post(
        "/api/v1/groups/garden/subgroups", json={"slug": "youth"}, headers=AUTH
    )
    assert linked.status_code == 204
    response = await client.post("/api/v1/groups/garden/delegations", json=delegate, headers=AUTH)
    assert response.status_code == 204
    proposal = await propose(client, action="moderate", title="x", duration_s=1)
    await vote(client, proposal["id"], MEMBERS[0], [1])  # against
    await vote(client, proposal["id"], MEMBERS[1], [0])  # the sub-group's members: for
    await vote(client, proposal["id"], MEMBERS[2], [0])
    await asyncio.sleep(1.1)
    await rt.governance.tick()
    detail = await (
        await client.get(f"/api/v1/proposals/{proposal['id']}", headers=AUTH)
    ).get_json()
    tally = detail["result"]["tally"]
    assert tally["direct"] == {"for": 2, "against": 1, "abstain": 0}
    assert tally["delegated"] == {"for": 1, "against": 0, "abstain": 0}  # m4 via youth
    assert {"voter": "group:youth", "ballot": [0], "direct": 0,
            "delegated_from": [MEMBERS[4]]} in tally["voters"]  # fmt: skip
