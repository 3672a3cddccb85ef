"""``imago-fed resources``: offers, needs, matches, agreements and stocks from
the command line.

The same use cases as the admin API (services/resources.py): publishing opens
the group's publish_offer decision and answering or accepting an agreement its
spend decision; a running server sends what they start as soon as it sees it.
Output is one line per item, or JSON with ``--json``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import click

from imago_fed.commands.common import run, settings_of, with_runtime
from imago_fed.domain.errors import DomainError

__all__ = ["resources"]


def _call(
    ctx: click.Context, act: Callable[[Any], Awaitable[Any]], service: str = "resources"
) -> Any:
    """Run ``act`` on one service of the runtime (resources unless told)."""

    async def guarded(rt: Any) -> Any:
        found = getattr(rt, service)
        if found is None:
            raise click.ClickException(f"{service} is not wired")
        return await act(found)

    try:
        return run(with_runtime(settings_of(ctx), guarded))
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc


def _quantity(value: str | None) -> dict[str, Any] | None:
    """``2`` or ``2 kilogram`` or ``1.5 om2:litre`` (a bare number counts items)."""
    if value is None:
        return None
    amount, _, unit = value.strip().partition(" ")
    return {"value": amount, "unit": unit.strip() or "one"}


def _line(intent: dict[str, Any]) -> str:
    quantity = intent["remaining"] or intent["quantity"]
    amount = f"{quantity['value']} {quantity['unit']} " if quantity and quantity["value"] else ""
    return (
        f"{intent['id']}\t{intent['state']}\t{intent['purpose']}\t{intent['action']}\t"
        f"{amount}{intent['name']}\t{intent['group']}"
    )


@click.group()
def resources() -> None:
    """Offers and needs, their matches, agreements and stocks."""


@resources.command("offer")
@click.argument("slug")
@click.argument("name")
@click.option("--request", "purpose", flag_value="request", help="a need, not an offer")
@click.option("--offer", "purpose", flag_value="offer", default=True, hidden=True)
@click.option("--action", default="transfer", show_default=True)
@click.option("--type", "conforms_to", help="a Wikidata item (Q11442), an IRI or a word")
@click.option("--quantity", help='"2" or "5 kilogram" (OM2 unit names)')
@click.option("--from", "available_from", help="ISO 8601 with offset")
@click.option("--until", "available_until", help="ISO 8601 with offset")
@click.option("--note", default=None)
@click.option("--author", default="admin")
@click.pass_context
def offer(ctx: click.Context, slug: str, name: str, purpose: str, action: str,
          conforms_to: str | None, quantity: str | None, available_from: str | None,
          available_until: str | None, note: str | None, author: str) -> None:  # fmt: skip
    """Publish an offer (or with --request, a need) of group SLUG."""
    body = {"purpose": purpose, "action": action, "name": name,
            "resource_conforms_to": conforms_to, "quantity": _quantity(quantity),
            "available_from": available_from, "available_until": available_until,
            "note": note}  # fmt: skip
    body = {k: v for k, v in body.items() if v is not None}
    stored, proposal = _call(ctx, lambda r: r.publish(slug, body, author=author))
    click.echo(
        f"intent {stored.id} {stored.intent.state} ({proposal.action.value} decision "
        f"{proposal.id} {proposal.state}): {stored.ap_id}"
    )


@resources.command("list")
@click.argument("slug", required=False)
@click.option("--state", default=None)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_(ctx: click.Context, slug: str | None, state: str | None, as_json: bool) -> None:
    """Intents of group SLUG (without SLUG: every intent the instance knows)."""
    states = frozenset({state}) if state else None
    found = _call(ctx, lambda r: r.intents(slug, states) if slug else r.known(states))
    items = [s.intent.to_dict() for s in found]
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    for item in items:
        click.echo(_line(item))


@resources.command("matches")
@click.argument("intent_id", type=int)
@click.option("--limit", type=click.IntRange(1, 50), default=10)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def matches(ctx: click.Context, intent_id: int, limit: int, as_json: bool) -> None:
    """The best counterparts of an intent, with their score and why."""
    found = [m.to_dict() for m in _call(ctx, lambda r: r.matches(intent_id, limit))]
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    for match in found:
        click.echo(f"{match['score']:.3f}\t{_line(match['intent'])}\t{'; '.join(match['why'])}")


@resources.command("answer")
@click.argument("slug")
@click.argument("intent")
@click.option("--quantity", help="how much (default: all that is left)")
@click.option("--author", default="admin")
@click.pass_context
def answer(ctx: click.Context, slug: str, intent: str, quantity: str | None, author: str) -> None:
    """Group SLUG answers INTENT (an id or a Proposal IRI): opens its spend decision."""
    proposal = _call(
        ctx, lambda r: r.propose_agreement(slug, intent, _quantity(quantity), author=author)
    )
    executed = proposal.result.get("executed")
    click.echo(
        f"spend decision {proposal.id} {proposal.state}" + (f": {executed}" if executed else "")
    )


@resources.command("propagate")
@click.argument("slug")
@click.argument("intent_id", type=int)
@click.option("--k", type=int, default=None, help="how many groups at most")
@click.option("--hops", "hop_limit", type=int, default=None, help="transfers allowed in all")
@click.option("--radius", "radius_km", type=float, default=None, help="kilometres around SLUG")
@click.option("--theme", "themes", multiple=True, help="a Wikidata item the groups share")
@click.option("--relation-kind", "relation_kinds", multiple=True, help="e.g. partner")
@click.option("--author", default="admin")
@click.pass_context
def propagate(ctx: click.Context, slug: str, intent_id: int, k: int | None,
              hop_limit: int | None, radius_km: float | None, themes: tuple[str, ...],
              relation_kinds: tuple[str, ...], author: str) -> None:  # fmt: skip
    """Send an open offer or need of SLUG to the closest groups (its propagate decision)."""
    criteria: dict[str, Any] = {
        "k": k, "hop_limit": hop_limit, "radius_km": radius_km, "themes": list(themes),
        "relation_kinds": list(relation_kinds),
    }  # fmt: skip
    criteria = {key: v for key, v in criteria.items() if v not in (None, [])}
    proposal = _call(
        ctx,
        lambda p: p.request_intent(slug, intent_id, criteria, author=author),
        service="propagation",
    )
    executed = proposal.result.get("executed")
    done = f": {executed}" if executed else ""
    click.echo(f"propagate decision {proposal.id} {proposal.state}{done}")


@resources.command("agreements")
@click.argument("slug")
@click.option("--state", default=None)
@click.pass_context
def agreements(ctx: click.Context, slug: str, state: str | None) -> None:
    """Agreements of group SLUG, newest first."""
    found = _call(ctx, lambda r: r.agreements(slug, frozenset({state}) if state else None))
    for row in found:
        quantity = row.terms.quantity
        amount = (
            f"{quantity.value.normalize():f} {quantity.unit.name}"
            if quantity and quantity.value
            else "-"
        )
        click.echo(f"{row.id}\t{row.state}\t{row.role}\t{amount}\t{row.peer}")


@resources.command("accept")
@click.argument("slug")
@click.argument("agreement_id", type=int)
@click.option("--author", default="admin")
@click.pass_context
def accept(ctx: click.Context, slug: str, agreement_id: int, author: str) -> None:
    """Accept an agreement offered on one of SLUG's intents (a spend decision)."""
    proposal = _call(ctx, lambda r: r.accept(slug, agreement_id, author=author))
    click.echo(f"spend decision {proposal.id} {proposal.state}")


