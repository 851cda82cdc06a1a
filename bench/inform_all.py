"""How long from `incident trigger` until all 98 municipalities and 3 vendors have the notice.

Measures enqueue (render 101 messages, write the rows) and sending (claim, SMTP to aiosmtpd on
loopback, record) separately, per store and send concurrency, and prints each against the
baseline measured in the same run: SQLite with one SMTP connection. `--latency` makes the
loopback relay wait before it answers DATA, as a real relay over a network does.

    python -m bench.inform_all [--rounds 3] [--latency 0.05] [--pg postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from dispatcher import logs
from dispatcher.clock import SystemClock
from dispatcher.config import Settings
from dispatcher.core.model import Trigger
from dispatcher.incidents import service
from dispatcher.mailcatcher import CatcherHandler, MailCatcher
from dispatcher.outbox.sender import Sender
from dispatcher.runtime import build
from dispatcher.store.db import make_engine
from dispatcher.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
FMK_DOWN = Trigger(
    actor="bench@medcom.example", summary="FMK er nede", details="", guidance="Papir."
)


@dataclass(frozen=True)
class Result:
    enqueue: float
    send: float

    @property
    def total(self) -> float:
        return self.enqueue + self.send


class SlowRelay(CatcherHandler):
    def __init__(self, latency: float) -> None:
        super().__init__()
        self.latency = latency

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        await asyncio.sleep(self.latency)
        return await super().handle_DATA(server, session, envelope)


async def one_round(database_url: str, concurrency: int, latency: float) -> Result:
    with MailCatcher(SlowRelay(latency)) as smtp:
        settings = Settings(
            database_url=database_url,
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            contacts_dir=ROOT / "contacts",
            templates_dir=ROOT / "templates",
            send_concurrency=concurrency,
        )
        engine = make_engine(database_url)
        upgrade(engine)
        runtime = build(settings, engine)
        clock = SystemClock()
        started = time.perf_counter()
        service.trigger(runtime.dispatch, FMK_DOWN, clock.now())
        enqueued = time.perf_counter()
        sender = Sender(engine, settings, clock)
        while await sender.run_once():
            pass
        await sender.close()
        sent = time.perf_counter()
        assert len(smtp.received) == 101, len(smtp.received)
        engine.dispose()
        return Result(enqueued - started, sent - enqueued)


def pg_database(server: str) -> tuple[str, str]:
    name = f"dispatcher_bench_{uuid.uuid4().hex[:8]}"
    with create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return name, f"{server}/{name}"


def drop_pg(server: str, name: str) -> None:
    with create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def measure(
    store: str, concurrency: int, rounds: int, pg: str, folder: Path, latency: float
) -> Result:
    results = []
    for index in range(rounds):
        if store == "sqlite":
            url = f"sqlite:///{folder / f'{concurrency}-{index}.db'}"
            results.append(asyncio.run(one_round(url, concurrency, latency)))
        else:
            name, url = pg_database(pg)
            try:
                results.append(asyncio.run(one_round(url, concurrency, latency)))
            finally:
                drop_pg(pg, name)
    return Result(
        statistics.median(r.enqueue for r in results), statistics.median(r.send for r in results)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--latency", type=float, default=0.0, help="relay delay per message, s")
    args = parser.parse_args()
    logs.configure("WARNING")
    with tempfile.TemporaryDirectory() as tmp:
        cases = [(s, c) for s in ("sqlite", "postgresql") for c in (1, 4, 8)]
        measured = {
            case: measure(*case, args.rounds, args.pg, Path(tmp), args.latency) for case in cases
        }
    baseline = measured[("sqlite", 1)]
    print(
        f"median of {args.rounds} rounds; 101 recipients (98 municipalities + 3 vendors); "
        f"relay latency {args.latency * 1000:.0f} ms"
    )
    print(f"{'store':<11}{'conc.':>6}{'enqueue s':>11}{'send s':>9}{'total s':>9}{'vs base':>9}")
    for (store, concurrency), r in measured.items():
        ratio = baseline.total / r.total
        print(
            f"{store:<11}{concurrency:>6}{r.enqueue:>11.3f}{r.send:>9.3f}{r.total:>9.3f}{ratio:>8.2f}x"
        )


if __name__ == "__main__":
    main()
