""" "Bekræft modtagelse": every municipal notice carries a signed link per municipality and
incident; GET asks, only POST confirms, a repeat changes nothing, and a bad link shows a
Danish page and records nothing."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import Engine, select
from sqlmodel import col

from dispatcher.config import Settings
from dispatcher.incidents.service import Dispatch, trigger
from dispatcher.links import make_ack_token, make_receipt_token, read_receipt_token
from dispatcher.store.db import transaction
from dispatcher.store.tables import MessageRow, ReceiptRow
from tests.support.clock import FakeClock
from tests.support.incidents import fmk_down

LINK = re.compile(r"http://[^\s\"<>]+/receipt/(\d+)/([A-Za-z0-9_.\-]+)")


def heading(response: Response) -> str:
    match = re.search(r"<h1>(.*?)</h1>", response.text, re.S)
    assert match, response.text
    return unescape(match.group(1)).strip()


def receipts(engine: Engine) -> list[dict[str, Any]]:
    with transaction(engine) as session:
        return [r.model_dump() for r in session.scalars(select(ReceiptRow))]


def message(engine: Engine, audience: str) -> str:
    with transaction(engine) as session:
        raw = session.scalar(
            select(col(MessageRow.raw)).where(col(MessageRow.audience) == audience)
        )
    assert raw is not None
    return raw.decode("utf-8", "replace")


def body(engine: Engine, audience: str, part: str = "plain") -> str:
    parsed = email.message_from_string(message(engine, audience), policy=email.policy.default)
    found = parsed.get_body(preferencelist=(part,))
    assert found is not None
    return str(found.get_content())  # type: ignore[attr-defined]


def link_path(engine: Engine, audience: str = "kommune-101") -> str:
    """The path of the receipt link in that audience's initial notice (its text part)."""
    match = LINK.search(body(engine, audience))
    assert match, "the notice carries no receipt link"
    return f"/receipt/{match.group(1)}/{match.group(2)}"


@pytest.fixture
def number(dispatch: Dispatch, clock: FakeClock) -> int:
    incident_id, _ = trigger(dispatch, fmk_down(), clock.now())
    return incident_id


class TestTheLink:
    """Each municipality's notice has its own link; the vendors' copy has none."""

    def test_municipal_notice_links_to_that_municipality(
        self, engine: Engine, number: int, settings: Settings, clock: FakeClock
    ) -> None:
        path = link_path(engine)
        token = path.rsplit("/", 1)[1]
        claim = read_receipt_token(
            settings.link_secret.get_secret_value(), token, now=clock.now(), ttl=timedelta(days=7)
        )
        assert (claim.incident_id, claim.code) == (number, 101)
        assert "Bekræft modtagelse" in body(engine, "kommune-101")
        html = body(engine, "kommune-101", "html")
        assert f'href="http://127.0.0.1:8080{path}"' in html

    def test_the_vendor_copy_has_no_link(self, engine: Engine, number: int) -> None:
        with transaction(engine) as session:
            vendor = session.scalar(
                select(col(MessageRow.audience)).where(
                    col(MessageRow.audience).startswith("vendor-")
                )
            )
        assert vendor is not None
        assert "/receipt/" not in message(engine, vendor)


class TestConfirming:
    """GET asks with one button; POST records the time once."""

    async def test_get_asks_and_records_nothing(
        self, client: AsyncClient, engine: Engine, number: int
    ) -> None:
        page = await client.get(link_path(engine))
        assert page.status_code == 200
        assert heading(page) == "Bekræft modtagelse"
        assert '<form method="post">' in page.text
        assert "Københavns Kommune" in page.text
        assert page.headers["cache-control"] == "no-store"
        assert receipts(engine) == []

    async def test_post_confirms_with_its_time(
        self, client: AsyncClient, engine: Engine, number: int, clock: FakeClock
    ) -> None:
        clock.advance(timedelta(minutes=7))
        page = await client.post(link_path(engine))
        assert page.status_code == 200
        assert heading(page) == "Tak – modtagelsen er bekræftet"
        [row] = receipts(engine)
        assert (row["incident_id"], row["municipality_code"]) == (number, 101)
        assert row["confirmed_at"] == clock.now()

    async def test_a_second_post_keeps_the_first_time(
        self, client: AsyncClient, engine: Engine, number: int, clock: FakeClock
    ) -> None:
        path = link_path(engine)
        await client.post(path)
        first = receipts(engine)
        clock.advance(timedelta(minutes=5))
        again = await client.post(path)
        assert again.status_code == 200
        assert "havde allerede bekræftet" in again.text
        assert receipts(engine) == first
        asked = await client.get(path)
        assert "har allerede bekræftet" in asked.text
        assert '<form method="post">' not in asked.text

    async def test_the_status_page_does_not_show_who_confirmed(
        self, client: AsyncClient, engine: Engine, number: int
    ) -> None:
        before = (await client.get("/status")).text
        await client.post(link_path(engine))
        assert (await client.get("/status")).text == before


