"""The institution's catalogue as knowledge-base documents: one per achievement, one overview.

The extractive composer quotes whole sentences, so every sentence here names its achievement
and stands on its own: "Data Cleaning costs 120.00 EUR." answers a cost question even when it
is the only sentence quoted. Nothing is said that the catalogue does not record; a missing
price says it is not published instead of guessing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from microcred.ask.chunking import MARKDOWN, Document

CATALOGUE_PREFIX = "catalogue/"
OVERVIEW_KEY = "catalogue/overview"

DELIVERY_WORDS = {
    "self-paced": "self-paced online: learners start at any time and study at their own pace",
    "scheduled": "scheduled: it runs in cohorts on fixed dates",
    "blended": "blended: online study combined with scheduled sessions",
}


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """What the catalogue records about one achievement, as plain values."""

    id: uuid.UUID
    name: str
    description: str
    criteria: str
    url: str
    hours: Decimal | None = None
    cost: Decimal | None = None
    currency: str | None = None
    delivery: str | None = None
    skills: tuple[str, ...] = ()
    prerequisites: tuple[str, ...] = ()
    endorsements: tuple[str, ...] = ()
    validity_months: int | None = None
    result_names: tuple[str, ...] = field(default=())


def source_key(achievement_id: uuid.UUID) -> str:
    return f"{CATALOGUE_PREFIX}{achievement_id}"


def _hours(hours: Decimal) -> str:
    value = hours.normalize()
    text = f"{value:f}"
    return f"{text} hour" if value == 1 else f"{text} hours"


def _money(cost: Decimal, currency: str | None) -> str:
    amount = f"{cost.quantize(Decimal('0.01')):f}"
    return f"{amount} {currency}" if currency else amount


def _list(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else text + "."


def _cost_sentence(entry: CatalogueEntry) -> str:
    if entry.cost is None:
        return f"The price of {entry.name} is not published in the catalogue; ask the institution."
    if entry.cost == 0:
        return f"{entry.name} is free of charge: it costs nothing to take."
    return f"{entry.name} costs {_money(entry.cost, entry.currency)}."


def achievement_document(entry: CatalogueEntry) -> Document:
    """The Markdown page of one achievement: what it is, skills, criteria, time and cost."""
    name = entry.name
    lines = [f"# {name}", "", _sentence(entry.description), ""]
    lines += ["## Skills", ""]
    if entry.skills:
        lines.append(f"{name} is aligned to these skills: {_list(list(entry.skills))}.")
    else:
        lines.append(f"{name} is not aligned to any framework skill yet.")
    lines += ["", "## How it is earned", ""]
    lines.append(f"To earn {name}: {_sentence(entry.criteria)}")
    if entry.result_names:
        lines.append(f"The {name} credential reports: {_list(list(entry.result_names))}.")
    lines += ["", "## Time, cost and delivery", ""]
    if entry.hours is not None:
        lines.append(
            f"How long it takes: {name} takes about {_hours(entry.hours)} of study in total."
        )
    else:
        lines.append(f"The study time of {name} is not published in the catalogue.")
    lines.append(_cost_sentence(entry))
    if entry.delivery:
        words = DELIVERY_WORDS.get(entry.delivery, entry.delivery)
        lines.append(f"{name} is delivered {words}.")
    lines += ["", "## Prerequisites", ""]
    if entry.prerequisites:
        lines.append(
            f"Before taking {name}, learners should hold {_list(list(entry.prerequisites))}."
        )
    else:
        lines.append(f"{name} has no prerequisites: anyone can start it.")
    if entry.endorsements:
        lines += ["", "## Endorsements", ""]
        lines.append(f"{name} is endorsed by {_list(list(entry.endorsements))}.")
    lines += ["", "## Validity", ""]
    if entry.validity_months:
        lines.append(
            f"A {name} credential stays valid for {entry.validity_months} months after it "
            "is issued."
        )
    else:
        lines.append(f"A {name} credential does not expire once it is issued.")
    return Document(
        source_id=source_key(entry.id),
        title=name,
        text="\n".join(lines) + "\n",
        media_type=MARKDOWN,
    )


def overview_document(institution: str, entries: Sequence[CatalogueEntry]) -> Document:
    """One page over the whole catalogue, for "which ones", "cheapest", "how many" questions."""
    ordered = sorted(entries, key=lambda e: e.name.casefold())
    lines = [f"# Micro-credentials offered by {institution}", ""]
    count = len(ordered)
    noun = "micro-credential" if count == 1 else "micro-credentials"
    lines.append(f"{institution} offers {count} {noun} in its catalogue.")
    priced = sorted(
        ((e.cost, e.name, e) for e in ordered if e.cost is not None), key=lambda t: t[:2]
    )
    if priced:
        (low, _, cheapest), (high, _, dearest) = priced[0], priced[-1]
        lines.append(
            f"Prices: the micro-credentials cost from {_money(low, cheapest.currency)}"
            f" ({cheapest.name}) to {_money(high, dearest.currency)} ({dearest.name})."
        )
        lines.append(
            f"The cheapest micro-credential is {cheapest.name} "
            f"({_money(low, cheapest.currency)}); the most expensive is {dearest.name} "
            f"({_money(high, dearest.currency)})."
        )
    timed = sorted(
        ((e.hours, e.name, e) for e in ordered if e.hours is not None), key=lambda t: t[:2]
    )
    if timed:
        (least, _, shortest), (most, _, longest) = timed[0], timed[-1]
        lines.append(
            f"How long they take: the micro-credentials take from {_hours(least)} of study "
            f"({shortest.name}) to {_hours(most)} ({longest.name})."
        )
        lines.append(
            f"The shortest micro-credential is {shortest.name} ({_hours(least)}); the longest "
            f"is {longest.name} ({_hours(most)})."
        )
    lines += ["", "## The catalogue", ""]
    for entry in ordered:
        facts = []
        if entry.hours is not None:
            facts.append(f"about {_hours(entry.hours)}")
        if entry.cost is not None:
            facts.append("free" if entry.cost == 0 else _money(entry.cost, entry.currency))
        if entry.delivery:
            facts.append(entry.delivery)
        detail = f" ({', '.join(facts)})" if facts else ""
        lines.append(f"- {entry.name}{detail}: {_sentence(entry.description)}")
    return Document(
        source_id=OVERVIEW_KEY,
        title=f"Micro-credentials offered by {institution}",
        text="\n".join(lines) + "\n",
        media_type=MARKDOWN,
    )
