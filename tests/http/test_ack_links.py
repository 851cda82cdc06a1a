"""Acknowledging an incident from the signed link in a page mail: GET asks, POST acknowledges,
once; a bad, old or used link shows a Danish page and changes nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
from httpx import AsyncClient, Response
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Engine, select
from sqlmodel import col

from dispatcher.config import Settings
from dispatcher.core.model import Cancel
from dispatcher.http import ack
from dispatcher.incidents.service import Dispatch, apply, trigger
from dispatcher.links import (
    AckClaim,
    LinkError,
    LinkExpired,
    LinkInvalid,
    ack_url,
    make_ack_token,
    read_ack_token,
)
from dispatcher.notices.render import NoticeRenderer
from dispatcher.store.db import transaction
from dispatcher.store.tables import AckLinkRow, IncidentRow, NoticeRow, TimelineRow
from tests.conftest import TEMPLATES
from tests.http.conftest import MakeLink
from tests.support.clock import FakeClock
from tests.support.incidents import fmk_down

SECRET = "test-link-secret"
T0 = datetime(2021, 12, 31, 2, 0, tzinfo=UTC)
TTL = timedelta(hours=24)
SUSANNE = "susanne.vagt@medcom.dk"
PEDER = "peder.vagt@medcom.dk"


# --- the token ------------------------------------------------------------------------------


def test_a_token_reads_back_as_what_was_signed() -> None:
    token = make_ack_token(SECRET, incident_id=12, person=SUSANNE, issued_at=T0)

    claim = read_ack_token(SECRET, token, now=T0 + timedelta(minutes=5), ttl=TTL)

    assert (claim.incident_id, claim.person, claim.issued_at) == (12, SUSANNE, T0)
    assert len(claim.nonce) >= 16
    assert re.fullmatch(r"[A-Za-z0-9_.\-]+", token), "the token must be safe in a URL path"


def test_every_token_has_its_own_nonce() -> None:
    tokens = [
        make_ack_token(SECRET, incident_id=1, person=SUSANNE, issued_at=T0) for _ in range(20)
    ]
    nonces = {read_ack_token(SECRET, t, now=T0, ttl=TTL).nonce for t in tokens}
    assert len(nonces) == 20


def test_issued_at_is_kept_to_the_second() -> None:
    issued = T0 + timedelta(seconds=7, microseconds=900_000)
    token = make_ack_token(SECRET, incident_id=1, person=SUSANNE, issued_at=issued)
    assert read_ack_token(SECRET, token, now=issued, ttl=TTL).issued_at == T0 + timedelta(seconds=7)


def test_a_link_works_until_its_ttl_and_not_at_it() -> None:
    token = make_ack_token(SECRET, incident_id=3, person=SUSANNE, issued_at=T0)

    assert read_ack_token(SECRET, token, now=T0 + TTL - timedelta(seconds=1), ttl=TTL)
    with pytest.raises(LinkExpired) as expired:
        read_ack_token(SECRET, token, now=T0 + TTL, ttl=TTL)
    assert expired.value.incident_id == 3
    assert isinstance(expired.value, LinkError)


def _flip(token: str, index: int) -> str:
    char = token[index]
    return token[:index] + ("B" if char == "A" else "A") + token[index + 1 :]


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda t: _flip(t, 3), id="payload-char-flipped"),
        pytest.param(lambda t: _flip(t, len(t) - 10), id="signature-char-flipped"),
        pytest.param(lambda t: t[:-4], id="truncated"),
        pytest.param(lambda t: t.split(".")[0], id="signature-missing"),
        pytest.param(lambda _: "not-a-token", id="garbage"),
        pytest.param(lambda _: "", id="empty"),
    ],
)
def test_a_spoilt_token_is_invalid(spoil: Any) -> None:
    token = make_ack_token(SECRET, incident_id=1, person=SUSANNE, issued_at=T0)
    with pytest.raises(LinkInvalid):
        read_ack_token(SECRET, spoil(token), now=T0, ttl=TTL)


def test_a_token_signed_with_another_secret_is_invalid() -> None:
    token = make_ack_token("another-secret", incident_id=1, person=SUSANNE, issued_at=T0)
    with pytest.raises(LinkInvalid):
        read_ack_token(SECRET, token, now=T0, ttl=TTL)


def test_the_token_is_signed_for_acknowledgement_only() -> None:
    token = make_ack_token(SECRET, incident_id=1, person=SUSANNE, issued_at=T0)
    assert URLSafeSerializer(SECRET, salt="fmk-ack").loads(token)["i"] == 1
    with pytest.raises(BadSignature):
        URLSafeSerializer(SECRET).loads(token)


def test_a_token_signed_for_another_purpose_is_invalid() -> None:
    payload = {"i": 1, "p": SUSANNE, "n": "x" * 22, "t": int(T0.timestamp())}
    other_salt = URLSafeSerializer(SECRET, salt="fmk-webhook").dumps(payload)
    with pytest.raises(LinkInvalid):
        read_ack_token(SECRET, other_salt, now=T0, ttl=TTL)


@pytest.mark.parametrize(
    "payload",
    [
        [1, SUSANNE],
        {"i": "1", "p": SUSANNE, "n": "abc", "t": 1640916000},
        {"i": True, "p": SUSANNE, "n": "abc", "t": 1640916000},
        {"i": 1, "p": "", "n": "abc", "t": 1640916000},
        {"i": 1, "p": SUSANNE, "t": 1640916000},
        {"i": 1, "p": SUSANNE, "n": "abc", "t": "2021-12-31"},
    ],
)
def test_a_signed_token_without_a_proper_claim_is_invalid(payload: Any) -> None:
    token = URLSafeSerializer(SECRET, salt="fmk-ack").dumps(payload)
    with pytest.raises(LinkInvalid):
        read_ack_token(SECRET, token, now=T0, ttl=TTL)


def test_link_errors_explain_themselves_in_danish_and_english() -> None:
    for error in (LinkInvalid(), LinkExpired(incident_id=4)):
        assert error.danish
        assert error.english
        assert str(error) == error.english
    assert "ugyldigt" in LinkInvalid().danish
    assert "udløbet" in LinkExpired(incident_id=4).danish


def test_a_naive_issue_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        make_ack_token(SECRET, incident_id=1, person=SUSANNE, issued_at=datetime(2021, 12, 31))


def test_ack_url() -> None:
    assert ack_url("https://fmk-beredskab.medcom.dk", "abc.def") == (
        "https://fmk-beredskab.medcom.dk/ack/abc.def"
    )
    assert ack_url("https://x.medcom.dk/", "t") == "https://x.medcom.dk/ack/t"


# --- the pages ------------------------------------------------------------------------------


def open_incident(dispatch: Dispatch, clock: FakeClock, **overrides: object) -> int:
    incident_id, _ = trigger(dispatch, fmk_down(**overrides), clock.now())
    return incident_id


def snapshot(engine: Engine) -> dict[str, Any]:
    """Everything an acknowledgement could change."""
    with transaction(engine) as session:
        return {
            "incidents": [r.model_dump() for r in session.scalars(select(IncidentRow))],
            "timeline": [r.model_dump() for r in session.scalars(select(TimelineRow))],
            "ack_links": [r.model_dump() for r in session.scalars(select(AckLinkRow))],
            "notices": [r.model_dump() for r in session.scalars(select(NoticeRow))],
        }


def incident(engine: Engine, incident_id: int) -> IncidentRow:
    with transaction(engine) as session:
        row = session.get(IncidentRow, incident_id)
        assert row is not None
        return row


def text_of(response: Response) -> str:
    """The page as a reader sees it: tags dropped, entities decoded, whitespace collapsed."""
    body = response.text.split("<body>", 1)[-1]
    inline_dropped = re.sub(r"</?(strong|span|code|small|em)\b[^>]*>", "", body)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", inline_dropped)).split())


def heading(response: Response) -> str:
    match = re.search(r"<h1>(.*?)</h1>", response.text, re.S)
    assert match, response.text
    return unescape(match.group(1)).strip()


def claim_of(settings: Settings, path: str, clock: FakeClock) -> AckClaim:
    secret = settings.link_secret.get_secret_value()
    return read_ack_token(secret, path.removeprefix("/ack/"), now=clock.now(), ttl=TTL)


async def test_opening_the_link_asks_and_changes_nothing(
    client: AsyncClient, dispatch: Dispatch, engine: Engine, clock: FakeClock, make_link: MakeLink
) -> None:
    number = open_incident(dispatch, clock)
    before = snapshot(engine)

    page = await client.get(make_link(number, SUSANNE))
    again = await client.get(make_link(number, SUSANNE))

    assert page.status_code == 200
    assert again.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert (
        f"FMK-nedbrud #{number}: FMK svarer ikke – ordinationer kan ikke ses. "
        f"Kvittér som {SUSANNE}?" in text_of(page)
    )
    form = re.search(r"<form\b[^>]*>", page.text)
    assert form
    assert 'method="post"' in form.group(0)
    assert "action=" not in form.group(0), "the form posts back to the link itself"
    assert re.search(r'<button type="submit">', page.text)
    assert snapshot(engine) == before
    assert incident(engine, number).owner is None


async def test_the_button_acknowledges_and_makes_the_person_owner(
    client: AsyncClient,
    dispatch: Dispatch,
    engine: Engine,
    clock: FakeClock,
    make_link: MakeLink,
    settings: Settings,
) -> None:
    number = open_incident(dispatch, clock)
    link = make_link(number, SUSANNE)
    clock.advance(timedelta(minutes=7))

    done = await client.post(link)

    assert done.status_code == 200, done.text
    assert heading(done) == f"Du har nu ansvaret for FMK-nedbrud #{number}"
    for command in ("confirm", "update", "resolve"):
        assert f"dispatcher incident {command} {number}" in text_of(done)
    row = incident(engine, number)
    assert (row.status, row.owner, row.acknowledged_at) == ("acknowledged", SUSANNE, clock.now())
    with transaction(engine) as session:
        timeline = list(
            session.scalars(select(TimelineRow).where(col(TimelineRow.incident_id) == number))
        )
        links = list(session.scalars(select(AckLinkRow)))
    assert [(t.kind, t.actor, t.at) for t in timeline if t.kind == "acknowledged"] == [
        ("acknowledged", SUSANNE, clock.now())
    ]
    claim = claim_of(settings, link, clock)
    assert [(a.nonce, a.incident_id, a.person, a.used_at) for a in links] == [
        (claim.nonce, number, SUSANNE, clock.now())
    ]


async def test_a_used_link_does_not_work_again(
    client: AsyncClient, dispatch: Dispatch, engine: Engine, clock: FakeClock, make_link: MakeLink
) -> None:
    number = open_incident(dispatch, clock)
    link = make_link(number, SUSANNE)
    assert (await client.post(link)).status_code == 200
    after_first = snapshot(engine)
    clock.advance(timedelta(minutes=1))

    second = await client.post(link)
    opened = await client.get(link)

    for page in (second, opened):
        assert page.status_code == 409
        assert heading(page) == "Linket er allerede brugt"
        assert "<form" not in page.text
    assert snapshot(engine) == after_first


async def test_a_second_persons_link_names_the_owner(
    client: AsyncClient, dispatch: Dispatch, engine: Engine, clock: FakeClock, make_link: MakeLink
) -> None:
    number = open_incident(dispatch, clock)
    susannes, peders = make_link(number, SUSANNE), make_link(number, PEDER)
    assert (await client.post(susannes)).status_code == 200
    after_first = snapshot(engine)

    posted = await client.post(peders)
    opened = await client.get(peders)

    for page in (posted, opened):
        assert page.status_code == 409
        assert heading(page) == f"FMK-nedbrud #{number} er allerede kvitteret"
        assert f"{SUSANNE} har ansvaret for nedbruddet" in text_of(page)
        assert "<form" not in page.text
    assert snapshot(engine) == after_first
    assert incident(engine, number).owner == SUSANNE


async def test_a_closed_incident_cannot_be_acknowledged(
    client: AsyncClient, dispatch: Dispatch, engine: Engine, clock: FakeClock, make_link: MakeLink
) -> None:
    number = open_incident(dispatch, clock)
    link = make_link(number, SUSANNE)
    apply(dispatch, number, Cancel(actor="khs@medcom.dk", reason="Falsk alarm"), clock.now())
    before = snapshot(engine)

    for page in (await client.get(link), await client.post(link)):
        assert page.status_code == 409
        assert heading(page) == f"FMK-nedbrud #{number} er afsluttet"
        assert "annulleret som falsk alarm" in text_of(page)
    assert snapshot(engine) == before


async def test_a_link_used_by_a_concurrent_click_rolls_the_acknowledgement_back(
    client: AsyncClient,
    dispatch: Dispatch,
    engine: Engine,
    clock: FakeClock,
    make_link: MakeLink,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The other click commits its nonce after this one looked: the primary key on the nonce
    fails this acknowledgement inside its transaction, so the incident is left as it was."""
    number = open_incident(dispatch, clock)
    link = make_link(number, SUSANNE)
    claim = claim_of(settings, link, clock)
    with transaction(engine) as session:
        session.add(
            AckLinkRow(nonce=claim.nonce, incident_id=number, person=SUSANNE, used_at=clock.now())
        )
    before = snapshot(engine)
    real = ack._link_used
    looks: list[bool] = []

    def first_look_misses_it(svc: Any, c: AckClaim) -> bool:
        looks.append(real(svc, c))
        return looks[-1] if len(looks) > 1 else False

    monkeypatch.setattr(ack, "_link_used", first_look_misses_it)

    page = await client.post(link)

    assert page.status_code == 409
    assert heading(page) == "Linket er allerede brugt"
    assert looks[0], "the link was already used when this click first looked"
    assert snapshot(engine) == before
    assert incident(engine, number).status == "triggered"


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda t: _flip(t, 10), id="payload-char-flipped"),
        pytest.param(lambda t: _flip(t, len(t) - 10), id="signature-char-flipped"),
        pytest.param(lambda _: "garbage", id="garbage"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_tampered_link_is_invalid(
    client: AsyncClient,
    dispatch: Dispatch,
    engine: Engine,
    clock: FakeClock,
    make_link: MakeLink,
    method: str,
    spoil: Any,
) -> None:
    number = open_incident(dispatch, clock)
    token = make_link(number, SUSANNE).removeprefix("/ack/")
    before = snapshot(engine)

    page = await client.request(method, f"/ack/{spoil(token)}")

    assert page.status_code == 400
    assert heading(page) == "Linket er ugyldigt"
    assert snapshot(engine) == before


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_link_signed_with_another_secret_is_invalid(
    client: AsyncClient,
    dispatch: Dispatch,
    engine: Engine,
    clock: FakeClock,
    make_link: MakeLink,
    method: str,
) -> None:
    number = open_incident(dispatch, clock)
    before = snapshot(engine)

    page = await client.request(method, make_link(number, SUSANNE, secret="someone-elses-secret"))

    assert page.status_code == 400
    assert heading(page) == "Linket er ugyldigt"
    assert snapshot(engine) == before


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_an_expired_link_says_so_and_how_to_ack_instead(
    client: AsyncClient,
    dispatch: Dispatch,
    engine: Engine,
    clock: FakeClock,
    make_link: MakeLink,
    settings: Settings,
    method: str,
) -> None:
    number = open_incident(dispatch, clock)
    link = make_link(number, SUSANNE)
    clock.advance(settings.ack_link_ttl - timedelta(seconds=1))
    assert (await client.get(link)).status_code == 200
    clock.advance(timedelta(seconds=1))
    before = snapshot(engine)

    page = await client.request(method, link)

    assert page.status_code == 410
    assert heading(page) == "Linket er udløbet"
    assert f"dispatcher incident ack {number}" in text_of(page)
    assert snapshot(engine) == before
    assert incident(engine, number).owner is None


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_link_to_an_unknown_incident_is_not_found(
    client: AsyncClient,
    dispatch: Dispatch,
    engine: Engine,
    clock: FakeClock,
    make_link: MakeLink,
    method: str,
) -> None:
    number = open_incident(dispatch, clock)
    before = snapshot(engine)

    page = await client.request(method, make_link(number + 41, SUSANNE))

    assert page.status_code == 404
    assert heading(page) == f"FMK-nedbrud #{number + 41} findes ikke"
    assert snapshot(engine) == before


async def test_danish_letters_render_and_markup_in_the_summary_is_escaped(
    client: AsyncClient, dispatch: Dispatch, clock: FakeClock, make_link: MakeLink
) -> None:
    summary = "Ærø og Åbenrå: FMK svarer ikke <script>alert('øv')</script>"
    number = open_incident(dispatch, clock, summary=summary)
    link = make_link(number, SUSANNE)

    pages = [await client.get(link), await client.post(link)]

    for page in pages:
        assert page.status_code == 200
        assert "<script" not in page.text
        assert "&lt;script&gt;alert(&#39;øv&#39;)&lt;/script&gt;" in page.text
        assert "Ærø og Åbenrå" in page.content.decode("utf-8")
        assert summary in text_of(page)


async def _each_kind_of_page(
    client: AsyncClient, dispatch: Dispatch, clock: FakeClock, make_link: MakeLink
) -> dict[int, Response]:
    number = open_incident(dispatch, clock)
    link = make_link(number, SUSANNE)
    pages = {
        200: await client.get(link),
        400: await client.get("/ack/garbage"),
        404: await client.post(make_link(number + 1, SUSANNE)),
    }
    assert (await client.post(link)).status_code == 200
    pages[409] = await client.post(link)
    clock.advance(timedelta(days=2))
    pages[410] = await client.post(link)
    return pages


async def test_every_page_keeps_the_link_out_of_caches_referers_and_indexes(
    client: AsyncClient, dispatch: Dispatch, clock: FakeClock, make_link: MakeLink
) -> None:
    pages = await _each_kind_of_page(client, dispatch, clock, make_link)

    assert sorted(pages) == [200, 400, 404, 409, 410]
    for status, page in pages.items():
        assert page.status_code == status
        assert page.headers["cache-control"] == "no-store", status
        assert page.headers["referrer-policy"] == "no-referrer", status
        assert page.headers["x-robots-tag"] == "noindex", status
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"], status


async def test_every_page_is_plain_danish_html_for_a_phone(
    client: AsyncClient, dispatch: Dispatch, clock: FakeClock, make_link: MakeLink
) -> None:
    for page in (await _each_kind_of_page(client, dispatch, clock, make_link)).values():
        assert page.text.startswith("<!DOCTYPE html>")
        assert '<html lang="da">' in page.text
        assert 'name="viewport"' in page.text
        assert "<main" in page.text
        assert page.text.count("<h1>") == 1
        assert "<script" not in page.text


def test_the_pages_pass_the_templates_check() -> None:
    problems = NoticeRenderer(TEMPLATES).check()
    assert [p for p in problems if "pages" in p] == []
