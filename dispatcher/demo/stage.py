"""The running parts of the demo and the moves made against them: the real daemon on the demo
clock with its HTTP server, the mail catcher it sends to, and what SDS and the on-call staff do.

Nothing here simulates the daemon: signals are signed and posted to its webhook, the
acknowledgement is a signed reply with the code of the SMS page the fake gateway took (as
GatewayAPI would post it), and time passes by moving the clock and ticking the
daemon, as its scheduler would when the next step falls due.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from email.message import EmailMessage
from typing import Any

import httpx

from dispatcher.daemon.serve import Daemon, DaemonFailed
from dispatcher.demo.clock import DemoClock
from dispatcher.demo.summary import KindTotals, totals
from dispatcher.mailcatcher import MailCatcher
from dispatcher.paging.fake_gateway import FakeGateway
from dispatcher.paging.provider import INBOUND_PATH
from dispatcher.runtime import Runtime
from dispatcher.signals.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

STARTUP_TIMEOUT = 30.0
DELIVERY_TIMEOUT = 30.0
POLL = 0.05

# Called while waiting for mail: (deliveries finished, deliveries queued) over the whole run.
Progress = Callable[[int, int], None]


class DemoFailed(Exception):
    """A step of the demo did not happen as the plan says; the message says which and why."""


class Stage:
    def __init__(
        self, runtime: Runtime, clock: DemoClock, catcher: MailCatcher, gateway: FakeGateway
    ) -> None:
        self.runtime = runtime
        self.clock = clock
        self.catcher = catcher
        self.gateway = gateway
        self.daemon = Daemon(runtime, clock)
        self.base = runtime.settings.public_url
        self.http = httpx.AsyncClient(base_url=self.base, timeout=10)
        self._task: asyncio.Task[None] | None = None

    @property
    def task(self) -> asyncio.Task[None]:
        """The daemon's `run`, started by `start`."""
        assert self._task is not None, "the stage has not been started"
        return self._task

    async def start(self) -> None:
        """Run the daemon (it migrates the database) and wait until it answers and leads."""
        self._task = asyncio.create_task(self.daemon.run(), name="daemon")
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not await self._ready():
            self.check_daemon()
            if time.monotonic() > deadline:
                raise DemoFailed(
                    f"the daemon did not answer {self.base}/healthz and lead within "
                    f"{STARTUP_TIMEOUT:.0f}s"
                )
            await asyncio.sleep(POLL)

    async def _ready(self) -> bool:
        try:
            healthy = (await self.http.get("/healthz")).status_code == 200
        except httpx.TransportError:
            return False
        leader = self.daemon.leader
        return healthy and leader is not None and leader.leading

    def check_daemon(self) -> None:
        """Raise `DemoFailed` if the daemon has stopped."""
        if self._task is None or not self._task.done():
            return
        error = self._task.exception() if not self._task.cancelled() else None
        if error is not None:
            raise DemoFailed(f"the daemon stopped: {error}") from error
        raise DemoFailed("the daemon was stopped by a signal (Ctrl+C?)")

    async def stop(self) -> None:
        """Stop the daemon and wait for it; a daemon that failed says so."""
        await self.http.aclose()
        if self._task is None:
            return
        self.daemon.stop.set()
        try:
            await self._task
        except DaemonFailed as exc:
            raise DemoFailed(f"the daemon stopped: {exc}") from exc

    async def signal(self, kind: str, event_id: str, **fields: object) -> dict[str, Any]:
        """Post a signed SDS signal to the webhook; the daemon's answer."""
        body = json.dumps(
            {"event_id": event_id, "service": "FMK", "kind": kind, **fields}, ensure_ascii=False
        ).encode()
        stamp = int(self.clock.now().timestamp())
        secret = self.runtime.settings.webhook_secret
        assert secret is not None, "the demo settings carry a webhook secret"
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(stamp),
            SIGNATURE_HEADER: sign(secret.get_secret_value().encode(), stamp, body),
        }
        response = await self.http.post("/api/sds/signals", content=body, headers=headers)
        if response.status_code not in (200, 201):
            raise DemoFailed(
                f"the webhook answered SDS's {kind} signal with {response.status_code}: "
                f"{response.text}"
            )
        answer: dict[str, Any] = response.json()
        return answer

    async def acknowledge_from_page(self, person: str) -> None:
        """Open the link in the last page `person` received, then press its button."""
        link = self._ack_link(person)
        async with httpx.AsyncClient(timeout=10) as browser:
            shown = await browser.get(link)
            if shown.status_code != 200 or "<form" not in shown.text:
                raise DemoFailed(
                    f"the link in {person}'s page showed no form ({shown.status_code})"
                )
            done = await browser.post(link)
            if done.status_code != 200:
                raise DemoFailed(f"acknowledging from {person}'s page answered {done.status_code}")

    async def acknowledge_by_reply(self, phone: str) -> None:
        """Reply to the last SMS page to `phone` with its code, as the person would."""
        pages = [s for s in self.gateway.to(phone) if "svar OK" in s.message]
        match = re.search(r"svar OK (\d+)", pages[-1].message) if pages else None
        if match is None:
            raise DemoFailed(f"{phone} has received no SMS page to reply to")
        url = self.base + INBOUND_PATH
        answer = await self.gateway.reply(url, phone, f"OK {match.group(1)}")
        if answer.status_code != 200 or answer.json().get("action") != "acknowledged":
            raise DemoFailed(f"the reply from {phone} did not acknowledge: {answer.text}")

    def _ack_link(self, person: str) -> str:
        pages = [
            message
            for item in list(self.catcher.received)
            if person in item.recipients
            and (message := _parse(item.data))["X-FMK-Notice"] == "page"
        ]
        if not pages:
            raise DemoFailed(f"{person} has received no page to acknowledge from")
        body = pages[-1].get_body(preferencelist=("plain",))
        text = str(body.get_content()) if body is not None else ""
        match = re.search(re.escape(self.base) + r"/ack/\S+", text)
        if match is None:
            raise DemoFailed(f"the last page to {person} carries no acknowledgement link")
        return match.group(0)

    async def confirm_receipts(self, codes: set[int]) -> None:
        """Open the "Bekræft modtagelse" link in the initial notice of each municipality in
        `codes` and press its button, as someone there would."""
        async with httpx.AsyncClient(timeout=10) as browser:
            for code, link in sorted(self._receipt_links(codes).items()):
                shown = await browser.get(link)
                if shown.status_code != 200 or "<form" not in shown.text:
                    raise DemoFailed(f"municipality {code}'s receipt link showed no form")
                done = await browser.post(link)
                if done.status_code != 200:
                    raise DemoFailed(f"confirming municipality {code} answered {done.status_code}")

    def _receipt_links(self, codes: set[int]) -> dict[int, str]:
        owner = {
            address: m.code
            for m in self.runtime.registry.municipalities
            if m.code in codes
            for address in m.emails
        }
        links: dict[int, str] = {}
        for item in list(self.catcher.received):
            code = next((owner[r] for r in item.recipients if r in owner), None)
            message = _parse(item.data)
            if code is None or code in links or message["X-FMK-Notice"] != "initial":
                continue
            body = message.get_body(preferencelist=("plain",))
            text = str(body.get_content()) if body is not None else ""
            match = re.search(re.escape(self.base) + r"/receipt/\S+", text)
            if match is not None:
                links[code] = match.group(0)
        if missing := sorted(codes - links.keys()):
            raise DemoFailed(f"no receipt link reached municipalities {missing}")
        return links

    async def at(self, moment: datetime) -> None:
        """Move the clock to `moment` and let the daemon carry out what has fallen due."""
        self.clock.jump_to(moment)
        await self._lead()
        await self.daemon.tick()

    async def _lead(self) -> None:
        """Take the leader lease again at once: a jump of the clock has let it run out, and
        the daemon only ticks and sends while it leads. The same step its leadership loop
        takes every two seconds."""
        leader = self.daemon.leader
        assert leader is not None, "the daemon has started"
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not leader.leading:
            self.check_daemon()
            if time.monotonic() > deadline:
                raise DemoFailed(f"the daemon did not lead again within {STARTUP_TIMEOUT:.0f}s")
            await leader.step()
            if not leader.leading:
                await asyncio.sleep(POLL)

    async def delivered(
        self, before: list[KindTotals], expect: Counter[str], what: str, progress: Progress
    ) -> list[KindTotals]:
        """Wait until the notices in `expect` (kind → how many) have been queued since `before`
        and every delivery has an outcome; the totals then."""
        self.daemon.sender.wake.set()
        wanted = Counter({t.kind: t.notices for t in before}) + expect
        deadline = time.monotonic() + DELIVERY_TIMEOUT
        while True:
            now = await asyncio.to_thread(totals, self.runtime.engine)
            queued = sum(t.recipients for t in now)
            finished = sum(t.finished for t in now)
            progress(finished, queued)
            have = Counter({t.kind: t.notices for t in now})
            if finished == queued and all(have[k] >= n for k, n in wanted.items()):
                return now
            self.check_daemon()
            if time.monotonic() > deadline:
                missing = {k: n - have[k] for k, n in wanted.items() if have[k] < n}
                raise DemoFailed(
                    f"timed out after {DELIVERY_TIMEOUT:.0f}s waiting for {what}: "
                    f"{finished} of {queued} deliveries have an outcome"
                    + (f"; notices never queued: {missing}" if missing else "")
                )
            await asyncio.sleep(POLL)


def _parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


@asynccontextmanager
async def running(
    runtime: Runtime, clock: DemoClock, catcher: MailCatcher, gateway: FakeGateway
) -> AsyncIterator[Stage]:
    """The started stage; stopped on leaving, however the block ends."""
    stage = Stage(runtime, clock, catcher, gateway)
    try:
        await stage.start()
        yield stage
    finally:
        await stage.stop()
