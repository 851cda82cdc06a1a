"""The e2e daemon with the on-call staff paged by SMS through the fake gateway on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from dispatcher.contacts.model import Registry
from dispatcher.paging.fake_gateway import FakeGateway
from tests.support.sms import SMS_SECRET, SMS_TOKEN, with_phones


@pytest.fixture
def registry(registry: Registry) -> Registry:
    return with_phones(registry)


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    with FakeGateway(token=SMS_TOKEN, webhook_secret=SMS_SECRET) as fake:
        yield fake


@pytest.fixture
def daemon_settings(gateway: FakeGateway) -> dict[str, Any]:
    return {
        "sms_gateway_url": gateway.url,
        "sms_token": SecretStr(SMS_TOKEN),
        "sms_webhook_secret": SecretStr(SMS_SECRET),
    }