def _flip(token: str, index: int) -> str:
    char = token[index]
    return token[:index] + ("B" if char == "A" else "A") + token[index + 1 :]


@pytest.mark.parametrize("method", ["GET", "POST"])
class TestBadLinks:
    """A link that was altered, has expired, belongs to another incident or to no incident
    gets a clear page, and nothing is recorded."""

    @pytest.mark.parametrize(
        "spoil",
        [
            pytest.param(lambda t: _flip(t, 3), id="payload-char-flipped"),
            pytest.param(lambda t: t[:-4], id="truncated"),
            pytest.param(lambda _: "garbage", id="garbage"),
        ],
    )
    async def test_tampered(
        self, client: AsyncClient, engine: Engine, number: int, method: str, spoil: Any
    ) -> None:
        incident, token = link_path(engine).split("/")[2:]
        page = await client.request(method, f"/receipt/{incident}/{spoil(token)}")
        assert page.status_code == 400
        assert heading(page) == "Linket er ugyldigt"
        assert "Der er ikke bekræftet noget" in page.text
        assert receipts(engine) == []

    async def test_expired(
        self, client: AsyncClient, engine: Engine, number: int, clock: FakeClock, method: str
    ) -> None:
        path = link_path(engine)
        clock.advance(timedelta(days=7))
        page = await client.request(method, path)
        assert page.status_code == 410
        assert heading(page) == "Linket er udløbet"
        assert receipts(engine) == []

    async def test_another_incidents_link(
        self, client: AsyncClient, engine: Engine, number: int, method: str
    ) -> None:
        token = link_path(engine).rsplit("/", 1)[1]
        page = await client.request(method, f"/receipt/{number + 1}/{token}")
        assert page.status_code == 400
        assert heading(page) == "Linket hører til et andet nedbrud"
        assert f"#{number}" in page.text
        assert receipts(engine) == []

    async def test_an_incident_that_does_not_exist(
        self, client: AsyncClient, engine: Engine, settings: Settings, clock: FakeClock, method: str
    ) -> None:
        secret = settings.link_secret.get_secret_value()
        token = make_receipt_token(secret, incident_id=41, code=101, issued_at=clock.now())
        page = await client.request(method, f"/receipt/41/{token}")
        assert page.status_code == 404
        assert heading(page) == "FMK-nedbrud #41 findes ikke"
        assert receipts(engine) == []

    async def test_an_acknowledgement_link_is_not_a_receipt_link(
        self,
        client: AsyncClient,
        engine: Engine,
        number: int,
        settings: Settings,
        clock: FakeClock,
        method: str,
    ) -> None:
        secret = settings.link_secret.get_secret_value()
        token = make_ack_token(secret, incident_id=number, person="x@kk.dk", issued_at=clock.now())
        page = await client.request(method, f"/receipt/{number}/{token}")
        assert page.status_code == 400
        assert receipts(engine) == []

    async def test_a_path_that_is_no_incident_number(
        self, client: AsyncClient, engine: Engine, number: int, method: str
    ) -> None:
        token = link_path(engine).rsplit("/", 1)[1]
        page = await client.request(method, f"/receipt/abc/{token}")
        assert page.status_code == 404
        assert heading(page) == "Linket er ugyldigt"
        assert receipts(engine) == []
