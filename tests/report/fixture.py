"""An incident's records whose report figures are worked out by hand (see test_figures.py).

03:00 (02:00 UTC) SDS says FMK is down, again at 03:04; the on-call pair is paged at once and
KL at 03:15; Karina acknowledges at 03:12; the initial notice goes to six municipalities at
03:12:30, the update two hours later. Every time below is UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from dispatcher.report.records import Delivery, Entry, Notice, Records


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2021, 12, 31, hour, minute, second, tzinfo=UTC)


MUNICIPALITIES = (
    ("kommune-101", "Københavns Kommune"),
    ("kommune-147", "Frederiksberg Kommune"),
    ("kommune-461", "Odense Kommune"),
    ("kommune-751", "Aarhus Kommune"),
    ("kommune-825", "Læsø Kommune"),
    ("kommune-400", "Bornholms Regionskommune"),
)
UNKNOWN = "5.1.1 smtp; 550 5.1.1 User unknown"


def d(
    seq: int,
    kind: str,
    audience: str,
    recipient: str,
    status: str,
    attempts: int,
    finished: datetime | None,
    *,
    reply: str | None = None,
    dsn: str | None = None,
) -> Delivery:
    return Delivery(seq, kind, audience, recipient, status, attempts, finished, reply, dsn)


DELIVERIES = (
    # Pages: the pair at once, KL in round 2.
    d(1, "page", "person-khs", "khs@medcom.dk", "sent", 1, at(2, 0, 30)),
    d(1, "page", "person-ibs", "ibs@medcom.dk", "sent", 1, at(2, 0, 45)),
    d(3, "page", "person-prk", "prk@kl.dk", "sent", 1, at(2, 15, 30)),
    # The initial notice, #4.
    d(4, "initial", "kommune-101", "a@kk.example", "sent", 1, at(2, 13)),
    d(4, "initial", "kommune-101", "b@kk.example", "sent", 1, at(2, 14)),
    d(4, "initial", "kommune-147", "f@frb.example", "sent", 1, at(2, 13, 30)),
    d(4, "initial", "kommune-461", "o@odense.example", "sent", 3, at(2, 20)),
    d(4, "initial", "kommune-751", "a@aarhus.example", "bounced", 1, at(2, 13), dsn=UNKNOWN),
    d(4, "initial", "kommune-825", "l@laesoe.example", "sent", 2, at(2, 45)),
    d(4, "initial", "kommune-400", "b@brk.example", "bounced", 1, at(2, 13), dsn=UNKNOWN),
    d(4, "initial", "vendor-kmd", "fmk@kmd.example", "sent", 1, at(2, 13)),
    # The update, #5.
    d(5, "update", "kommune-101", "a@kk.example", "sent", 1, at(4, 13)),
    d(5, "update", "kommune-101", "b@kk.example", "failed", 1, None, reply="550 5.1.1 gone"),
    d(5, "update", "kommune-147", "f@frb.example", "sent", 1, at(4, 13)),
    d(5, "update", "kommune-461", "o@odense.example", "pending", 4, None, reply="421 busy"),
    d(5, "update", "kommune-751", "a@aarhus.example", "sent", 1, at(4, 14)),
    d(5, "update", "kommune-825", "l@laesoe.example", "sent", 1, at(4, 15)),
    d(5, "update", "kommune-400", "b@brk.example", "bounced", 1, at(4, 13), dsn=UNKNOWN),
)

RECORDS = Records(
    number=7,
    summary="FMK svarer ikke – ordinationer kan ikke ses",
    status="acknowledged",
    drill=False,
    opened_at=at(2, 0, 5),
    down_since=at(1, 55),
    acknowledged_at=at(2, 12),
    owner="khs@medcom.dk",
    closed_at=None,
    signals=(at(2, 4), at(2, 0)),
    timeline=(
        Entry(at(2, 0, 5), "sds", "triggered", "FMK svarer ikke – ordinationer kan ikke ses"),
        Entry(at(2, 0, 5), "dispatcher", "paged", "page 1: the on-call pair"),
        Entry(at(2, 12), "khs@medcom.dk", "acknowledged", "owner: khs@medcom.dk"),
        Entry(at(2, 12, 30), "khs@medcom.dk", "confirmed", "initial notice released"),
    ),
    notices=(
        Notice(1, "page", at(2, 0, 5)),
        Notice(2, "vendor_alert", at(2, 0, 5)),
        Notice(3, "page", at(2, 15)),
        Notice(4, "initial", at(2, 12, 30)),
        Notice(5, "update", at(4, 12, 30)),
    ),
    deliveries=DELIVERIES,
    municipalities=MUNICIPALITIES,
    receipts=(
        ("Læsø Kommune", at(3, 10)),
        ("Københavns Kommune", at(2, 30)),
        ("Frederiksberg Kommune", at(2, 40)),
    ),
)
