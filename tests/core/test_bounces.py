"""What a bounce means for an incident, as a table: always a timeline entry; for a notice that
did not reach a municipality or vendor of a live incident, a message to its owner."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from dispatcher.core.bounces import Bounce, on_bounces
from dispatcher.core.enums import Audience, Info, Status
from dispatcher.core.kinds import NoticeKind
from dispatcher.core.model import Incident, Notify, Record

T0 = datetime(2021, 12, 31, 2, 0, tzinfo=UTC)
OPEN = Incident(
    status=Status.ACKNOWLEDGED,
    summary="FMK svarer ikke",
    details="",
    impact="",
    guidance="",
    down_since=T0,
    opened_at=T0,
    owner="khs@medcom.dk",
)
AABENRAA = Bounce(
    addressee="Aabenraa Kommune",
    recipient="fmk@aabenraa.kommune.example",
    notice=NoticeKind.INITIAL,
    sequence=1,
    permanent=True,
    status="5.1.1",
    diagnostic="smtp; 550 5.1.1 User unknown",
)


def kinds(effects: tuple[object, ...]) -> list[str]:
    return [e.kind if isinstance(e, Record) else f"notify:{e.audience}" for e in effects]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("status", "bounce", "expected"),
    [
        (Status.ACKNOWLEDGED, AABENRAA, ["bounce", "notify:owner"]),
        (Status.TRIGGERED, AABENRAA, ["bounce", "notify:owner"]),
        (
            Status.ACKNOWLEDGED,
            replace(AABENRAA, notice=NoticeKind.VENDOR_ALERT),
            ["bounce", "notify:owner"],
        ),
        (
            Status.ACKNOWLEDGED,
            replace(AABENRAA, notice=NoticeKind.UPDATE),
            ["bounce", "notify:owner"],
        ),
        (Status.RESOLVED, AABENRAA, ["bounce"]),
        (Status.CANCELLED, AABENRAA, ["bounce"]),
        (Status.ACKNOWLEDGED, replace(AABENRAA, permanent=False), ["bounce_delayed"]),
        (Status.ACKNOWLEDGED, replace(AABENRAA, notice=NoticeKind.PAGE), ["bounce"]),
        (Status.ACKNOWLEDGED, replace(AABENRAA, notice=NoticeKind.ONCALL_INFO), ["bounce"]),
    ],
)
def test_what_follows_a_bounce(status: Status, bounce: Bounce, expected: list[str]) -> None:
    assert kinds(on_bounces(replace(OPEN, status=status), (bounce,))) == expected


def test_the_owner_gets_one_notice_naming_every_municipality_not_reached() -> None:
    second = replace(AABENRAA, addressee="Ærø Kommune", recipient="fmk@aeroe.kommune.example")
    delayed = replace(AABENRAA, addressee="Læsø Kommune", permanent=False)
    *records, notify = on_bounces(OPEN, (AABENRAA, second, delayed))
    assert isinstance(notify, Notify)
    assert notify.kind is NoticeKind.ONCALL_INFO
    assert notify.audience is Audience.OWNER
    assert notify.info is Info.NOT_REACHED
    assert notify.message == (
        "- Aabenraa Kommune (fmk@aabenraa.kommune.example): 5.1.1 smtp; 550 5.1.1 User unknown\n"
        "- Ærø Kommune (fmk@aeroe.kommune.example): 5.1.1 smtp; 550 5.1.1 User unknown"
    )
    assert [r.text for r in records] == [
        "Aabenraa Kommune not reached: fmk@aabenraa.kommune.example bounced notice #1 "
        "(initial): 5.1.1 smtp; 550 5.1.1 User unknown",
        "Ærø Kommune not reached: fmk@aeroe.kommune.example bounced notice #1 (initial): "
        "5.1.1 smtp; 550 5.1.1 User unknown",
        "Læsø Kommune: notice #1 (initial) to fmk@aabenraa.kommune.example delayed, not final: "
        "5.1.1 smtp; 550 5.1.1 User unknown",
    ]
