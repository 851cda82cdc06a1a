"""Outcomes recorded as a group: one transaction, each row only under its own claim token."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy import Engine, select
from sqlmodel import col

from dispatcher.incidents import service
from dispatcher.outbox import queue
from dispatcher.store.db import transaction
from dispatcher.store.tables import DeliveryRow
from tests.support.clock import FakeClock
from tests.support.incidents import fmk_down


def rows(engine: Engine, ids: list[int]) -> dict[int, DeliveryRow]:
    with transaction(engine) as session:
        found = session.scalars(select(DeliveryRow).where(col(DeliveryRow.id).in_(ids)))
        return {r.id: r for r in found if r.id is not None}


def test_a_group_records_each_outcome_under_its_own_claim(
    dispatch: service.Dispatch, engine: Engine, clock: FakeClock
) -> None:
    service.trigger(dispatch, fmk_down(), clock.now())
    now = clock.now()
    sent, retried, failed, stale, back = queue.claim_due(
        engine, now=now, limit=5, lease=timedelta(minutes=5)
    )
    taken_over = dataclasses.replace(stale, token="another sender's")
    later = now + timedelta(seconds=30)
    recorded = queue.finish(
        engine,
        [
            queue.sent(sent, reply="250 ok æøå", now=now),
            queue.retry(retried, reply="451 later", at=later),
            queue.failed(failed, reply="550 no such user", now=now),
            queue.sent(taken_over, reply="250 ok", now=now),
            queue.handed_back(back),
        ],
    )
    assert recorded == [True, True, True, False, True]
    found = rows(engine, [c.delivery_id for c in (sent, retried, failed, stale, back)])
    assert (found[sent.delivery_id].status, found[sent.delivery_id].last_reply) == (
        "sent",
        "250 ok æøå",
    )
    assert found[sent.delivery_id].claimed_until is None
    assert (found[retried.delivery_id].status, found[retried.delivery_id].next_attempt_at) == (
        "pending",
        later,
    )
    assert found[failed.delivery_id].status == "failed"
    assert found[stale.delivery_id].status == "sending"  # still the other sender's
    assert (found[back.delivery_id].status, found[back.delivery_id].attempts) == ("pending", 0)
    assert queue.finish(engine, []) == []