@resources.command("reject")
@click.argument("slug")
@click.argument("agreement_id", type=int)
@click.pass_context
def reject(ctx: click.Context, slug: str, agreement_id: int) -> None:
    """Reject an agreement offered on one of SLUG's intents."""
    row = _call(ctx, lambda r: r.reject(slug, agreement_id))
    click.echo(f"agreement {row.id} {row.state}")


@resources.command("fulfil")
@click.argument("slug")
@click.argument("agreement_id", type=int)
@click.pass_context
def fulfil(ctx: click.Context, slug: str, agreement_id: int) -> None:
    """Record that an accepted agreement was carried out (stocks move)."""
    row = _call(ctx, lambda r: r.fulfil(slug, agreement_id))
    click.echo(f"agreement {row.id} {row.state}")


@resources.command("cancel")
@click.argument("slug")
@click.argument("agreement_id", type=int)
@click.pass_context
def cancel(ctx: click.Context, slug: str, agreement_id: int) -> None:
    """Call off an accepted agreement of SLUG's not yet carried out (its intent opens again)."""
    row = _call(ctx, lambda r: r.cancel(slug, agreement_id))
    click.echo(f"agreement {row.id} {row.state}")


@resources.command("withdraw")
@click.argument("slug")
@click.argument("intent_id", type=int)
@click.pass_context
def withdraw(ctx: click.Context, slug: str, intent_id: int) -> None:
    """Withdraw one of SLUG's offers or needs."""
    stored = _call(ctx, lambda r: r.withdraw(slug, intent_id))
    click.echo(f"intent {stored.id} {stored.intent.state}")


@resources.command("stock")
@click.argument("slug")
@click.argument("conforms_to", required=False)
@click.argument("quantity", required=False)
@click.option("--name", default=None)
@click.pass_context
def stock(ctx: click.Context, slug: str, conforms_to: str | None, quantity: str | None,
          name: str | None) -> None:  # fmt: skip
    """Show SLUG's stocks, or set one: stock SLUG Q11442 "5" --name bicycles."""
    if conforms_to is not None:
        if quantity is None:
            raise click.UsageError('give the QUANTITY to set, e.g. "5" or "12 kilogram"')
        body = {"resource_conforms_to": conforms_to, "quantity": _quantity(quantity)}
        if name:
            body["name"] = name
        _call(ctx, lambda r: r.set_stock(slug, body))
    for item in _call(ctx, lambda r: r.inventory(slug)):
        resource = item.resource
        click.echo(
            f"{resource.iri or resource.label}\t{item.name}\t"
            f"{item.quantity.value.normalize():f} {item.quantity.unit.name}"
        )
