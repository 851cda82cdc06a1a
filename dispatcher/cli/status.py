"""`dispatcher status`: the running replicas and their background tasks, which one leads, and
what waits to be sent."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from dispatcher.cli.context import console, state
from dispatcher.clock import SystemClock

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from dispatcher.daemon.supervise import TaskHealth
    from dispatcher.store.tables import (
        IncidentRow,
        LeaderLeaseRow,
        ReplicaRow,
    )


def status(ctx: typer.Context) -> None:
    """Replicas, their heartbeats and tasks, the leader, the relay, pending and failed
    deliveries.

    Exits 1 when no replica leads (nothing is being sent) or the relay fails (nothing gets
    through), so scripts can check it."""
    from dispatcher.cli.render import local
    from dispatcher.cli.runtime import open_store, registry_or_fail
    from dispatcher.daemon.replicas import STALE_AFTER
    from dispatcher.daemon.supervise import loads
    from dispatcher.oncall.duty import on_duty_now
    from dispatcher.outbox import relay
    from dispatcher.store import backlog
    from dispatcher.store.tables import DeliveryStatus

    registry = registry_or_fail(state(ctx).settings)
    engine = open_store(ctx)
    now = SystemClock().now()
    replicas, lease, deliveries, oldest, open_incidents = _read(engine, now)
    health = relay.health(engine)
    leader = lease.holder if lease and lease.expires_at and lease.expires_at > now else None
    table = Table(
        "replica", "host", "pid", "started", "last seen", "role", "tasks", title="Replicas"
    )
    troubled: list[str] = []
    for row in replicas:
        tasks = loads(row.tasks)
        troubled += [_task_line(row.id, name, health) for name, health in tasks.items()]
        alive = row.last_seen_at >= now - STALE_AFTER
        role = (
            "[bold green]leader[/]"
            if row.id == leader
            else "standby"
            if alive
            else "[red]silent[/]"
        )
        age = f"{(now - row.last_seen_at).total_seconds():.0f} s ago"
        table.add_row(
            row.id[:8],
            escape(row.hostname),
            str(row.pid),
            local(row.started_at),
            age,
            role,
            _tasks_cell(tasks),
        )
    console.print(table if replicas else "No daemon has registered: none is running.")
    for line in filter(None, troubled):
        console.print(line, highlight=False)
    if leader is None:
        console.print("[bold red]No replica leads:[/] nothing is paged or sent until one does.")
    else:
        console.print(f"Leader {leader[:8]} (epoch {lease.epoch if lease else 0}).")
    # A maintenance notice waits in the outbox until its time: "scheduled", not pending.
    counts = ", ".join(f"{deliveries[s]} {s}" for s in (*DeliveryStatus, backlog.SCHEDULED))
    waited = ""
    if oldest is not None:
        waited = f"; oldest pending {(now - oldest).total_seconds():.0f} s"
    console.print(f"Deliveries: {counts}{waited}.", highlight=False)
    on_call = on_duty_now(engine, registry, now).escalation.oncall
    names = ", ".join(person.name for person in on_call)
    console.print(f"On call: {escape(names)} (`dispatcher oncall now` says why).", highlight=False)
    for incident in open_incidents:
        console.print(
            f"Open {'drill' if incident.drill else 'incident'} #{incident.id} "
            f"({incident.status}): {escape(incident.summary)}",
            highlight=False,
        )
    if health.failing_since is not None:
        console.print(
            f"[bold red]Relay failing since {local(health.failing_since)}:[/] "
            f"{escape(health.last_error)}; {health.waiting} deliveries waiting.",
            highlight=False,
        )
    if leader is None or health.failing:
        raise typer.Exit(1)


def _tasks_cell(tasks: dict[str, TaskHealth]) -> str:
    from dispatcher.daemon.supervise import TaskState

    restarting = [name for name, h in tasks.items() if h.state is TaskState.RESTARTING]
    if restarting:
        return "[red]" + ", ".join(restarting) + " restarting[/]"
    return "all running" if tasks else "–"


def _task_line(replica: str, name: str, health: TaskHealth) -> str:
    """A line for a task that has been restarted, else an empty one."""
    from dispatcher.cli.render import local
    from dispatcher.daemon.supervise import TaskState

    if not health.restarts:
        return ""
    state = (
        f"restarting since {local(health.since)}"
        if health.state is TaskState.RESTARTING
        else f"running again since {local(health.since)}"
    )
    return (
        f"Replica {replica[:8]}: task {name} {state}, {health.restarts} restart(s); "
        f"last error at {local(health.last_error_at)}: {escape(health.last_error or '')}"
    )


def _read(
    engine: Engine, now: datetime
) -> tuple[
    list[ReplicaRow], LeaderLeaseRow | None, Counter[str], datetime | None, list[IncidentRow]
]:
    from sqlalchemy import select
    from sqlmodel import col

    from dispatcher.store import backlog
    from dispatcher.store.db import transaction
    from dispatcher.store.tables import (
        LEADER_LEASE,
        IncidentRow,
        LeaderLeaseRow,
        ReplicaRow,
    )

    with transaction(engine) as session:
        replicas = list(session.scalars(select(ReplicaRow).order_by(col(ReplicaRow.started_at))))
        lease = session.get(LeaderLeaseRow, LEADER_LEASE)
        deliveries = Counter(backlog.by_state(session, now))
        oldest = backlog.oldest_due(session, now)
        open_incidents = list(
            session.scalars(
                select(IncidentRow)
                .where(col(IncidentRow.open_key).is_not(None))
                .order_by(col(IncidentRow.drill), col(IncidentRow.id))
            )
        )
    return replicas, lease, deliveries, oldest, open_incidents
