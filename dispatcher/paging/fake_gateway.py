"""A stand-in for GatewayAPI on loopback, for the tests and `dispatcher demo`: it takes SMS at
`POST /rest/mtsms` (checking the token), records them, and can be told to fail, to be slow or to
rate-limit; it posts signed delivery reports and replies back to the dispatcher, as GatewayAPI
does. Nothing leaves the machine."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from dispatcher.mailcatcher import LOOPBACK, free_port
from dispatcher.paging.gatewayapi import ACCOUNT_PATH, SEND_PATH, SIGNATURE_HEADER, sign


@dataclass(frozen=True)
class SentSms:
    id: int
    msisdn: str  # E.164
    message: str
    userref: str | None
    callback_url: str | None
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


class FakeGateway:
    """Use as a context manager; `url` is its base URL."""

    def __init__(self, *, token: str, webhook_secret: str, host: str = LOOPBACK) -> None:
        self.token = token
        self.webhook_secret = webhook_secret
        self.host = host
        self.port = free_port(host)
        self.sent: list[SentSms] = []
        self.requests = 0
        self.delay = 0.0  # seconds before each answer to a send
        # Called with each SMS taken, before the answer (a test may kill the sender there).
        self.on_send: Callable[[SentSms], None] | None = None
        self._answers: deque[Answer] = deque()
        self._ids = itertools.count(421332671)
        self._lock = threading.Lock()
        config = uvicorn.Config(
            self._app(), host=host, port=self.port, log_config=None, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="fake-gateway", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def fail_next(self, status: int, times: int = 1, *, retry_after: int | None = None) -> None:
        """Answer the next `times` sends with `status` (429 with Retry-After if given)."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        body = {"code": f"0x{status:04x}", "message": f"fake failure {status}"}
        with self._lock:
            self._answers.extend(Answer(status, body, headers) for _ in range(times))

    def to(self, msisdn: str) -> list[SentSms]:
        with self._lock:
            return [s for s in self.sent if s.msisdn == msisdn]

    async def wait_sent(self, count: int, timeout: float = 30.0) -> list[SentSms]:
        """Wait until `count` SMS have been taken in all; return them."""
        deadline = time.monotonic() + timeout
        while len(self.sent) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.sent)} of {count} SMS arrived at the gateway")
            await asyncio.sleep(0.02)
        with self._lock:
            return list(self.sent)

    async def report(
        self, sms: SentSms, status: str, *, error: str | None = None, at: int | None = None
    ) -> httpx.Response:
        """Post a signed delivery status notification for `sms` to its callback URL."""
        assert sms.callback_url is not None
        payload = {
            "id": sms.id,
            "msisdn": int(sms.msisdn.lstrip("+")),
            "time": at if at is not None else int(time.time()),
            "status": status,
            "error": error,
            "code": "0x0401" if error else None,
            "userref": sms.userref,
        }
        return await self.post(sms.callback_url, payload)

    async def reply(
        self, url: str, msisdn: str, text: str, *, mo_id: int | None = None
    ) -> httpx.Response:
        """Post a signed inbound SMS from `msisdn` to `url` (the dispatcher's inbound URL)."""
        payload = {
            "id": mo_id if mo_id is not None else next(self._ids),
            "msisdn": int(msisdn.lstrip("+")),
            "receiver": 4512345678,
            "message": text,
            "senttime": int(time.time()),
            "webhook_label": "fmk",
        }
        return await self.post(url, payload)

    async def post(self, url: str, payload: dict[str, Any]) -> httpx.Response:
        body = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self.webhook_secret, body),
        }
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(url, content=body, headers=headers)

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.get(ACCOUNT_PATH)
        async def account(request: Request) -> JSONResponse:
            if not self._authorised(request):
                return _refused()
            return JSONResponse({"credit": 1234.5, "currency": "DKK", "id": 1})

        @app.post(SEND_PATH)
        async def send(request: Request) -> JSONResponse:
            self.requests += 1
            if self.delay:
                await asyncio.sleep(self.delay)
            if not self._authorised(request):
                return _refused()
            with self._lock:
                answer = self._answers.popleft() if self._answers else None
            if answer is not None:
                return JSONResponse(answer.body, answer.status, headers=answer.headers)
            body = await request.json()
            ids = []
            for recipient in body["recipients"]:
                sms = SentSms(
                    id=next(self._ids),
                    msisdn=f"+{recipient['msisdn']}",
                    message=body["message"],
                    userref=body.get("userref"),
                    callback_url=body.get("callback_url"),
                    body=body,
                )
                with self._lock:
                    self.sent.append(sms)
                ids.append(sms.id)
                if self.on_send is not None:
                    self.on_send(sms)
            usage = {"countries": {"DK": len(ids)}, "currency": "DKK", "total_cost": 0.12}
            return JSONResponse({"ids": ids, "usage": usage})

        return app

    def _authorised(self, request: Request) -> bool:
        auth = httpx.BasicAuth(self.token, "")
        expected = next(auth.auth_flow(httpx.Request("GET", self.url))).headers["Authorization"]
        return request.headers.get("authorization") == expected

    def start(self) -> FakeGateway:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the fake gateway did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> FakeGateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _refused() -> JSONResponse:
    return JSONResponse({"code": "0x0213", "message": "Unauthorized"}, 401)
