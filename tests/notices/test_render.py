"""The real templates, rendered for every kind of notice and recipient."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from dispatcher.contacts.model import Municipality, Registry, Vendor
from dispatcher.core.kinds import MUNICIPAL_KINDS, NoticeKind
from dispatcher.notices.render import NoticeRenderer, TemplateError, single_line
from dispatcher.notices.sample import sample_context
from tests.notices.factories import (
    AERO,
    BORNHOLM,
    COPENHAGEN,
    DOWN_SINCE,
    LYNGBY,
    VENDOR,
    make_context,
)

SUBJECTS = {
    NoticeKind.INITIAL: (
        "[FMK-nedbrud #1] FMK er nede: Medicinkortet kan ikke hentes eller opdateres"
    ),
    NoticeKind.UPDATE: "[FMK-nedbrud #1] Opdatering 2: FMK er fortsat nede",
    NoticeKind.ALL_CLEAR: "[FMK-nedbrud #1] Løst: FMK kører igen",
    NoticeKind.CORRECTION: "[FMK-nedbrud #1] Rettelse: FMK er ikke nede",
}


@pytest.mark.parametrize("kind", sorted(MUNICIPAL_KINDS))
@pytest.mark.parametrize("recipient", [COPENHAGEN, VENDOR], ids=["municipality", "vendor"])
def test_every_municipal_kind_renders_for_every_recipient(
    notice_renderer: NoticeRenderer,
    notice_registry: Registry,
    guidance: str,
    kind: NoticeKind,
    recipient: Municipality | Vendor,
) -> None:
    notice = notice_renderer.render(sample_context(kind, recipient, notice_registry, guidance))
    assert notice.subject == SUBJECTS[kind]
    assert notice.text.endswith("\n")
    assert "MedCom" in notice.text
    assert notice.html.startswith("<!DOCTYPE html>")
    assert '<html lang="da">' in notice.html
    if isinstance(recipient, Vendor):
        copy = (
            "Kopi til Systematic (EOJ-leverandør): denne meddelelse er sendt til alle 4 kommuner."
        )
        assert copy in notice.text
        assert copy in notice.html
        assert "Til " not in notice.text.splitlines()[0]
    else:
        assert notice.text.startswith("Til Københavns Kommune\n")


@pytest.mark.parametrize(
    ("recipient", "line"),
    [
        (COPENHAGEN, "Til Københavns Kommune"),
        (BORNHOLM, "Til Bornholms Regionskommune"),
        (LYNGBY, "Til Lyngby-Taarbæk Kommune"),
        (AERO, "Til Ærø Kommune"),
    ],
)
def test_municipality_is_named_officially(
    notice_renderer: NoticeRenderer, recipient: Municipality, line: str
) -> None:
    notice = notice_renderer.render(make_context(NoticeKind.INITIAL, recipient))
    assert notice.text.splitlines()[0] == line
    assert f">{line}</p>" in notice.html


def test_initial_says_what_since_when_and_what_next(notice_renderer: NoticeRenderer) -> None:
    context = make_context(
        NoticeKind.INITIAL, next_update_at=DOWN_SINCE + timedelta(hours=2, minutes=20)
    )
    text = notice_renderer.render(context).text
    assert (
        "FMK (Fælles Medicinkort) har været nede siden fredag 31. december 2021 kl. 03:00." in text
    )
    assert "Plejepersonalet kan ikke se ændringer i medicinen." in text
    assert "Fejlen ligger hos driftsleverandøren." in text
    assert "Brug den seneste udskrift af medicinlisten." in text
    assert "Vi sender næste opdatering kl. 05:20" in text
    assert "svar på denne mail. Svaret går til MedComs vagt (vagt@medcom.example)" in text
    assert "Vagthavende hos MedCom: Søren Ærbø og Åse Øster." in text


def test_unknown_impact_is_being_investigated(notice_renderer: NoticeRenderer) -> None:
    text = notice_renderer.render(make_context(NoticeKind.INITIAL, impact=" ")).text
    assert "Vi undersøger stadig, hvad nedbruddet betyder for jer." in text


def test_next_update_on_another_day_has_the_date(notice_renderer: NoticeRenderer) -> None:
    # Issued at 23:00 local time, next update after midnight.
    context = make_context(
        NoticeKind.UPDATE,
        issued_after=timedelta(hours=20),
        next_update_at=DOWN_SINCE + timedelta(hours=22),
    )
    text = notice_renderer.render(context).text
    assert "Vi sender næste opdatering lørdag 1. januar 2022 kl. 01:00" in text


def test_update_without_news_says_so(notice_renderer: NoticeRenderer) -> None:
    for message in (None, "", "  \n"):
        text = notice_renderer.render(make_context(NoticeKind.UPDATE, message=message)).text
        assert "Der er ingen nye oplysninger; FMK er fortsat nede." in text


def test_update_gives_news_duration_and_guidance(notice_renderer: NoticeRenderer) -> None:
    context = make_context(
        NoticeKind.UPDATE,
        message="Leverandøren genstarter serveren.",
        issued_after=timedelta(hours=2, minutes=15),
        next_update_at=DOWN_SINCE + timedelta(hours=4, minutes=15),
    )
    text = notice_renderer.render(context).text
    assert "Leverandøren genstarter serveren." in text
    assert "Nedbruddet har indtil nu varet 2 timer og 15 minutter." in text
    assert "Vi sender næste opdatering kl. 07:15" in text
    assert "Brug den seneste udskrift af medicinlisten." in text


def test_update_across_the_spring_dst_change(notice_renderer: NoticeRenderer) -> None:
    down = DOWN_SINCE.replace(year=2025, month=3, day=30, hour=0, minute=30)  # 01:30 CET
    context = make_context(
        NoticeKind.UPDATE,
        down_since=down,
        issued_after=timedelta(minutes=45),  # 03:15 CEST
        next_update_at=down + timedelta(hours=2, minutes=45),
    )
    text = notice_renderer.render(context).text
    assert "FMK har været nede siden søndag 30. marts 2025 kl. 01:30." in text
    assert "varet 45 minutter." in text
    assert "Vi sender næste opdatering kl. 05:15" in text


def test_all_clear_gives_end_and_total_duration(notice_renderer: NoticeRenderer) -> None:
    context = make_context(
        NoticeKind.ALL_CLEAR,
        message="Husk at tjekke dosisdispenseringen.",
        resolved_after=timedelta(hours=1),
        issued_after=timedelta(hours=1, minutes=5),
    )
    text = notice_renderer.render(context).text
    assert "FMK har virket igen siden fredag 31. december 2021 kl. 04:00." in text
    assert "varede 1 time." in text
    assert "Husk at tjekke dosisdispenseringen." in text
    assert "Afstem de medicinændringer" in text


def test_correction_says_fmk_is_not_down(notice_renderer: NoticeRenderer) -> None:
    context = make_context(NoticeKind.CORRECTION, message="Fejl i overvågningen.")
    notice = notice_renderer.render(context)
    assert notice.subject == "[FMK-nedbrud #12] Rettelse: FMK er ikke nede"
    assert "Den var sendt ved en fejl: FMK er ikke nede" in notice.text
    assert "Årsag\nFejl i overvågningen." in notice.text
    assert "Årsag" not in notice_renderer.render(make_context(NoticeKind.CORRECTION)).text


def test_html_is_escaped_and_text_is_not(notice_renderer: NoticeRenderer) -> None:
    summary = "<script>alert('x')</script> & co"
    notice = notice_renderer.render(
        make_context(NoticeKind.INITIAL, summary=summary, impact="A < B\n\nNyt afsnit")
    )
    assert summary in notice.text
    assert "<script>" not in notice.html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co" in notice.html
    assert "<p>A &lt; B</p>\n<p>Nyt afsnit</p>" in notice.html
    assert summary in notice.subject


def test_subject_is_one_short_line(notice_renderer: NoticeRenderer) -> None:
    summary = "Første\r\nlinje\x00\tog\u2028så " + "meget " * 40
    subject = notice_renderer.render(make_context(NoticeKind.INITIAL, summary=summary)).subject
    assert subject.startswith("[FMK-nedbrud #12] FMK er nede: Første linje og så meget")
    assert len(subject) == 150
    assert subject.endswith("…")
    assert not any(char in subject for char in "\r\n\t\x00\u2028")


def test_single_line_keeps_short_text() -> None:
    assert single_line("  a \n b  ", 150) == "a b"


def write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def minimal_templates(root: Path, body_txt: str) -> NoticeRenderer:
    write(root, "mail/initial/subject.txt.j2", "[FMK-nedbrud #{{ incident.number }}]\n")
    write(root, "mail/initial/body.txt.j2", body_txt)
    write(root, "mail/initial/body.html.j2", "<p>{{ incident.summary }}</p>\n")
    return NoticeRenderer(root)


def test_undefined_variable_names_variable_and_file(tmp_path: Path) -> None:
    renderer = minimal_templates(tmp_path, "Hej\n\n{{ no_such_thing }}\n")
    with pytest.raises(TemplateError) as caught:
        renderer.render(make_context(NoticeKind.INITIAL))
    message = str(caught.value)
    assert "no_such_thing" in message
    assert "undefined" in message
    assert f"{tmp_path / 'mail/initial/body.txt.j2'}, line 3" in message


def test_undefined_attribute_is_an_error(tmp_path: Path) -> None:
    renderer = minimal_templates(tmp_path, "{{ incident.no_such_field }}\n")
    with pytest.raises(TemplateError, match="no_such_field"):
        renderer.render(make_context(NoticeKind.INITIAL))


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    renderer = minimal_templates(tmp_path, "Hej\n{% if %}\n{% endif %}\n")
    with pytest.raises(TemplateError) as caught:
        renderer.render(make_context(NoticeKind.INITIAL))
    assert str(caught.value).startswith(f"{tmp_path / 'mail/initial/body.txt.j2'}, line 2: ")
    assert "syntax error" in str(caught.value)


def test_missing_template_is_a_template_error(tmp_path: Path) -> None:
    renderer = minimal_templates(tmp_path, '{% extends "mail/_gone.txt.j2" %}\n')
    with pytest.raises(TemplateError, match=r"line 1: 'mail/_gone\.txt\.j2' not found"):
        renderer.render(make_context(NoticeKind.INITIAL))
    with pytest.raises(TemplateError, match=r"'mail/update/subject\.txt\.j2' not found"):
        renderer.render(make_context(NoticeKind.UPDATE))


def test_error_in_a_filter_is_a_template_error(tmp_path: Path) -> None:
    renderer = minimal_templates(tmp_path, "{{ next_update_at|lokal }}\n")
    with pytest.raises(TemplateError, match=r"body\.txt\.j2, line 1: AttributeError"):
        renderer.render(make_context(NoticeKind.INITIAL, next_update_at=None))


def test_check_passes_on_the_real_templates(notice_renderer: NoticeRenderer) -> None:
    assert notice_renderer.check() == []


def test_check_reports_missing_broken_and_mixed_templates(tmp_path: Path) -> None:
    renderer = minimal_templates(tmp_path, "{% for %}\n")
    write(tmp_path, "mail/_phrases.txt.j2", "{% macro hi() %}Hej{% endmacro %}\n")
    write(tmp_path, "mail/update/body.html.j2", '{% import "mail/_phrases.txt.j2" as say %}\n')
    problems = renderer.check()
    joined = "\n".join(problems)
    assert f"{tmp_path / 'mail/initial/body.txt.j2'}, line 1: syntax error" in joined
    assert f"{tmp_path / 'mail/update/subject.txt.j2'}: missing template" in joined
    assert "uses mail/_phrases.txt.j2, but HTML templates" in joined
    assert "missing standard guidance" in joined


def test_check_reports_a_missing_folder(tmp_path: Path) -> None:
    assert NoticeRenderer(tmp_path / "nope").check() == [
        f"templates folder {tmp_path / 'nope'} does not exist"
    ]


def test_standard_guidance_is_danish_and_complete(guidance: str) -> None:
    assert "Skriv alle medicinændringer ned" in guidance
    assert guidance == guidance.strip()


class TestWording:
    """The notices say each thing once, in one numbering, with one word for each act."""

    def test_a_summary_that_names_fmk_is_not_preceded_by_fmk_again(
        self, notice_renderer: NoticeRenderer
    ) -> None:
        for kind, start in (
            (NoticeKind.INITIAL, "[FMK-nedbrud #12] FMK svarer ikke"),
            (NoticeKind.UPDATE, "[FMK-nedbrud #12] Opdatering 2: FMK er fortsat nede"),
        ):
            notice = notice_renderer.render(make_context(kind, summary="FMK svarer ikke"))
            assert notice.subject == start
            for part in (notice.text, notice.html):
                assert "FMK svarer ikke" in part
                assert ": FMK svarer" not in part

    def test_a_summary_without_fmk_is_introduced(self, notice_renderer: NoticeRenderer) -> None:
        notice = notice_renderer.render(make_context(NoticeKind.INITIAL, summary="Opslag fejler"))
        assert "FMK er nede: Opslag fejler\n" in notice.text
        assert "FMK (Fælles Medicinkort) har været nede siden" in notice.text

    @pytest.mark.parametrize(
        ("kind", "name"),
        [
            (NoticeKind.INITIAL, "Første meddelelse"),
            (NoticeKind.UPDATE, "Opdatering 2"),
            (NoticeKind.ALL_CLEAR, "Sidste meddelelse"),
            (NoticeKind.CORRECTION, "Rettelse"),
        ],
    )
    def test_the_footer_names_the_notice_as_its_subject_does(
        self, notice_renderer: NoticeRenderer, kind: NoticeKind, name: str
    ) -> None:
        notice = notice_renderer.render(make_context(kind))
        for part in (notice.text, notice.html):
            assert f"{name} om FMK-nedbrud #12, sendt" in part
            assert "Meddelelse nr." not in part
        if kind is NoticeKind.UPDATE:
            assert name in notice.subject
