"""`sms-gateway` in the doctor: one line per problem, against the fake gateway on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from dispatcher.config import Settings
from dispatcher.contacts.model import Registry
from dispatcher.doctor.result import Status
from dispatcher.doctor.sms import sms_gateway
from dispatcher.mailcatcher import free_port
from dispatcher.paging.fake_gateway import FakeGateway
from tests.support.sms import SMS_SECRET, SMS_TOKEN, with_phones


@pytest.fixture(scope="module")
def gateway() -> Iterator[FakeGateway]:
    with FakeGateway(token=SMS_TOKEN, webhook_secret=SMS_SECRET) as fake:
        yield fake


def configured(url: str, **changes: object) -> Settings:
    base = {
        "sms_gateway_url": url,
        "sms_token": SecretStr(SMS_TOKEN),
        "sms_webhook_secret": SecretStr(SMS_SECRET),
    }
    return Settings(**(base | changes))  # type: ignore[arg-type]


class TestSmsGateway:
    def test_nobody_pages_by_sms(self, registry: Registry) -> None:
        result = sms_gateway(Settings(), registry)
        assert result.status is Status.PASS
        assert "not configured" in result.message

    def test_ready(self, registry: Registry, gateway: FakeGateway) -> None:
        result = sms_gateway(configured(gateway.url), with_phones(registry))
        assert result.status is Status.PASS, result.details
        assert "3 people page by SMS" in result.message
        assert "/api/sms/reports" in result.message

    def test_people_by_sms_and_no_gateway(self, registry: Registry) -> None:
        result = sms_gateway(Settings(), with_phones(registry))
        assert result.status is Status.FAIL
        assert len(result.details) == 2  # no gateway URL; no webhook secret
        assert "DISPATCHER_SMS_GATEWAY_URL is not set" in result.details[0]

    def test_each_problem_is_one_line(self, registry: Registry, gateway: FakeGateway) -> None:
        settings = configured(gateway.url, sms_token=None, sms_webhook_secret=SecretStr("short"))
        result = sms_gateway(settings, with_phones(registry))
        assert result.status is Status.FAIL
        assert [line.split(" ")[0] for line in result.details] == [
            "DISPATCHER_SMS_TOKEN",
            "DISPATCHER_SMS_WEBHOOK_SECRET",
        ]

    def test_refused_token(self, registry: Registry, gateway: FakeGateway) -> None:
        result = sms_gateway(configured(gateway.url, sms_token=SecretStr("wrong")), registry)
        assert result.status is Status.FAIL
        assert result.details == ("the gateway refuses the token: 401 0x0213 Unauthorized",)

    def test_unreachable(self, registry: Registry) -> None:
        url = f"http://127.0.0.1:{free_port()}"
        result = sms_gateway(configured(url, sms_timeout=1), registry)
        assert result.status is Status.FAIL
        assert result.details[0].startswith(f"no answer from {url}")
