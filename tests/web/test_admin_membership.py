"""Membership through the admin API on a real database: invitations, roster,
roles, rights, the founder, and what a proposal's effects did."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from quart.typing import TestClientProtocol as Client

from imago_fed.app import create_app
from imago_fed.store import follows
from imago_fed.web.runtime import EXTENSION_KEY, Runtime
from tests.conftest import TEST_ADMIN_TOKEN

AUTH = {"Authorization": f"Bearer {TEST_ADMIN_TOKEN}"}
ANN = "https://a.example/users/ann"


@pytest.fixture
async def setup(migrated_db: str, make_settings) -> AsyncIterator[tuple[Runtime, Client]]:
    settings = make_settings(migrated_db, IMAGO_FEDERATION_WORKERS_IN_SERVE="false")
    app = create_app(settings, migrated_db)
    async with app.test_app() as test_app:
        rt: Runtime = app.extensions[EXTENSION_KEY]
        group = await rt.groups.create("garden", "Garden")
        await follows.add_follower(rt.pool, group.id, ANN, ANN + "#f", "accepted",
                                   datetime.now(UTC))  # fmt: skip
        yield rt, test_app.test_client()


async def test_invitations_are_created_listed_used_and_revoked(setup) -> None:
    rt, client = setup
    created = await client.post(
        "/api/v1/groups/garden/invitations", json={"max_uses": 5, "expires_in_days": 7},
        headers=AUTH,
    )  # fmt: skip
    assert created.status_code == 201, await created.get_data()
    invitation = await created.get_json()
    assert set(invitation) >= {"code", "url", "expires_at", "max_uses", "uses"}
    assert (invitation["max_uses"], invitation["uses"]) == (5, 0)
    assert invitation["url"].endswith(f"/invite/{invitation['code']}")
    listed = await (await client.get("/api/v1/groups/garden/invitations", headers=AUTH)).get_json()
    assert [i["code"] for i in listed["items"]] == [invitation["code"]]

    for bad in ({"max_uses": 0}, {"expires_in_days": 0}, {"expires_in_days": 10**12},
                {"max_uses": "5"}, {"colour": "red"}):  # fmt: skip
        refused = await client.post("/api/v1/groups/garden/invitations", json=bad, headers=AUTH)
        assert refused.status_code == 422, bad

    unknown = await client.post(
        "/api/v1/invitations/nope/redeem", json={"member": "@bob:m.example"}, headers=AUTH
    )
    assert unknown.status_code == 404
    # Matrix is off in this instance: a Matrix id cannot be admitted, and nothing is used
    off = await client.post(
        f"/api/v1/invitations/{invitation['code']}/redeem", json={"member": "@bob:m.example"},
        headers=AUTH,
    )  # fmt: skip
    assert off.status_code == 422
    assert "Matrix is not enabled" in (await off.get_json())["error"]["message"]
    member = await client.post(
        f"/api/v1/invitations/{invitation['code']}/redeem", json={"member": ANN}, headers=AUTH
    )
    assert (await member.get_json())["message"] == f"{ANN} is already a member of Garden."

    revoked = await client.delete(
        f"/api/v1/groups/garden/invitations/{invitation['code']}", headers=AUTH
    )
    assert revoked.status_code == 204
    again = await client.delete(
        f"/api/v1/groups/garden/invitations/{invitation['code']}", headers=AUTH
    )
    assert again.status_code == 404
    used = await client.post(
        f"/api/v1/invitations/{invitation['code']}/redeem",
        json={"member": "https://z.example/u/zed"}, headers=AUTH,
    )  # fmt: skip
    assert used.status_code == 422
    assert (await used.get_json())["error"]["message"] == "this invitation was revoked"
    await rt.groups.delete("garden")
    gone = await client.post("/api/v1/groups/garden/invitations", json={}, headers=AUTH)
    assert gone.status_code == 404


async def test_roster_roles_and_rights(setup) -> None:
    _rt, client = setup
    roster = await (await client.get("/api/v1/groups/garden/roster", headers=AUTH)).get_json()
    assert [(m["id"], m["network"], m["role"]) for m in roster["items"]] == [
        (ANN, "fediverse", "member")
    ]
    assert roster["items"][0]["since"]
    role = await client.post(
        "/api/v1/groups/garden/roles", json={"member": ANN, "role": "moderator"}, headers=AUTH
    )
    assert (await role.get_json()) == {"changed": True}
    roster = await (await client.get("/api/v1/groups/garden/roster", headers=AUTH)).get_json()
    assert roster["items"][0]["role"] == "moderator"
    bad = await client.post(
        "/api/v1/groups/garden/roles", json={"member": ANN, "role": "king"}, headers=AUTH
    )
    assert bad.status_code == 422

    rights = await (await client.get("/api/v1/groups/garden/permissions", headers=AUTH)).get_json()
    assert rights == {"post": "members", "announce": "moderators", "propose": "members",
                      "elect": "members"}  # fmt: skip
    change = await client.put(
        "/api/v1/groups/garden/permissions", json={"post": "moderators"}, headers=AUTH
    )
    assert change.status_code == 201
    proposal = await change.get_json()
    assert proposal["action"] == "amend_table" and proposal["state"] == "open"
    for bad_body in ({}, {"post": "everybody"}, {"shout": "anyone"}):
        refused = await client.put("/api/v1/groups/garden/permissions", json=bad_body, headers=AUTH)
        assert refused.status_code == 422, bad_body
    table = await (await client.get("/api/v1/groups/garden/table", headers=AUTH)).get_json()
    assert table["invitations"] == "vote" and table["permissions"]["post"] == "members"


async def test_a_proposal_shows_what_its_effects_did(setup) -> None:
    rt, client = setup
    created = await client.post(
        "/api/v1/groups/garden/proposals",
        json={"action": "publish", "title": "Hello", "params": {"text": "Hello, world."}},
        headers=AUTH,
    )  # fmt: skip
    proposal = await created.get_json()
    assert proposal["state"] == "executed"  # publish is a do-ocracy act by default
    detail = await (
        await client.get(f"/api/v1/proposals/{proposal['id']}", headers=AUTH)
    ).get_json()
    [effect] = detail["effects"]
    assert (effect["name"], effect["state"]) == ("publish", "done")
    assert "to the followers" in effect["outcome"]
    note = rt.ids.group("garden") + "/notes/"
    assert note in effect["outcome"]
    page = await client.get("/groups/garden", headers={"Accept": "text/html"})
    assert "Carried out:\n        publish (done)" in await page.get_data(as_text=True)
    not_member = await client.post(
        "/api/v1/groups/garden/proposals",
        json={"action": "remove_member", "title": "Out", "params": {"member": "https://x.example/u/x"}},
        headers=AUTH,
    )  # fmt: skip
    assert not_member.status_code == 422
    assert "not a member" in (await not_member.get_json())["error"]["message"]


async def test_a_founder_on_a_network_that_is_off_creates_no_group(setup) -> None:
    _rt, client = setup
    refused = await client.post(
        "/api/v1/groups", json={"slug": "bikes", "name": "Bikes", "founder": "@me:m.example"},
        headers=AUTH,
    )  # fmt: skip
    assert refused.status_code == 422
    missing = await client.get("/api/v1/groups/bikes", headers=AUTH)
    assert missing.status_code == 404


async def test_the_invitation_page_shows_the_group_and_redeems_with_csrf(setup) -> None:
    _rt, client = setup
    created = await client.post(
        "/api/v1/groups/garden/invitations", json={"max_uses": 1}, headers=AUTH
    )
    code = (await created.get_json())["code"]
    page = await client.get(f"/invite/{code}")
    assert page.status_code == 200
    html = await page.get_data(as_text=True)
    assert "You are invited to Garden" in html and "1 use(s) left" in html
    csrf = re.search(r'name="csrf" value="([^"]+)"', html)
    assert csrf
    no_csrf = await client.post(f"/invite/{code}", form={"member": ANN})
    assert no_csrf.status_code == 403
    known = await client.post(f"/invite/{code}", form={"member": ANN, "csrf": csrf.group(1)})
    assert known.status_code == 200
    assert f"{ANN} is already a member of Garden." in await known.get_data(as_text=True)
    bad = await client.post(f"/invite/{code}", form={"member": "nobody", "csrf": csrf.group(1)})
    assert bad.status_code == 422
    assert "is neither @user:server" in await bad.get_data(as_text=True)
    assert (await client.get("/invite/unknown-code")).status_code == 404
    await client.delete(f"/api/v1/groups/garden/invitations/{code}", headers=AUTH)
    revoked = await client.get(f"/invite/{code}")
    assert revoked.status_code == 410
    assert "this invitation was revoked" in await revoked.get_data(as_text=True)
    assert 'name="member"' not in await revoked.get_data(as_text=True)
