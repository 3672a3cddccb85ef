"""Rules of order: the queue, timed turns, motions and seconders, quorum, minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imago_fed.domain.assemblies import Assembly, minutes_of
from imago_fed.domain.errors import Conflict, InvalidInput

T0 = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)
CHAIR, ANN, BOB, CAT = "@chair:x", "@ann:x", "@bob:x", "@cat:x"


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def opened(quorum: int = 1, turn: int = 60) -> Assembly:
    a = Assembly(1, "Spring", ("Budget", "Garden"), CHAIR, T0, turn_seconds=turn, quorum=quorum)
    assert a.due(T0) and not a.due(s(-1))
    a.open(T0)
    return a


def test_the_floor_goes_in_order_and_each_turn_is_timed() -> None:
    a = opened(turn=60)
    assert a.ask_floor(ANN, s(1)) == [f"{ANN} has the floor (60 s)."]
    assert "position 1" in a.ask_floor(BOB, s(2))[0]
    assert "position 2" in a.ask_floor(CAT, s(3))[0]
    assert a.tick(s(30)) == []
    assert a.tick(s(46)) == [f"{ANN}: 15 seconds left."]  # warned once, 60 // 4 before
    assert a.tick(s(50)) == []
    said = a.tick(s(61))
    assert said[0] == f"Time is up for {ANN}." and said[1].startswith(f"{BOB} has the floor")
    assert a.yield_floor(BOB, s(70))[1].startswith(f"{CAT} has the floor")
    assert a.turns[0].seconds(s(99)) == 60 and a.turns[1].seconds(s(99)) == 9


def test_who_has_not_spoken_on_the_item_goes_first() -> None:
    a = opened()
    a.ask_floor(ANN, s(1))
    a.yield_floor(ANN, s(5))  # the floor is free again
    a.ask_floor(BOB, s(6))
    a.ask_floor(ANN, s(7))  # has spoken on this item: behind those who have not
    a.ask_floor(CAT, s(8))
    assert a.queue == [CAT, ANN]
    a.next_item(CHAIR, s(9))  # a new item: nobody has spoken on it, the queue is empty
    assert a.queue == [] and a.speaker == "" and a.item == 1


def test_a_double_request_and_requests_outside_the_session_are_refused() -> None:
    a = Assembly(1, "Spring", ("Budget",), CHAIR, s(60))
    with pytest.raises(Conflict, match="convened"):
        a.ask_floor(ANN, T0)
    a.open(s(60))
    a.ask_floor(ANN, s(61))
    with pytest.raises(Conflict, match="have the floor"):
        a.ask_floor(ANN, s(62))
    a.ask_floor(BOB, s(63))
    with pytest.raises(Conflict, match="position 1"):
        a.ask_floor(BOB, s(64))
    with pytest.raises(Conflict, match="only the speaker or the chair"):
        a.yield_floor(CAT, s(65))
    with pytest.raises(Conflict, match="only the chair"):
        a.adjourn(ANN, s(66))
    with pytest.raises(Conflict, match="last item"):
        a.next_item(CHAIR, s(67))
    a.adjourn(CHAIR, s(68))
    with pytest.raises(Conflict, match="closed"):
        a.ask_floor(CAT, s(69))


def test_a_motion_needs_a_seconder_other_than_its_mover_and_a_quorum() -> None:
    a = opened(quorum=3)
    motion, said = a.move(ANN, "  Buy   a  saw ", s(1))
    assert motion.text == "Buy a saw" and "!imago second 1" in said[0]
    with pytest.raises(Conflict, match="cannot second their own"):
        a.second(ANN, 1)
    with pytest.raises(Conflict, match=r"no quorum \(2 present of 3\)"):
        a.second(BOB, 1)
    a.attend(CAT, s(2))
    assert a.second(BOB, 1).seconder == BOB
    with pytest.raises(Conflict, match="seconded already"):
        a.second(CAT, 1)
    assert "proposal 7" in a.put_to_vote(1, 7)[0]
    assert a.motion(1).state == "voting"
    assert a.decided(7, "adopted") == ["Motion 1 (Buy a saw): adopted."]
    assert a.decided(7, "adopted") == []  # told once
    with pytest.raises(InvalidInput):
        a.move(BOB, "   ", s(3))


def test_the_minutes_say_who_came_who_spoke_how_long_and_what_was_decided() -> None:
    a = Assembly(1, "Spring", ("Budget", "Garden"), CHAIR, T0, turn_seconds=60)
    a.attend(CAT, s(-30))  # in the room before the start: present
    a.open(T0)
    a.ask_floor(ANN, s(0))
    a.ask_floor(BOB, s(1))
    a.tick(s(60))  # ann's time is up: bob speaks
    a.yield_floor(BOB, s(80))
    a.move(BOB, "Plant beans", s(81))
    a.second(ANN, 1)
    a.put_to_vote(1, 3)
    a.decided(3, "adopted (2 for, 0 against)")
    a.move(CAT, "Paint the shed", s(82))
    a.next_item(CHAIR, s(90))
    a.ask_floor(ANN, s(91))
    a.adjourn(CHAIR, s(120))
    minutes = minutes_of(a)
    assert minutes.attendees == (ANN, BOB, CAT)
    assert minutes.speaking == ((ANN, 2, 89), (BOB, 1, 20))
    assert minutes.items == (("Budget", (ANN, BOB)), ("Garden", (ANN,)))
    text = minutes.text()
    assert "Plant beans \u2014 adopted (2 for, 0 against)" in text
    assert "Paint the shed \u2014 not seconded" in text
    assert "<p>" in minutes.html() and "&" not in minutes.title


def test_rules_on_the_convening() -> None:
    with pytest.raises(InvalidInput, match="agenda"):
        Assembly(1, "Spring", (" ",), CHAIR, T0)
    with pytest.raises(InvalidInput, match="turn"):
        Assembly(1, "Spring", ("a",), CHAIR, T0, turn_seconds=5)
    with pytest.raises(InvalidInput, match="title"):
        Assembly(1, "", ("a",), CHAIR, T0)


@given(st.lists(st.sampled_from(["ask:a", "ask:b", "ask:c", "ask:d", "yield", "tick", "next"]),
                max_size=40))  # fmt: skip
def test_the_state_survives_storage_and_the_queue_keeps_its_rules(steps: list[str]) -> None:
    a = Assembly(1, "Spring", ("x", "y", "z"), CHAIR, T0, turn_seconds=20)
    a.open(T0)
    now = T0
    for step in steps:
        now += timedelta(seconds=7)
        try:
            if step.startswith("ask:"):
                a.ask_floor(step[4:], now)
            elif step == "yield":
                a.yield_floor(CHAIR, now)
            elif step == "tick":
                a.tick(now)
            else:
                a.next_item(CHAIR, now)
        except Conflict:
            pass
        spoke = a.spoke_on(a.item)
        flags = [m in spoke for m in a.queue]
        assert flags == sorted(flags)  # never someone who spoke before one who did not
        assert len(set(a.queue)) == len(a.queue) and a.speaker not in a.queue
        again = Assembly.from_dict(a.to_dict(), id=a.id)
        assert again.to_dict() == a.to_dict()
