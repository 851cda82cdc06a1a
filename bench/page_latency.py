"""How long from SDS's outage signal until the page reaches the SMS gateway, and the page mail
the relay, in the same run.

The real daemon (in this process, system clock) with its HTTP server, the fake GatewayAPI and
aiosmtpd on loopback. Each round posts a signed outage signal to the webhook, waits for the
on-call person's SMS page at the gateway and page mail at the relay, then cancels the incident
and waits for the outbox to drain. Prints p50 and p99 of both, over `--signals` rounds.

    python -m bench.page_latency [--signals 200] [--pg postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlmodel import col

from dispatcher import logs
from dispatcher.clock import SystemClock
from dispatcher.config import Settings
from dispatcher.core.model import Cancel
from dispatcher.daemon.serve import Daemon
from dispatcher.demo.workspace import with_phones
from dispatcher.incidents import service
from dispatcher.mailcatcher import CatcherHandler, MailCatcher, free_port
from dispatcher.paging.fake_gateway import FakeGateway
from dispatcher.runtime import Runtime, build
from dispatcher.signals.auth import sign
from dispatcher.store.db import make_engine, transaction
from dispatcher.store.migrate import upgrade
from dispatcher.store.tables import DeliveryRow, DeliveryStatus

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-webhook-secret-of-32-bytes-at-least"
TOKEN = "bench-token"
PERSON = "khs@medcom.dk"


class TimedRelay(CatcherHandler):
    """Notes when each page mail to `PERSON` arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.pages: list[float] = []

    def verdict(self, envelope_from: str, recipients: tuple[str, ...], data: bytes) -> str | None:
        if PERSON in recipients and b"X-FMK-Notice: page" in data:
            self.pages.append(time.monotonic())
        return None


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def drained(runtime: Runtime) -> bool:
    with transaction(runtime.engine) as session:
        left = session.scalar(
            select(func.count())
            .select_from(DeliveryRow)
            .where(col(DeliveryRow.status).in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]))
        )
    return left == 0


async def until(condition: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.002)


async def rounds(runtime: Runtime, relay: TimedRelay, gateway: FakeGateway, signals: int) -> None:
    daemon = Daemon(runtime, SystemClock())
    task = asyncio.create_task(daemon.run())
    base = runtime.settings.public_url
    sms: list[float] = []
    mail: list[float] = []
    phone = next(p.phone for p in runtime.registry.escalation.oncall if p.email == PERSON)
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        await until(lambda: daemon.leader is not None and daemon.leader.leading, "leading")
        for n in range(signals):
            sent, paged = len(gateway.to(phone)), len(relay.pages)
            body = json.dumps(
                {
                    "event_id": f"bench-{n}",
                    "service": "FMK",
                    "kind": "outage",
                    "severity": "down",
                    "summary": "FMK svarer ikke",
                }
            ).encode()
            stamp = int(time.time())
            headers = {
                "Content-Type": "application/json",
                "X-SDS-Timestamp": str(stamp),
                "X-SDS-Signature": sign(SECRET.encode(), stamp, body),
            }
            began = time.monotonic()
            answer = await http.post("/api/sds/signals", content=body, headers=headers)
            assert answer.status_code == 201, answer.text
            await until(lambda s=sent: len(gateway.to(phone)) > s, "the SMS page")  # type: ignore[misc]
            await until(lambda p=paged: len(relay.pages) > p, "the page mail")  # type: ignore[misc]
            sms.append(gateway.to(phone)[sent].at - began)
            mail.append(relay.pages[paged] - began)
            number = answer.json()["incident"]
            cancel = Cancel("bench@medcom.example", "benchmark")
            now = SystemClock().now()
            await asyncio.to_thread(service.apply, runtime.dispatch, number, cancel, now)
            await until(lambda: drained(runtime), "the outbox to drain")
    daemon.stop.set()
    await task
    report(sms, mail)


def report(sms: list[float], mail: list[float]) -> None:
    print(f"signals: {len(sms)}")
    print("| path | p50 ms | p99 ms | mean ms |")
    print("|---|---|---|---|")
    for name, values in (
        ("SDS signal → SMS at the gateway", sms),
        ("→ page mail at the relay", mail),
    ):
        p50, p99, mean = percentile(values, 0.5), percentile(values, 0.99), statistics.mean(values)
        print(f"| {name} | {p50 * 1000:.0f} | {p99 * 1000:.0f} | {mean * 1000:.0f} |")
    ratio = percentile(sms, 0.5) / percentile(mail, 0.5)
    print(f"SMS p50 / mail p50: {ratio:.2f} (at most 1.20 wanted)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=200)
    parser.add_argument("--pg", help="a PostgreSQL database URL (default: SQLite in a temp dir)")
    args = parser.parse_args()
    logs.configure("WARNING")
    with tempfile.TemporaryDirectory() as tmp:
        url = args.pg or f"sqlite:///{tmp}/bench.db"
        relay = TimedRelay()
        with MailCatcher(relay) as smtp, FakeGateway(token=TOKEN, webhook_secret=SECRET) as gateway:
            port = free_port()
            settings = Settings(
                database_url=url,
                smtp_host="127.0.0.1",
                smtp_port=smtp.port,
                contacts_dir=ROOT / "contacts",
                templates_dir=ROOT / "templates",
                http_port=port,
                public_url=f"http://127.0.0.1:{port}",
                webhook_secret=SecretStr(SECRET),
                tick_seconds=3600,
                sms_gateway_url=gateway.url,
                sms_token=SecretStr(TOKEN),
                sms_webhook_secret=SecretStr(SECRET),
            )
            engine = make_engine(url)
            upgrade(engine)
            built = build(settings, engine)
            runtime = Runtime(settings, engine, with_phones(built.registry), built.renderer)
            asyncio.run(rounds(runtime, relay, gateway, args.signals))
            engine.dispose()


if __name__ == "__main__":
    main()
