"""The moderation use cases over in-memory ports."""

from __future__ import annotations

import pytest

from imago_fed.domain.errors import Conflict, InvalidInput, NotFound
from imago_fed.services.moderation import Moderation
from tests.fakes.web import FakeModerationRecords, FixedClock, RecordingEventLog


@pytest.fixture
def parts() -> tuple[Moderation, FakeModerationRecords, RecordingEventLog]:
    records, events = FakeModerationRecords(), RecordingEventLog()
    return Moderation(records, events, FixedClock()), records, events


async def test_a_domain_block_is_stored_lowercased_an_actor_block_as_given(parts) -> None:
    moderation, records, _ = parts
    domain = await moderation.block("domain", "  Bad.Example ")
    actor = await moderation.block("actor", " https://Bad.Example/u/X ", reason="spam")
    assert (domain.value, actor.value) == ("bad.example", "https://Bad.Example/u/X")
    assert [b["reason"] for b in await moderation.blocks()] == ["", "spam"]
    with pytest.raises(InvalidInput):
        await moderation.block("server", "x.example")
    assert len(records.blocks) == 2


async def test_lifting_an_unknown_block_is_not_found(parts) -> None:
    moderation, _, _ = parts
    block = await moderation.block("domain", "x.example")
    await moderation.lift(block.id)
    with pytest.raises(NotFound):
        await moderation.lift(block.id)


async def test_a_matrix_moderator_change_is_recorded_once_with_its_event(parts) -> None:
    moderation, records, events = parts
    await moderation.set_matrix_moderator(3, "@ann:m.test", present=True)
    with pytest.raises(Conflict):
        await moderation.set_matrix_moderator(3, "@ann:m.test", present=True)
    await moderation.set_matrix_moderator(3, "@ann:m.test", present=False)
    with pytest.raises(Conflict):
        await moderation.set_matrix_moderator(3, "@ann:m.test", present=False)
    assert records.moderators_of[3] == []
    assert [e.dedupe_key.split("|")[3] for e in events.events] == ["True", "False"]
