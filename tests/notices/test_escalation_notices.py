"""The escalation notices: every kind renders; the vendor alert, the owner notice, on-call
information; the sample incident and `check`. The page has its own module, test_page.py."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from dispatcher.contacts.model import Person, Registry, Vendor
from dispatcher.core.kinds import MUNICIPAL_KINDS, NoticeKind
from dispatcher.notices.render import NoticeRenderer, variables_for
from dispatcher.notices.sample import SAMPLE_ACK_URL, sample_context
from tests.notices.factories import (
    ESCALATION,
    IBEN,
    TEMPLATES,
    VENDOR,
    make_escalation_context,
)

ESCALATION_KINDS = sorted(
    k for k in set(NoticeKind) - MUNICIPAL_KINDS - {NoticeKind.REMINDER} if not k.maintenance
)
FALLBACK = ESCALATION.fallback[0]


def recipient_for(kind: NoticeKind, registry: Registry) -> Vendor | Person:
    if kind is NoticeKind.VENDOR_ALERT:
        return registry.vendors[0]
    return registry.escalation.oncall[1]


def test_the_escalation_kinds_are_the_new_ones() -> None:
    assert ESCALATION_KINDS == ["oncall_info", "owner", "page", "vendor_alert"]


@pytest.mark.parametrize("kind", ESCALATION_KINDS)
def test_every_escalation_kind_renders_the_sample(
    notice_renderer: NoticeRenderer, notice_registry: Registry, guidance: str, kind: NoticeKind
) -> None:
    recipient = recipient_for(kind, notice_registry)
    notice = notice_renderer.render(sample_context(kind, recipient, notice_registry, guidance))
    prefix = "[FMK-beredskab] " if kind is NoticeKind.ONCALL_INFO else "[FMK-nedbrud #1] "
    assert notice.subject.startswith(prefix)
    assert "\n" not in notice.subject
    assert notice.text.endswith("Mailen er sendt automatisk af MedComs beredskab for FMK.\n")
    assert f"\n\nTil {recipient.name}\n\n" in notice.text
    assert notice.html.startswith("<!DOCTYPE html>")
    assert '<html lang="da">' in notice.html
    assert f'<p style="color:#555555;">Til {recipient.name}</p>' in notice.html
    for part in (notice.subject, notice.text, notice.html):
        assert "None" not in part
        assert "Kopi til" not in part  # the municipal notices' vendor-copy greeting


@pytest.mark.parametrize("kind", ESCALATION_KINDS)
def test_every_escalation_kind_renders_for_its_recipient(
    notice_renderer: NoticeRenderer, kind: NoticeKind
) -> None:
    recipient: Vendor | Person = VENDOR if kind is NoticeKind.VENDOR_ALERT else IBEN
    context = make_escalation_context(kind, recipient, title="Signal fra SDS igen")
    notice = notice_renderer.render(context)
    assert notice.subject.startswith("[FMK-nedbrud #12] ")
    assert notice.text.splitlines()[2] == f"Til {recipient.name}"
    assert "FMK-nedbrud #12, sendt fredag 31. december 2021 kl. 03:02." in notice.text
    assert "FMK-nedbrud #12, sendt fredag 31. december 2021 kl. 03:02." in notice.html
    assert "None" not in notice.text + notice.html


def test_variables_for_a_person_and_no_incident() -> None:
    context = make_escalation_context(NoticeKind.ONCALL_INFO, with_incident=False)
    variables = variables_for(context)
    assert variables["addressee"] == "Iben Søgaard"
    assert variables["is_vendor"] is False
    assert variables["incident"] is None
    assert variables["elapsed"] is None
    assert variables["owner_person"] is None


# The vendor alert.


def test_vendor_alert_says_medcom_will_inform(notice_renderer: NoticeRenderer) -> None:
    notice = notice_renderer.render(make_escalation_context(NoticeKind.VENDOR_ALERT, VENDOR))
    assert notice.subject == "[FMK-nedbrud #12] Til EOJ-leverandører: FMK er nede"
    assert "Til Systematic\n" in notice.text
    for part in (notice.text, notice.html):
        assert "SDS har meldt, at FMK har været nede siden fredag 31. december 2021 kl. 03:00." in (
            part
        )
        assert "Medicinkortet kan ikke åbnes" in part
        assert "Fejlen ligger hos driftsleverandøren." in part
        assert "MedCom er alarmeret og informerer kommunerne." in part
        assert "I får en kopi af meddelelserne til kommunerne." in part
        assert "vagt@medcom.example" in part  # replies go to MedCom's duty team


def test_vendor_alert_with_a_message_shows_it_instead(notice_renderer: NoticeRenderer) -> None:
    message = "FMK kører igen; kommunerne blev ikke informeret\r\nSDS meldte <ok> kl. 03:40."
    context = make_escalation_context(NoticeKind.VENDOR_ALERT, VENDOR, message=message)
    notice = notice_renderer.render(context)
    assert notice.subject == (
        "[FMK-nedbrud #12] Til EOJ-leverandører: FMK kører igen; kommunerne blev ikke informeret"
    )
    assert notice.text.startswith("FMK kører igen; kommunerne blev ikke informeret\n\n")
    assert "SDS meldte <ok> kl. 03:40." in notice.text
    assert "SDS meldte &lt;ok&gt; kl. 03:40." in notice.html
    assert "<ok>" not in notice.html
    for part in (notice.text, notice.html):
        assert "MedCom er alarmeret" not in part
        assert "I får en kopi" not in part
        assert "Medicinkortet kan ikke åbnes" in part  # the background is still there


def test_vendor_alert_blank_message_is_no_message(notice_renderer: NoticeRenderer) -> None:
    context = make_escalation_context(NoticeKind.VENDOR_ALERT, VENDOR, message=" \n ")
    notice = notice_renderer.render(context)
    assert notice.subject == "[FMK-nedbrud #12] Til EOJ-leverandører: FMK er nede"
    assert "MedCom er alarmeret og informerer kommunerne." in notice.text


# The owner notice.


def test_owner_notice_names_the_owner(notice_renderer: NoticeRenderer) -> None:
    context = make_escalation_context(
        NoticeKind.OWNER, owner="SAE@medcom.example", issued_after=timedelta(minutes=21)
    )
    notice = notice_renderer.render(context)
    assert notice.subject == "[FMK-nedbrud #12] Søren Ærbø har taget ansvaret"
    assert (
        "Søren Ærbø (sae@medcom.example) har ansvaret for FMK-nedbrud #12 fra "
        "fredag 31. december 2021 kl. 03:21." in notice.text
    )
    assert "Du skal ikke gøre noget." in notice.text
    assert "skriv til sae@medcom.example." in notice.text
    assert '<a href="mailto:sae@medcom.example">sae@medcom.example</a>' in notice.html
    assert ">Søren Ærbø har taget ansvaret</h1>" in notice.html
    assert "Kommunerne får automatisk besked kl. 03:30, hvis ingen bekræfter før." in notice.text


def test_owner_outside_the_registry_is_shown_by_address(notice_renderer: NoticeRenderer) -> None:
    context = make_escalation_context(NoticeKind.OWNER, owner="vikar@medcom.example")
    notice = notice_renderer.render(context)
    assert notice.subject == "[FMK-nedbrud #12] vikar@medcom.example har taget ansvaret"
    assert "vikar@medcom.example har ansvaret for FMK-nedbrud #12" in notice.text
    assert "vikar@medcom.example (vikar@medcom.example)" not in notice.text


def test_owner_notice_without_owner_still_renders(notice_renderer: NoticeRenderer) -> None:
    notice = notice_renderer.render(make_escalation_context(NoticeKind.OWNER))
    assert notice.subject == "[FMK-nedbrud #12] En vagthavende har taget ansvaret"
    assert "None" not in notice.text + notice.html


# On-call information.


def test_oncall_info_without_incident(notice_renderer: NoticeRenderer) -> None:
    context = make_escalation_context(
        NoticeKind.ONCALL_INFO,
        with_incident=False,
        title="Ingen signal fra SDS i 10 minutter – nedbrud kan gå ubemærket hen",
        message="Tjek forbindelsen til SDS.\n\nHold selv øje med FMK & <SDS>.",
    )
    notice = notice_renderer.render(context)
    assert notice.subject == (
        "[FMK-beredskab] Ingen signal fra SDS i 10 minutter – nedbrud kan gå ubemærket hen"
    )
    assert notice.text == (
        "Ingen signal fra SDS i 10 minutter – nedbrud kan gå ubemærket hen\n\n"
        "Til Iben Søgaard\n\n"
        "Tjek forbindelsen til SDS.\n\nHold selv øje med FMK & <SDS>.\n\n"
        "Sendt fredag 31. december 2021 kl. 03:02. "
        "Mailen er sendt automatisk af MedComs beredskab for FMK.\n"
    )
    assert "<p>Tjek forbindelsen til SDS.</p>\n<p>Hold selv øje med FMK &amp; &lt;SDS&gt;.</p>" in (
        notice.html
    )
    assert "<title>FMK-beredskab</title>" in notice.html
    assert "FMK-nedbrud" not in notice.text + notice.html


def test_oncall_info_about_an_incident(notice_renderer: NoticeRenderer) -> None:
    context = make_escalation_context(
        NoticeKind.ONCALL_INFO,
        title="FMK-nedbrud #12 blev afsluttet, før nogen kvitterede",
        message="SDS meldte FMK kørende igen kl. 03:20.",
    )
    notice = notice_renderer.render(context)
    assert notice.subject == (
        "[FMK-nedbrud #12] FMK-nedbrud #12 blev afsluttet, før nogen kvitterede"
    )
    assert "SDS meldte FMK kørende igen kl. 03:20." in notice.text
    assert "Det gælder FMK-nedbrud #12: Medicinkortet kan ikke åbnes" in notice.text
    assert "<title>FMK-nedbrud #12</title>" in notice.html


def test_oncall_info_title_is_one_line(notice_renderer: NoticeRenderer) -> None:
    context = make_escalation_context(
        NoticeKind.ONCALL_INFO, with_incident=False, title="Signal fra\r\nSDS\tigen", message=""
    )
    notice = notice_renderer.render(context)
    assert notice.subject == "[FMK-beredskab] Signal fra SDS igen"
    assert notice.text.startswith("Signal fra SDS igen\n\nTil Iben Søgaard\n\n")
    assert ">Signal fra SDS igen</h1>" in notice.html


def test_oncall_info_title_is_escaped_once_in_html(notice_renderer: NoticeRenderer) -> None:
    context = make_escalation_context(
        NoticeKind.ONCALL_INFO, with_incident=False, title="FMK & <SDS>", message="Tekst."
    )
    notice = notice_renderer.render(context)
    assert notice.subject == "[FMK-beredskab] FMK & <SDS>"
    assert notice.text.startswith("FMK & <SDS>\n")
    assert ">FMK &amp; &lt;SDS&gt;</h1>" in notice.html


# The sample incident and the templates folder.


@pytest.mark.parametrize("page_round", [1, 2, 3])
def test_sample_page_follows_the_plan(
    notice_renderer: NoticeRenderer,
    notice_registry: Registry,
    guidance: str,
    page_round: int,
) -> None:
    recipient = notice_registry.escalation.oncall[0]
    context = sample_context(
        NoticeKind.PAGE, recipient, notice_registry, guidance, page_round=page_round
    )
    assert context.ack_url == SAMPLE_ACK_URL
    assert context.page_round == page_round
    text = notice_renderer.render(context).text
    assert f"Kvittér og tag ansvaret: {SAMPLE_ACK_URL}" in text
    if page_round < 3:
        assert "Kommunerne får automatisk besked kl. 07:44" in text
    else:
        assert "Kommunerne er allerede informeret uden kvittering (fail-safe)." in text
    assert (FALLBACK.name in text) == (page_round >= 2)


def test_sample_page_round_must_be_positive(notice_registry: Registry, guidance: str) -> None:
    with pytest.raises(ValueError, match="page_round"):
        sample_context(NoticeKind.PAGE, IBEN, notice_registry, guidance, page_round=0)


def test_sample_owner_is_someone_else(
    notice_renderer: NoticeRenderer, notice_registry: Registry, guidance: str
) -> None:
    first, second = notice_registry.escalation.oncall
    to_first = sample_context(NoticeKind.OWNER, first, notice_registry, guidance)
    assert to_first.incident is not None
    assert to_first.incident.owner == second.email
    to_second = notice_renderer.render(
        sample_context(NoticeKind.OWNER, second, notice_registry, guidance)
    )
    assert to_second.subject == f"[FMK-nedbrud #1] {first.name} har taget ansvaret"


@pytest.mark.parametrize("kind", ESCALATION_KINDS)
def test_check_requires_the_templates_of_every_kind(tmp_path: Path, kind: NoticeKind) -> None:
    copy = tmp_path / "templates"
    shutil.copytree(TEMPLATES, copy)
    assert NoticeRenderer(copy).check() == []
    (copy / f"mail/{kind}/body.html.j2").unlink()
    assert NoticeRenderer(copy).check() == [
        f"{copy / f'mail/{kind}/body.html.j2'}: missing template"
    ]


def test_vendor_alert_has_one_til_line(notice_renderer: NoticeRenderer) -> None:
    notice = notice_renderer.render(
        make_escalation_context(NoticeKind.VENDOR_ALERT, VENDOR, summary="FMK svarer ikke")
    )
    lines = notice.text.splitlines()
    assert [line for line in lines if line.startswith("Til ")] == ["Til Systematic"]
    assert lines[0] == "FMK svarer ikke"
    assert "FMK er nede: FMK" not in notice.html


def test_page_subject_does_not_repeat_fmk(notice_renderer: NoticeRenderer) -> None:
    notice = notice_renderer.render(
        make_escalation_context(NoticeKind.PAGE, summary="FMK svarer ikke")
    )
    assert notice.subject == "[FMK-nedbrud #12] KVITTÉR: FMK svarer ikke"
