"""The plan the demo plays, step by step, with the default policy (`after_confirm`):

SDS reports FMK down → the on-call pair is paged (by SMS and mail) and the EOJ vendors alerted →
nobody acknowledges → at +15 min KL is paged, and the pair again → Karina acknowledges by
replying to her SMS page with its code → she confirms the initial notice → all municipalities
are told, the vendors in Cc → all but 8 confirm receipt from the link in their notice → at
+30 min the 8 are reminded → SDS sends news → at +60 min Karina gets the list of the 8 to
ring → the 2-hourly update carries SDS's news → a second
update two hours later → SDS reports FMK running again → after the recovery window (15 min)
the all-clear.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dispatcher.contacts.model import Registry
from dispatcher.core.model import Confirm
from dispatcher.demo.stage import DemoFailed, Stage
from dispatcher.incidents import service
from dispatcher.store.db import transaction
from dispatcher.store.tables import IncidentRow

MINUTE = timedelta(minutes=1)
SILENT = 8  # municipalities that do not confirm receipt: the last ones by code
# How long the plan takes on the demo clock: the all-clear falls due 15 minutes after SDS's
# recovery, which comes 35 minutes after the second update, itself 4 h after the initial
# notice at 24 minutes (a test checks the all-clear lands close to the real time).
LENGTH = timedelta(hours=5, minutes=15)

OUTAGE = {
    "severity": "down",
    "summary": "FMK svarer ikke",
    "details": "Alle opslag i Fælles Medicinkort fejler med timeout. SDS undersøger årsagen.",
}
IMPACT = (
    "Medicinkortet kan hverken ses eller ændres fra Nexus, Cura eller Vitae; "
    "genordinationer og dosisændringer må vente eller gå via lægen."
)
NEWS = (
    "SDS har fundet årsagen: en fejl i en databaseklynge. Rettelsen er i gang, "
    "og SDS forventer, at FMK kører igen i løbet af få timer."
)


@dataclass
class Play:
    """What the steps share: the stage, the registry, and the incident once it is open;
    `start` is when the demo began, then when the incident was opened."""

    stage: Stage
    registry: Registry
    start: datetime
    incident: int | None = None

    @property
    def owner(self) -> str:
        return self.registry.escalation.oncall[0].email

    def number(self) -> int:
        if self.incident is None:
            raise DemoFailed("no incident was opened by SDS's outage signal")
        return self.incident

    def row(self) -> IncidentRow:
        with transaction(self.stage.runtime.engine) as session:
            row = session.get(IncidentRow, self.number())
        if row is None:
            raise DemoFailed(f"incident #{self.number()} is not in the database")
        return row


@dataclass(frozen=True)
class Step:
    """One move of the plan: `label` (with {owner} and {fallback} filled in from the registry)
    for the progress display, `act` to carry it out, and the notices it must cause."""

    label: str
    act: Callable[[Play], Awaitable[None]]
    expect: Counter[str] = field(default_factory=Counter)

    def describe(self, registry: Registry) -> str:
        esc = registry.escalation
        return self.label.format(owner=esc.oncall[0].name, fallback=esc.fallback[0].name)


async def outage(play: Play) -> None:
    started = (play.start - 4 * MINUTE).isoformat()
    answer = await play.stage.signal("outage", "demo-outage", started_at=started, **OUTAGE)
    play.incident = int(answer["incident"])
    play.start = play.row().opened_at  # the plan's times count from when the daemon opened it


async def escalate(play: Play) -> None:
    await play.stage.at(play.start + 15 * MINUTE)


async def acknowledge(play: Play) -> None:
    await play.stage.at(play.start + 19 * MINUTE)
    phone = play.registry.escalation.oncall[0].phone
    if phone is None or not play.stage.gateway.to(phone):  # a rota of the user's own contacts
        await play.stage.acknowledge_from_page(play.owner)
    else:
        await play.stage.acknowledge_by_reply(phone)


async def confirm(play: Play) -> None:
    """What `dispatcher incident confirm N --impact …` does: the owner releases the notice."""
    await play.stage.at(play.start + 24 * MINUTE)
    dispatch = play.stage.runtime.dispatch
    event = Confirm(play.owner, impact=IMPACT)
    await asyncio.to_thread(service.apply, dispatch, play.number(), event, play.stage.clock.now())


async def receipts(play: Play) -> None:
    """The municipalities press "Bekræft modtagelse" in their notice; the last few by code do
    not, so the follow-up has someone to remind and a list for the owner to ring."""
    await play.stage.at(play.start + 40 * MINUTE)
    codes = sorted(m.code for m in play.registry.municipalities)
    await play.stage.confirm_receipts(set(codes[: max(len(codes) - SILENT, 0)]))


async def reminder(play: Play) -> None:
    due = play.row().reminder_at
    if due is None:
        raise DemoFailed(f"incident #{play.number()} has no reminder to the silent scheduled")
    await play.stage.at(due)


async def call_list(play: Play) -> None:
    due = play.row().call_list_at
    if due is None:
        raise DemoFailed(f"incident #{play.number()} has no call list scheduled")
    await play.stage.at(due)


async def news(play: Play) -> None:
    await play.stage.at(play.start + 70 * MINUTE)
    await play.stage.signal("update", "demo-news", details=NEWS)


async def scheduled_update(play: Play) -> None:
    due = play.row().next_update_at
    if due is None:
        raise DemoFailed(f"incident #{play.number()} has no next update scheduled")
    await play.stage.at(due)


async def recovered(play: Play) -> None:
    await play.stage.at(play.stage.clock.now() + 35 * MINUTE)
    await play.stage.signal("resolved", "demo-resolved")


async def all_clear(play: Play) -> None:
    due = play.row().all_clear_at
    if due is None:
        raise DemoFailed(f"incident #{play.number()} has no all-clear scheduled")
    await play.stage.at(due)


STEPS = (
    Step(
        "SDS: FMK is down; the on-call pair paged, the vendors alerted",
        outage,
        Counter(page=1, vendor_alert=1),
    ),
    Step("No acknowledgement: {fallback} paged, the pair again", escalate, Counter(page=1)),
    Step(
        "{owner} acknowledges by replying to the SMS page; the others told",
        acknowledge,
        Counter(owner=1),
    ),
    Step(
        "{owner} confirms: all municipalities told, vendors in Cc",
        confirm,
        Counter(initial=1),
    ),
    Step(
        f"All but {SILENT} municipalities confirm receipt from the link in their notice",
        receipts,
    ),
    Step(
        f"The {SILENT} that have not confirmed are reminded, 30 minutes after the notice",
        reminder,
        Counter(reminder=1),
    ),
    Step("SDS has news for the next update", news),
    Step(
        f"{{owner}} gets the {SILENT} municipalities to ring, 60 minutes after the notice",
        call_list,
        Counter(oncall_info=1),
    ),
    Step("The 2-hourly update, with SDS's news", scheduled_update, Counter(update=1)),
    Step("The next 2-hourly update", scheduled_update, Counter(update=1)),
    Step("SDS: FMK runs again; the all-clear waits 15 minutes", recovered),
    Step("FMK stayed up: the all-clear", all_clear, Counter(all_clear=1)),
)
