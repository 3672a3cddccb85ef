"""The bot's resource commands, said in any room of the group (the resources
room is where the offers and needs show):

    !imago offer <name words> [qty=3] [unit=kilogram] [type=Q11442] [action=transfer]
    !imago need <name words> [...the same options]
    !imago intents                      the group's open offers and needs
    !imago answer <intent id> [qty=2]   the group answers it (a spend decision)
    !imago accept <agreement id>        accept an agreement offered to us (spend)
    !imago withdraw <intent id>         take back one of our offers or needs
    !imago fulfilled <agreement id>     it was carried out (stocks move)
    !imago cancel <agreement id>        call off an accepted one (its intent opens again)
    !imago propagate <intent id> [k=10] [hops=2] [radius=25]
                                        send it to the closest groups (a propagate decision)

The same use cases as the admin API (services/resources.py), authored by the
Matrix user who asked; a refusal comes back as one sentence naming why.
"""

from __future__ import annotations

from typing import Any

from imago_fed.domain.errors import DomainError
from imago_fed.domain.groups import Group
from imago_fed.domain.resources.intents import describe

__all__ = ["RESOURCE_HELP", "RESOURCE_VERBS", "resource_command"]

RESOURCE_VERBS = (
    "offer", "need", "intents", "answer", "accept", "withdraw", "fulfilled", "cancel",
    "propagate",
)  # fmt: skip
RESOURCE_HELP = (
    "!imago offer|need <name> [qty=N] [unit=U] [type=Q…] [action=A] · !imago intents · "
    "!imago answer <intent> [qty=N] · !imago accept <agreement> · !imago withdraw <intent> · "
    "!imago fulfilled <agreement> · !imago cancel <agreement> · "
    "!imago propagate <intent> [k=N] [hops=N] [radius=KM]"
)
_OPTIONS = {"qty", "unit", "type", "action", "until", "from", "k", "hops", "radius"}


def _split(args: list[str]) -> tuple[list[str], dict[str, str]]:
    words, options = [], {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if sep and key in _OPTIONS and value:
            options[key] = value
        else:
            words.append(arg)
    return words, options


def _number(text: str, what: str) -> int:
    if not text.isdigit():
        raise ValueError(f"usage: !imago {what}")
    return int(text)


async def resource_command(
    resources: Any, group: Group, sender: str, verb: str, args: list[str],
    propagation: Any = None,
) -> str:  # fmt: skip
    """Answer one resource command of ``sender`` in ``group`` (one line);
    ``propagation`` (services/propagation.py) sends an intent through the graph."""
    try:
        if verb == "propagate":
            return await _propagate(propagation, group, sender, args)
        return await _run(resources, group, sender, verb, args)
    except DomainError as exc:
        return f"{sender}: {exc.message}"
    except ValueError as exc:
        return str(exc)


async def _propagate(propagation: Any, group: Group, sender: str, args: list[str]) -> str:
    words, options = _split(args)
    if len(words) != 1 or propagation is None:
        return "usage: !imago propagate <intent number> [k=N] [hops=N] [radius=KM]"
    criteria: dict[str, Any] = {}
    for option, field in (("k", "k"), ("hops", "hop_limit")):
        if option in options:
            criteria[field] = _number(options[option], "propagate <intent> [k=N] [hops=N]")
    if "radius" in options:
        try:
            criteria["radius_km"] = float(options["radius"])
        except ValueError:
            raise ValueError("usage: !imago propagate <intent> [radius=KM]") from None
    decision = await propagation.request_intent(
        group.slug, _number(words[0], "propagate <intent number>"), criteria, author=sender
    )
    done = decision.result.get("executed")
    return f"{sender}: propagate decision {decision.id} {decision.state}" + (
        f": {done}." if done else "."
    )


async def _run(resources: Any, group: Group, sender: str, verb: str, args: list[str]) -> str:
    slug = group.slug
    if verb in ("offer", "need"):
        words, options = _split(args)
        if not words:
            return f"usage: !imago {verb} <name> [qty=N] [unit=U] [type=Q…] [action=A]"
        body: dict[str, Any] = {
            "purpose": "offer" if verb == "offer" else "request",
            "action": options.get("action", "transfer"),
            "name": " ".join(words),
        }
        if "type" in options:
            body["resource_conforms_to"] = options["type"]
        if "qty" in options:
            body["quantity"] = {"value": options["qty"], "unit": options.get("unit", "one")}
        if "from" in options:
            body["available_from"] = options["from"]
        if "until" in options:
            body["available_until"] = options["until"]
        stored, decision = await resources.publish(slug, body, author=sender)
        return (f"{sender}: {verb} {stored.id} is {stored.intent.state} "
                f"({decision.action.value} decision {decision.id}: {decision.state}).")  # fmt: skip
    if verb == "intents":
        found = await resources.intents(slug, frozenset({"open", "pending", "agreed"}))
        if not found:
            return f"{group.name} has no open offer or need."
        return "\n".join(f"[{s.id}] {describe(s.intent)}" for s in found[:20])
    if verb == "answer":
        words, options = _split(args)
        if len(words) != 1:
            return "usage: !imago answer <intent number> [qty=N] [unit=U]"
        quantity = None
        if "qty" in options:
            quantity = {"value": options["qty"], "unit": options.get("unit", "one")}
        decision = await resources.propose_agreement(
            slug, _number(words[0], "answer <intent number>"), quantity, author=sender
        )
        done = decision.result.get("executed")
        return f"{sender}: spend decision {decision.id} {decision.state}" + (
            f": {done}." if done else "."
        )
    if verb == "accept":
        agreement = _number(args[0] if args else "", "accept <agreement number>")
        decision = await resources.accept(slug, agreement, author=sender)
        done = decision.result.get("executed")
        return f"{sender}: spend decision {decision.id} {decision.state}" + (
            f": {done}." if done else "."
        )
    if verb == "withdraw":
        stored = await resources.withdraw(
            slug, _number(args[0] if args else "", "withdraw <intent number>")
        )
        return f"{sender}: {stored.intent.purpose} {stored.id} withdrawn."
    if verb == "cancel":
        number = _number(args[0] if args else "", "cancel <agreement number>")
        row = await resources.cancel(slug, number)
        return f"{sender}: agreement {row.id} {row.state}; its intent is open again."
    agreement = _number(args[0] if args else "", "fulfilled <agreement number>")
    row = await resources.fulfil(slug, agreement)
    return f"{sender}: agreement {row.id} {row.state}; stocks updated."
