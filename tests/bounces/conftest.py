"""Fixtures for the bounce tests: realistic DSN samples, a real Dovecot IMAP server, and an
incident whose notices have gone out over real SMTP with VERP return paths."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, select
from sqlmodel import col

from dispatcher.bounces.verp import return_path
from dispatcher.config import Settings
from dispatcher.contacts.model import Registry
from dispatcher.incidents import service
from dispatcher.notices.render import NoticeRenderer
from dispatcher.outbox.sender import Sender
from dispatcher.runtime import Runtime
from dispatcher.store.db import transaction
from dispatcher.store.tables import DeliveryRow, MessageRow
from tests.support.clock import FakeClock
from tests.support.dovecot import Account, Dovecot, reading, serve
from tests.support.drain import drain
from tests.support.dsn import sample
from tests.support.incidents import fmk_down
from tests.support.registry import few_municipalities

BOUNCE_ADDRESS = "bounces@medcom.example"
SENDER = "fmk-beredskab@medcom.example"


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    yield from serve()


@pytest.fixture
def mailbox(dovecot: Dovecot) -> Account:
    """An empty bounce mailbox of its own on the test server."""
    return dovecot.account()


@dataclass(frozen=True)
class Told:
    """Incident `number`'s initial notice, sent over real SMTP with VERP return paths to a
    few municipalities and the vendors; the reader's runtime points at the bounce mailbox."""

    number: int
    runtime: Runtime
    deliveries: dict[str, DeliveryRow]  # by recipient
    message_ids: dict[str, str]  # recipient → the Message-ID of the message it got

    def return_path(self, recipient: str) -> str:
        secret = self.runtime.settings.link_secret.get_secret_value()
        return return_path(BOUNCE_ADDRESS, secret, _id(self.deliveries[recipient].id))

    def bounce(self, name: str, recipient: str, *, verp: bool = True) -> bytes:
        """Sample `name` about `recipient`'s delivery, sent back to its return path (or, with
        `verp` false, to the sender's address, so that only the Message-ID names it)."""
        to = self.return_path(recipient) if verp else SENDER
        return sample(
            name, message_id=self.message_ids[recipient], recipient=recipient, return_path=to
        )

    def statuses(self) -> dict[str, tuple[str, str | None, str | None]]:
        """Each initial delivery's status, DSN status code and diagnostic, by recipient."""
        ids = [d.id for d in self.deliveries.values()]
        with transaction(self.runtime.engine) as session:
            rows = session.scalars(select(DeliveryRow).where(col(DeliveryRow.id).in_(ids))).all()
            return {d.recipient: (d.status, d.dsn_status, d.dsn_diagnostic) for d in rows}


def _id(value: int | None) -> int:
    assert value is not None
    return value


@pytest.fixture
async def told(
    settings: Settings,
    engine: Engine,
    registry: Registry,
    renderer: NoticeRenderer,
    clock: FakeClock,
    mailbox: Account,
) -> Told:
    runtime = Runtime(
        reading(settings, mailbox, BOUNCE_ADDRESS), engine, few_municipalities(registry), renderer
    )
    number, _ = service.trigger(runtime.dispatch, fmk_down(), clock.now())
    sender = Sender(engine, runtime.settings, clock)
    await drain(sender, engine, clock)
    await sender.close()
    with transaction(engine) as session:
        rows = session.execute(
            select(DeliveryRow, col(MessageRow.rfc_message_id)).join(
                MessageRow, col(MessageRow.id) == col(DeliveryRow.message_id)
            )
        ).all()
    return Told(
        number=number,
        runtime=runtime,
        deliveries={d.recipient: d for d, _ in rows},
        message_ids={d.recipient: rfc_id for d, rfc_id in rows},
    )
