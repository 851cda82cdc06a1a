"""The page: the acknowledgement link, reminders, the fail-safe and who else is paged."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage

import pytest
from structlog.testing import capture_logs

from dispatcher.core.kinds import NoticeKind
from dispatcher.notices.message import as_bytes, build_message
from dispatcher.notices.render import NoticeRenderer
from tests.notices.factories import (
    ACK_URL,
    DOWN_SINCE,
    ESCALATION,
    IBEN,
    VENDOR,
    make_context,
    make_escalation_context,
)

FALLBACK = ESCALATION.fallback[0]


def test_page_has_the_ack_link_and_the_command(notice_renderer: NoticeRenderer) -> None:
    notice = notice_renderer.render(make_escalation_context(NoticeKind.PAGE))
    assert notice.subject == (
        "[FMK-nedbrud #12] KVITTÉR: FMK er nede – Medicinkortet kan ikke åbnes"
    )
    assert notice.text.startswith("KVITTÉR: FMK er nede\n\nTil Iben Søgaard\n\n")
    assert f"\nKvittér og tag ansvaret: {ACK_URL}\n" in notice.text
    assert "dispatcher incident ack 12 --as ibs@medcom.example" in notice.text
    escaped = ACK_URL.replace("&", "&amp;")
    links = re.findall(r'<a href="([^"]*)"', notice.html)
    assert links.count(escaped) == 2  # the button and the written-out link
    assert f">{escaped}</a>" in notice.html
    assert "<code>dispatcher incident ack 12 --as ibs@medcom.example</code>" in notice.html
    assert "<script" not in notice.html
    assert "&u=" not in notice.html  # every & in the URL is escaped


def test_page_says_what_sds_reports(notice_renderer: NoticeRenderer) -> None:
    text = notice_renderer.render(make_escalation_context(NoticeKind.PAGE)).text
    assert (
        "SDS melder\nFMK er nede: Medicinkortet kan ikke åbnes\n"
        "Siden fredag 31. december 2021 kl. 03:00 (2 minutter)\n\n"
        "Fejlen ligger hos driftsleverandøren.\n"
    ) in text
    cli = notice_renderer.render(make_escalation_context(NoticeKind.PAGE, source="cli")).text
    assert "Meldt af MedComs vagt\n" in cli
    assert "SDS melder" not in cli


def test_ack_url_is_escaped_in_html_and_verbatim_in_text(
    notice_renderer: NoticeRenderer,
) -> None:
    url = 'https://fmk.medcom.example/ack/1?a=1&b="x"<y>'
    notice = notice_renderer.render(make_escalation_context(NoticeKind.PAGE, ack_url=url))
    assert f"Kvittér og tag ansvaret: {url}\n" in notice.text
    escaped = "https://fmk.medcom.example/ack/1?a=1&amp;b=&#34;x&#34;&lt;y&gt;"
    assert f'<a href="{escaped}"' in notice.html
    assert '"x"' not in notice.html
    assert "<y>" not in notice.html


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "javascript://fmk.medcom.example/%0Aalert(1)",
        "ftp://fmk.medcom.example/ack/12",
        "data:text/html,<script>alert(1)</script>",
        "/ack/12",
        "https://fmk.medcom.example/ack/12 onclick=x",
        "https://fmk.medcom.example/ack/12\n",
        "http://",
    ],
)
def test_a_bad_ack_url_is_dropped_not_the_page(notice_renderer: NoticeRenderer, url: str) -> None:
    context = make_escalation_context(NoticeKind.PAGE, ack_url=url)
    with capture_logs() as logs:
        notice = notice_renderer.render(context)
    assert notice.subject.startswith("[FMK-nedbrud #12] KVITTÉR: FMK er nede")
    assert (
        "Kvittér og tag ansvaret i en terminal: "
        "dispatcher incident ack 12 --as ibs@medcom.example\n" in notice.text
    )
    assert '<a href="mailto:' in notice.html
    assert re.findall(r'<a href="(?!mailto:)', notice.html) == []
    assert url.strip() not in notice.text + notice.html
    assert [entry["event"] for entry in logs] == ["notice.ack_url_dropped"]
    assert url.strip() not in str(logs)  # the link carries the acknowledgement token


def test_page_without_ack_url_gives_the_command(notice_renderer: NoticeRenderer) -> None:
    notice = notice_renderer.render(make_escalation_context(NoticeKind.PAGE, ack_url=None))
    assert (
        "Kvittér og tag ansvaret i en terminal: "
        "dispatcher incident ack 12 --as ibs@medcom.example\n" in notice.text
    )
    assert '<a href="http' not in notice.html
    assert "None" not in notice.text + notice.html


@pytest.mark.parametrize(
    ("page_round", "reminder"),
    [(1, None), (2, " (påmindelse 1)"), (3, " (påmindelse 2)"), (11, " (påmindelse 10)")],
)
def test_page_round_reminder(
    notice_renderer: NoticeRenderer, page_round: int, reminder: str | None
) -> None:
    notice = notice_renderer.render(make_escalation_context(NoticeKind.PAGE, page_round=page_round))
    if reminder is None:
        assert "(påmindelse" not in notice.subject + notice.text + notice.html
        assert notice.subject.endswith("– Medicinkortet kan ikke åbnes")
    else:
        assert notice.subject.endswith(f"Medicinkortet kan ikke åbnes{reminder}")
        assert notice.text.startswith(f"KVITTÉR: FMK er nede{reminder}\n")
        assert f">KVITTÉR: FMK er nede{reminder}</h1>" in notice.html


def test_long_summary_keeps_the_reminder_in_the_subject(notice_renderer: NoticeRenderer) -> None:
    summary = "Opslag fejler for alle kommuner\n" + "og regioner " * 30
    subject = notice_renderer.render(
        make_escalation_context(NoticeKind.PAGE, summary=summary, page_round=5)
    ).subject
    assert subject.startswith("[FMK-nedbrud #12] KVITTÉR: FMK er nede – Opslag fejler for alle")
    assert subject.endswith("… (påmindelse 4)")
    assert len(subject) <= 150
    assert "\n" not in subject


def test_page_names_who_else_is_paged(notice_renderer: NoticeRenderer) -> None:
    oncall = ESCALATION.oncall
    first = notice_renderer.render(make_escalation_context(NoticeKind.PAGE)).text
    assert "Også kaldt: Søren Ærbø (sae@medcom.example) og Åse Øster (aoe@medcom.example).\n" in (
        first
    )
    assert FALLBACK.name not in first
    second = notice_renderer.render(
        make_escalation_context(NoticeKind.PAGE, oncall[0], page_round=2)
    )
    assert (
        "Også kaldt: Åse Øster (aoe@medcom.example) og "
        "Poul Erik Kristensen, KL (pek@kl.example).\n" in second.text
    )
    assert "Søren Ærbø (" not in second.text  # the recipient is not "also" paged
    assert '<a href="mailto:pek@kl.example">pek@kl.example</a>' in second.html


def test_page_alone(notice_renderer: NoticeRenderer) -> None:
    alone = replace(ESCALATION, oncall=(IBEN,))
    context = replace(make_escalation_context(NoticeKind.PAGE), contacts=alone)
    assert "Ingen andre er kaldt." in notice_renderer.render(context).text


def test_page_before_the_failsafe(notice_renderer: NoticeRenderer) -> None:
    notice = notice_renderer.render(make_escalation_context(NoticeKind.PAGE))
    line = "Kommunerne får automatisk besked kl. 03:30, hvis ingen bekræfter før."
    assert line in notice.text
    assert line in notice.html
    assert "fail-safe" not in notice.text


def test_page_after_the_failsafe(notice_renderer: NoticeRenderer) -> None:
    context = make_escalation_context(
        NoticeKind.PAGE,
        page_round=3,
        municipalities_informed=True,
        sent_without_ack=True,
        failsafe_after=None,
        issued_after=timedelta(minutes=32),
    )
    notice = notice_renderer.render(context)
    line = "Kommunerne er allerede informeret uden kvittering (fail-safe)."
    assert line in notice.text
    assert line in notice.html
    assert "automatisk besked" not in notice.text


def test_page_failsafe_after_midnight_has_the_date(notice_renderer: NoticeRenderer) -> None:
    # Issued at 23:50 local time, the fail-safe at 00:20.
    context = make_escalation_context(
        NoticeKind.PAGE,
        issued_after=timedelta(hours=20, minutes=50),
        failsafe_after=timedelta(hours=21, minutes=20),
    )
    text = notice_renderer.render(context).text
    assert "Kommunerne får automatisk besked lørdag 1. januar 2022 kl. 00:20, hvis" in text


@pytest.mark.parametrize(
    ("kind", "subject", "said"),
    [
        (
            NoticeKind.INITIAL,
            "[FMK-nedbrud #12] FMK virker kun delvist: Medicinkortet kan ikke åbnes",
            "FMK (Fælles Medicinkort) har kun virket delvist siden fredag 31. december 2021 "
            "kl. 03:00.",
        ),
        (
            NoticeKind.UPDATE,
            "[FMK-nedbrud #12] Opdatering 2: FMK virker fortsat kun delvist",
            "Der er ingen nye oplysninger; FMK virker fortsat kun delvist.",
        ),
    ],
)
def test_degraded_wording_to_the_municipalities(
    notice_renderer: NoticeRenderer, kind: NoticeKind, subject: str, said: str
) -> None:
    """A partial outage is not called "nede" in what the municipalities read."""
    notice = notice_renderer.render(make_context(kind, severity="degraded"))
    assert notice.subject == subject
    assert said in notice.text
    assert said in notice.html
    assert "Sådan gør I, mens FMK kun virker delvist" in notice.text
    assert "er nede" not in notice.subject + notice.text + notice.html


def test_degraded_wording(notice_renderer: NoticeRenderer) -> None:
    page = notice_renderer.render(make_escalation_context(NoticeKind.PAGE, severity="degraded"))
    assert page.subject == (
        "[FMK-nedbrud #12] KVITTÉR: FMK virker kun delvist – Medicinkortet kan ikke åbnes"
    )
    assert "FMK virker kun delvist: Medicinkortet kan ikke åbnes" in page.text
    assert "er nede" not in page.subject + page.text + page.html
    alert = notice_renderer.render(
        make_escalation_context(NoticeKind.VENDOR_ALERT, VENDOR, severity="degraded")
    )
    assert alert.subject == "[FMK-nedbrud #12] Til EOJ-leverandører: FMK virker kun delvist"
    reported = (
        "SDS har meldt, at FMK kun har virket delvist siden fredag 31. december 2021 kl. 03:00."
    )
    assert reported in alert.text
    assert reported in alert.html
    assert "er nede" not in alert.subject + alert.text + alert.html


# The mail as sent.


def test_page_to_iben_survives_the_round_trip(notice_renderer: NoticeRenderer) -> None:
    rendered = notice_renderer.render(make_escalation_context(NoticeKind.PAGE, page_round=2))
    msg = build_message(
        rendered,
        sender=ESCALATION.sender,
        reply_to=ESCALATION.reply_to,
        to=[IBEN],
        cc=[],
        message_id="<fmk.12-abcdef01.2.oncall-ibs@medcom.example>",
        references=[],
        date=DOWN_SINCE + timedelta(minutes=17),
    )
    data = as_bytes(msg)
    assert data.isascii()
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Subject"] == (
        "[FMK-nedbrud #12] KVITTÉR: FMK er nede – Medicinkortet kan ikke åbnes (påmindelse 1)"
    )
    to = parsed["To"].addresses
    assert (to[0].display_name, to[0].addr_spec) == ("Iben Søgaard", "ibs@medcom.example")
    plain = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    assert isinstance(plain, EmailMessage)
    assert isinstance(html, EmailMessage)
    text = plain.get_content().replace("\r\n", "\n")
    assert text == rendered.text
    assert "Til Iben Søgaard" in text
    assert f"Kvittér og tag ansvaret: {ACK_URL}" in text
    assert (
        "Også kaldt: Søren Ærbø (sae@medcom.example), Åse Øster (aoe@medcom.example) og "
        "Poul Erik Kristensen, KL (pek@kl.example).\n" in text
    )
    assert html.get_content().replace("\r\n", "\n") == rendered.html
