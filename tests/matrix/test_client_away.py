"""A homeserver that is away is told apart from one that refuses: ``HomeserverAway``
(the domain's ``Unavailable``) for no answer or a proxy's 502/503/504, a plain
``MatrixError`` for a refusal, so the bridge waits for the first and gives up on
the second."""

from __future__ import annotations

import pytest

from imago_fed.domain.errors import Unavailable
from imago_fed.matrix.client import AppserviceClient, HomeserverAway, MatrixError
from tests.receiver import Reply, Request, receiver
from tests.support import free_port


async def test_no_answer_is_away() -> None:
    client = AppserviceClient(f"http://127.0.0.1:{free_port()}", "as-token", timeout=5)
    try:
        with pytest.raises(HomeserverAway) as raised:
            await client.request("GET", "v3/account/whoami")
    finally:
        await client.close()
    assert isinstance(raised.value, Unavailable) and isinstance(raised.value, MatrixError)


@pytest.mark.parametrize(("status", "away"), [(502, True), (503, True), (504, True), (403, False)])
async def test_a_proxy_saying_the_homeserver_is_down_is_away(status: int, away: bool) -> None:
    async def answer(request: Request) -> Reply:
        body = b'{"errcode": "M_FORBIDDEN", "error": "no"}' if status == 403 else b"Bad Gateway"
        return Reply(status, {"Content-Type": "application/json"}, body)

    async with receiver(answer) as homeserver:
        client = AppserviceClient(homeserver.base_url, "as-token", timeout=5)
        try:
            with pytest.raises(MatrixError) as raised:
                await client.request("GET", "v3/account/whoami")
        finally:
            await client.close()
    assert isinstance(raised.value, Unavailable) is away
    assert raised.value.status == status
