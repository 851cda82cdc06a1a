"""How long a delivery stays in the duplicate window: from the relay's 250 to the committed `sent`.

A daemon killed inside that window sends the delivery again after a restart (see
docs/delivery-guarantees.md). The relay runs in its own process (as a real relay is elsewhere)
and notes the moment it answers 250 to each message; the sender notes the moment its `sent`
has committed (`queue.finish`, which records a group in one transaction). Both read
CLOCK_MONOTONIC, which all processes of one machine share. Each case sends the initial notice
to the 98 municipalities and 3 vendors `--rounds` times with the default send concurrency,
idle and with `--load` busy processes beside it, on SQLite and PostgreSQL. The window is split
into its parts: *reply → sender* (the sender's task has the reply), *→ thread* (its group's
record has started in a worker thread), *→ commit*.

    python -m bench.crash_window [--rounds 3] [--load 2] [--pg postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench.inform_all import FMK_DOWN, ROOT, drop_pg, pg_database
from dispatcher import logs
from dispatcher.clock import SystemClock
from dispatcher.config import Settings
from dispatcher.incidents import service
from dispatcher.mailcatcher import CatcherHandler, MailCatcher, free_port
from dispatcher.outbox import queue, smtp
from dispatcher.outbox.sender import Sender
from dispatcher.runtime import build
from dispatcher.store.db import make_engine
from dispatcher.store.migrate import upgrade

LOAD_SECONDS_MAX = 600.0


def now_ns() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


class StampingRelay(CatcherHandler):
    """Accepts everything and sends (recipient, moment of the 250) down a pipe."""

    def __init__(self, pipe: Connection) -> None:
        super().__init__()
        self.pipe = pipe

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        reply = await super().handle_DATA(server, session, envelope)
        self.pipe.send((envelope.rcpt_tos[0], now_ns()))
        return reply


def relay_process(port: int, pipe: Connection, stop: Any) -> None:
    with MailCatcher(StampingRelay(pipe), port=port):
        pipe.send("ready")
        stop.wait()


def busy(until: float) -> None:
    while time.monotonic() < until:
        pass


@contextmanager
def cpu_load(processes: int) -> Iterator[None]:
    """`processes` busy loops beside the sender, each bounded in time should we die."""
    until = time.monotonic() + LOAD_SECONDS_MAX
    workers = [multiprocessing.Process(target=busy, args=(until,)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    try:
        yield
    finally:
        for worker in workers:
            worker.terminate()
            worker.join()


@dataclass
class Stamps:
    """Per recipient: when the sender had the reply, when the record started, when it committed."""

    sender: dict[str, int] = field(default_factory=dict)
    thread: dict[str, int] = field(default_factory=dict)
    commit: dict[str, int] = field(default_factory=dict)


@contextmanager
def stamped(stamps: Stamps) -> Iterator[None]:
    """Wrap the SMTP send and `queue.finish` (as the sender looks them up) to note times."""
    send, finish = smtp.SmtpConnection.send, queue.finish

    async def timed_send(
        self: smtp.SmtpConnection,
        envelope_from: str,
        rcpt: str,
        raw: bytes,
        ready: Callable[[], Awaitable[object]] | None = None,
    ) -> str:
        reply = await send(self, envelope_from, rcpt, raw, ready)
        stamps.sender[rcpt] = now_ns()
        return reply

    def timed_finish(engine: Any, outcomes: list[queue.Outcome]) -> list[bool]:
        sent = [o.claim.recipient for o in outcomes if o.sent]
        started = now_ns()
        recorded = finish(engine, outcomes)
        committed = now_ns()
        for rcpt in sent:
            stamps.thread[rcpt], stamps.commit[rcpt] = started, committed
        return recorded

    smtp.SmtpConnection.send = timed_send  # type: ignore[method-assign]
    queue.finish = timed_finish
    try:
        yield
    finally:
        smtp.SmtpConnection.send = send  # type: ignore[method-assign]
        queue.finish = finish


async def one_round(database_url: str, port: int) -> Stamps:
    settings = Settings(
        database_url=database_url,
        smtp_host="127.0.0.1",
        smtp_port=port,
        contacts_dir=ROOT / "contacts",
        templates_dir=ROOT / "templates",
    )
    engine = make_engine(database_url)
    upgrade(engine)
    runtime = build(settings, engine)
    clock = SystemClock()
    service.trigger(runtime.dispatch, FMK_DOWN, clock.now())
    stamps = Stamps()
    sender = Sender(engine, settings, clock)
    with stamped(stamps):
        while await sender.run_once():
            pass
    await sender.close()
    engine.dispose()
    return stamps


@dataclass(frozen=True)
class Window:
    """Milliseconds per delivery: the whole window and its parts."""

    total: list[float]
    to_sender: list[float]
    to_thread: list[float]
    to_commit: list[float]


def windows(rounds: list[tuple[dict[str, int], Stamps]]) -> Window:
    parts: tuple[list[float], ...] = ([], [], [], [])
    for replies, stamps in rounds:
        for rcpt, committed in stamps.commit.items():
            reply, seen, started = replies[rcpt], stamps.sender[rcpt], stamps.thread[rcpt]
            for part, ns in zip(
                parts,
                (committed - reply, seen - reply, started - seen, committed - started),
                strict=True,
            ):
                part.append(ns / 1e6)
    return Window(*parts)


@contextmanager
def stamping_relay() -> Iterator[tuple[int, Connection]]:
    """A `StampingRelay` in a process of its own: its port, and the pipe of its stamps."""
    port = free_port()
    ours, theirs = multiprocessing.Pipe()
    stop = multiprocessing.Event()
    relay = multiprocessing.Process(target=relay_process, args=(port, theirs, stop))
    relay.start()
    assert ours.recv() == "ready"
    try:
        yield port, ours
    finally:
        stop.set()
        while relay.is_alive():  # read what it still sends, or it blocks on a full pipe
            while ours.poll(0.05):
                ours.recv()
        relay.join()


def measure(store: str, load: int, rounds: int, pg: str, folder: Path) -> Window:
    per_round: list[Stamps] = []
    replies: list[dict[str, int]] = []
    with stamping_relay() as (port, ours), cpu_load(load):
        for index in range(rounds):
            if store == "sqlite":
                url = f"sqlite:///{folder / f'{store}-{load}-{index}.db'}"
                per_round.append(asyncio.run(one_round(url, port)))
            else:
                name, url = pg_database(pg)
                try:
                    per_round.append(asyncio.run(one_round(url, port)))
                finally:
                    drop_pg(pg, name)
            replies.append(dict(ours.recv() for _ in per_round[-1].commit))
    return windows(list(zip(replies, per_round, strict=True)))


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def fmt(values: list[float]) -> str:
    return f"{pct(values, 50):.2f}/{pct(values, 99):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--load", type=int, default=2, help="busy processes beside the sender")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    logs.configure("WARNING")
    cases = [(s, load) for s in ("sqlite", "postgresql") for load in (0, args.load)]
    with tempfile.TemporaryDirectory() as tmp:
        measured = {case: measure(*case, args.rounds, args.pg, Path(tmp)) for case in cases}
    baseline = pct(measured[("sqlite", 0)].total, 50)
    print(f"{args.rounds} rounds × 101 deliveries, send concurrency 4; window in ms")
    header = f"{'store':<11}{'load':>5}{'p50':>8}{'p99':>8}{'max':>8}{'p50 vs base':>13}"
    parts = "  p50 / p99 of: reply → sender, → thread, → commit"
    print(header + parts)
    for (store, load), w in measured.items():
        ratio = pct(w.total, 50) / baseline
        print(
            f"{store:<11}{load:>5}{pct(w.total, 50):>8.2f}{pct(w.total, 99):>8.2f}"
            f"{max(w.total):>8.2f}{ratio:>12.2f}x  "
            f"{fmt(w.to_sender)}, {fmt(w.to_thread)}, {fmt(w.to_commit)}"
        )


if __name__ == "__main__":
    main()
