"""Proposals as Matrix polls (MSC3381, the unstable event types Element uses).

    org.matrix.msc3381.poll.start     the question, answers with our ids o0, o1 ...
    org.matrix.msc3381.poll.response  a member's answer ids (latest one counts)
    org.matrix.msc3381.poll.end       closes it; its text carries the result

The stable draft names (m.poll.*, m.text, m.selections) are read too. Element
cannot show votes cast elsewhere, so the end event's text gives the combined
result. Graded methods (Majority Judgment, Schulze) cannot be a native poll:
the poll lists the options and says how to vote with ``!imago vote``.
"""

from __future__ import annotations

from typing import Any

from imago_fed.domain.events import ProposalFacts
from imago_fed.domain.governance.proposals import GRADED_METHODS as GRADED

__all__ = ["answer_indexes", "poll_end", "poll_start"]

START = "org.matrix.msc3381.poll.start"
RESPONSE = "org.matrix.msc3381.poll.response"
END = "org.matrix.msc3381.poll.end"
TEXT = "org.matrix.msc1767.text"
RESPONSE_TYPES = (RESPONSE, "m.poll.response")


def _answer_id(index: int) -> str:
    return f"o{index}"


def poll_start(proposal: ProposalFacts) -> dict[str, Any]:
    options = proposal.options
    method = proposal.method
    question = f"{proposal.title} (proposal {proposal.proposal_id})"
    if method in GRADED:
        scale = (
            "a grade per option, 1 = best … 5 = reject"
            if method == "majority_judgment"
            else "a rank per option"
        )
        question += f" — vote with: !imago vote {proposal.proposal_id} followed by {scale}"
    answers = [{"id": _answer_id(i), TEXT: name} for i, name in enumerate(options)]
    fallback = question + "\n" + "\n".join(f"{i + 1}. {name}" for i, name in enumerate(options))
    return {
        TEXT: fallback,
        START: {
            "question": {TEXT: question},
            "kind": "org.matrix.msc3381.poll.disclosed",
            "max_selections": len(options) if method == "approval" else 1,
            "answers": answers,
        },
    }


def answer_indexes(content: dict[str, Any], n_options: int) -> tuple[int, ...] | None:
    """Option indexes of a response; None when spoiled (an unknown id)."""
    body = content.get(RESPONSE) or content.get("m.poll.response") or {}
    answers = body.get("answers", body.get("m.selections", [])) if isinstance(body, dict) else []
    if not isinstance(answers, list):
        return None
    indexes = []
    for answer in answers:
        if not (isinstance(answer, str) and answer.startswith("o") and answer[1:].isdigit()):
            return None
        index = int(answer[1:])
        if not 0 <= index < n_options:
            return None
        indexes.append(index)
    return tuple(dict.fromkeys(indexes))


def poll_end(start_event: str, result_text: str) -> dict[str, Any]:
    return {
        "m.relates_to": {"rel_type": "m.reference", "event_id": start_event},
        TEXT: result_text or "The vote has ended.",
        END: {},
    }
