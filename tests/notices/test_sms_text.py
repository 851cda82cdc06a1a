"""The SMS page's words: one SMS where possible, GSM-7 unless a character needs UCS-2."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatcher.paging import sms_text
from dispatcher.paging.sms_text import Encoding

T0 = datetime(2021, 12, 31, 2, 4, tzinfo=UTC)  # 03:04 in Copenhagen
LINK = "https://fmk-beredskab.medcom.example/p/AbCdEfGhIjK"


def page(summary: str, **kw: object) -> sms_text.Sms:
    return sms_text.page(
        number=12, summary=summary, down_since=T0, now=T0, code="482913", link=LINK, **kw
    )  # type: ignore[arg-type]


class TestSegments:
    @pytest.mark.parametrize(
        ("text", "encoding", "parts"),
        [
            ("a" * 160, Encoding.GSM7, 1),
            ("a" * 161, Encoding.GSM7, 2),
            ("æøåÆØÅé" * 20, Encoding.GSM7, 1),
            ("€" * 80, Encoding.GSM7, 1),
            ("€" * 81, Encoding.GSM7, 2),
            ("ł" * 70, Encoding.UCS2, 1),
            ("ł" * 71, Encoding.UCS2, 2),
            ("ł" * 135, Encoding.UCS2, 3),
        ],
    )
    def test_parts(self, text: str, encoding: Encoding, parts: int) -> None:
        assert (sms_text.encoding_of(text), sms_text.parts(text)) == (encoding, parts)

    def test_typography_becomes_gsm7(self) -> None:
        assert sms_text.plain("“Nede” – igen… ’") == '"Nede" - igen... \''


class TestPage:
    def test_one_sms_with_everything(self) -> None:
        sms = page("FMK svarer ikke – opslag fejler på Sjælland")
        assert sms.text == (
            "FMK-nedbrud #12 siden 03:04: FMK svarer ikke - opslag fejler på Sjælland. "
            f"Kvittér: svar OK 482913 eller åbn {LINK}"
        )
        assert (sms.encoding, sms.parts) == (Encoding.GSM7, 1)

    def test_a_long_summary_is_shortened_to_one_sms(self) -> None:
        sms = page("Alle opslag i Fælles Medicinkort fejler med timeout " * 5)
        assert sms.parts == 1
        assert "... Kvittér: svar OK 482913" in sms.text
        assert sms.text.endswith(LINK)

    def test_ucs2_keeps_the_character_and_the_code(self) -> None:
        sms = page("Łódź-serveren er nede " * 3)
        assert sms.encoding is Encoding.UCS2
        assert "OK 482913" in sms.text
        assert sms.parts <= sms_text.MAX_PARTS

    def test_drill_round_and_another_day(self) -> None:
        sms = sms_text.page(
            number=3,
            summary="FMK nede",
            down_since=T0 - timedelta(days=1),
            now=T0,
            code="000017",
            link=LINK,
            round_number=2,
            drill=True,
        )
        assert sms.text.startswith("ØVELSE: FMK-nedbrud #3 (kald 2) siden 30.12. 03:04: FMK nede.")
