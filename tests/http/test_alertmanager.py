"""Which of Alertmanager's alerts mean FMK down, and the endpoint's answers: tables and the
app in process."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from pydantic import SecretStr

from dispatcher.http.app import create_app
from dispatcher.integrations import alertmanager
from dispatcher.integrations.matchers import MatcherError, parse
from dispatcher.runtime import Runtime
from tests.support.clock import FakeClock


@pytest.mark.parametrize(
    ("text", "labels", "matched"),
    [
        ('service="FMK"', {"service": "FMK"}, True),
        ('service="FMK"', {"service": "fmk"}, False),
        ('service="FMK", severity=~"critical|page"', {"service": "FMK", "severity": "page"}, True),
        ('service="FMK", severity=~"critical|page"', {"service": "FMK", "severity": "info"}, False),
        ('{env!="test", team!~"x.*"}', {"team": "sds"}, True),
        ('env!="test"', {"env": "test"}, False),
        ('msg="a \\"quoted\\" word"', {"msg": 'a "quoted" word'}, True),
    ],
)
def test_matchers(text: str, labels: dict[str, str], matched: bool) -> None:
    assert all(m.matches(labels) for m in parse(text)) is matched


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("service=FMK", "character 1"),
        ('service="FMK" severity="x"', "expected a comma"),
        ('x=~"("', "not a regular expression"),
        ("", "no matcher"),
    ],
)
def test_bad_matchers_say_where(text: str, words: str) -> None:
    with pytest.raises(MatcherError, match=words):
        parse(text)


def note(status: str, *alerts: dict[str, Any], truncated: int = 0) -> alertmanager.NotificationIn:
    body = {
        "version": "4",
        "groupKey": '{}:{alertname="FmkDown"}',
        "truncatedAlerts": truncated,
        "status": status,
        "receiver": "fmk",
        "alerts": list(alerts),
    }
    return alertmanager.NotificationIn.model_validate_json(json.dumps(body))


def alert(status: str, service: str = "FMK", fingerprint: str = "a1") -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "FmkDown", "service": service},
        "annotations": {"summary": "FMK svarer ikke", "description": "Probe fejler."},
        "startsAt": "2026-03-28T22:05:00+01:00",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": fingerprint,
    }


class TestDecide:
    FMK = parse('service="FMK"')

    def test_firing_is_an_outage_with_the_alerts_text(self) -> None:
        found = alertmanager.decide(note("firing", alert("firing")), self.FMK)
        assert found is not None
        assert (found.firing, found.summary) == (True, "FMK svarer ikke")
        assert "FmkDown (firing): Probe fejler." in found.details

    def test_a_repeat_is_the_same_event_and_a_change_a_new_one(self) -> None:
        first = alertmanager.decide(note("firing", alert("firing")), self.FMK)
        repeat = alertmanager.decide(note("firing", alert("firing")), self.FMK)
        more = alertmanager.decide(
            note("firing", alert("firing"), alert("firing", fingerprint="b2")), self.FMK
        )
        assert first is not None
        assert repeat is not None
        assert more is not None
        assert first.event_id == repeat.event_id != more.event_id
        assert first.group == more.group

    def test_resolved_when_every_matching_alert_is(self) -> None:
        found = alertmanager.decide(note("resolved", alert("resolved")), self.FMK)
        assert found is not None
        assert not found.firing

    def test_no_matching_alert_gives_nothing(self) -> None:
        assert alertmanager.decide(note("firing", alert("firing", "other")), self.FMK) is None

    def test_truncated_alerts_are_recorded(self) -> None:
        found = alertmanager.decide(note("firing", alert("firing"), truncated=7), self.FMK)
        assert found is not None
        assert found.truncated == 7
        assert "left out 7 more alerts" in found.details


TOKEN = "token-0123456789abcdef0123456789ab"


@pytest.fixture
async def am(runtime: Runtime, clock: FakeClock) -> AsyncIterator[AsyncClient]:
    settings = runtime.settings.model_copy(
        update={
            "alertmanager_token": SecretStr(TOKEN),
            "alertmanager_username": "am",
            "alertmanager_password": SecretStr("hemmeligt"),
        }
    )
    app = create_app(Runtime(settings, runtime.engine, runtime.registry, runtime.renderer), clock)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


BODY = json.dumps(
    {
        "version": "4",
        "groupKey": "g",
        "status": "firing",
        "alerts": [alert("firing", "other")],
    }
)


class TestEndpoint:
    @pytest.mark.parametrize(
        "authorization",
        [f"Bearer {TOKEN}", "Basic " + base64.b64encode(b"am:hemmeligt").decode()],
    )
    async def test_bearer_or_basic(self, am: AsyncClient, authorization: str) -> None:
        answer = await am.post(
            "/api/alertmanager", content=BODY, headers={"Authorization": authorization}
        )
        assert (answer.status_code, answer.json()["action"]) == (200, "ignored")

    @pytest.mark.parametrize(
        "authorization",
        ["", "Bearer wrong", "Basic " + base64.b64encode(b"am:wrong").decode(), "Basic !!"],
    )
    async def test_wrong_credentials_are_401(self, am: AsyncClient, authorization: str) -> None:
        answer = await am.post(
            "/api/alertmanager", content=BODY, headers={"Authorization": authorization}
        )
        assert answer.status_code == 401

    async def test_a_body_that_is_not_version_4_is_400(self, am: AsyncClient) -> None:
        answer = await am.post(
            "/api/alertmanager",
            content=BODY.replace('"4"', '"3"'),
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert answer.status_code == 400
        assert answer.json()["detail"].startswith("version")

    async def test_unconfigured_is_503(self, client: AsyncClient) -> None:
        answer = await client.post("/api/alertmanager", content=BODY)
        assert (answer.status_code, answer.json()["error"]) == (503, "not_configured")
