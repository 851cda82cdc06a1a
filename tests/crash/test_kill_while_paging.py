"""SIGKILL `dispatcher serve` while it pages twenty on-call people by SMS, restart it, count what
the gateway took: every page, and only the one the gateway had taken when the daemon died (its
answer never recorded) twice."""

from __future__ import annotations

import os
import shutil
import signal
import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import col

from dispatcher.clock import SystemClock
from dispatcher.contacts.registry import load_registry
from dispatcher.core.enums import Release, Source
from dispatcher.core.model import Policy
from dispatcher.incidents import service
from dispatcher.mailcatcher import MailCatcher
from dispatcher.notices.render import NoticeRenderer
from dispatcher.paging.fake_gateway import FakeGateway, SentSms
from dispatcher.store.db import transaction
from dispatcher.store.tables import DeliveryRow, DeliveryStatus
from tests.conftest import CONTACTS
from tests.support.daemon import DaemonProcess, wait_for
from tests.support.incidents import fmk_down
from tests.support.sms import SMS_SECRET, SMS_TOKEN

pytestmark = pytest.mark.slow

PEOPLE = 20
KILL_AT = 8


def phone(n: int) -> str:
    return f"+45344123{n:02d}"


@pytest.fixture
def contacts(tmp_path: Path) -> Path:
    """The shipped registry with twenty on-call people, each paged by SMS and mail."""
    target = tmp_path / "contacts"
    shutil.copytree(CONTACTS, target, ignore=shutil.ignore_patterns("*.md"))
    rows = ["role,name,email,phone,channels"]
    rows += [f"oncall,Vagt {n},vagt{n}@medcom.dk,{phone(n)},sms;email" for n in range(PEOPLE)]
    rows += [
        'fallback,"Poul Erik Kristensen, KL",prk@kl.dk,,',
        "sender,MedCom FMK-beredskab,fmk-beredskab@medcom.example,,",
        "reply_to,MedCom FMK-beredskab,fmk-beredskab@medcom.example,,",
    ]
    (target / "escalation.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return target


def sms_left(engine: Engine) -> int:
    with transaction(engine) as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(DeliveryRow)
                .where(
                    col(DeliveryRow.channel) == "sms",
                    col(DeliveryRow.status) != DeliveryStatus.SENT,
                )
            )
            or 0
        )


def test_kill_while_paging_sends_every_page_and_doubles_at_most_the_one_in_flight(
    engine: Engine,
    database_url: str,
    contacts: Path,
    renderer: NoticeRenderer,
    smtp: MailCatcher,
    daemons: list[DaemonProcess],
    tmp_path: Path,
) -> None:
    registry = load_registry(contacts)
    dispatch = service.Dispatch(
        engine=engine, registry=registry, renderer=renderer, policy=Policy()
    )
    with FakeGateway(token=SMS_TOKEN, webhook_secret=SMS_SECRET) as gateway:
        victim: list[int] = []
        killed: list[SentSms] = []

        def kill_at_the_eighth(sms: SentSms) -> None:
            if len(gateway.sent) == KILL_AT and victim and not killed:
                killed.append(sms)
                os.kill(victim[0], signal.SIGKILL)

        gateway.on_send = kill_at_the_eighth
        settings = {
            "contacts_dir": str(contacts),
            "claim_timeout": "2",
            "send_concurrency": "1",
            "sms_gateway_url": gateway.url,
            "sms_token": SMS_TOKEN,
            "sms_webhook_secret": SMS_SECRET,
        }
        trigger = fmk_down(source=Source.SDS, release=Release.AFTER_CONFIRM)
        service.trigger(dispatch, trigger, SystemClock().now())
        first = DaemonProcess(
            database_url=database_url, smtp_port=smtp.port, log=tmp_path / "one.log", **settings
        )
        daemons.append(first)
        starting = threading.Thread(target=first.start)
        starting.start()
        wait_for(lambda: first.process is not None, what="the daemon process")
        victim.append(first.pid)
        wait_for(lambda: not first.alive(), what="the kill")
        starting.join()
        assert killed, "the daemon was not killed while paging"
        assert sms_left(engine) > 0

        second = DaemonProcess(
            database_url=database_url, smtp_port=smtp.port, log=tmp_path / "two.log", **settings
        )
        daemons.append(second.start())
        wait_for(lambda: sms_left(engine) == 0, timeout=60, what="every page sent")
        assert second.terminate() == 0

    counts = Counter(s.msisdn for s in gateway.sent)
    assert set(counts) == {phone(n) for n in range(PEOPLE)}
    doubled = [number for number, times in counts.items() if times > 1]
    assert doubled == [killed[0].msisdn]
    assert counts[killed[0].msisdn] == 2
