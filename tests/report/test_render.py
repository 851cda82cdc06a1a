"""The report as Markdown and as HTML that prints on A4 in a real headless Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from dispatcher.report.render import render
from tests.browser.conftest import Chromium
from tests.report.fixture import RECORDS, at

NOW = at(9, 0)


class TestMarkdown:
    """The figures appear as computed, in Danish, with decimal commas and Danish time."""

    report = render(RECORDS, "md", NOW)

    def test_the_times(self) -> None:
        assert "| første kald (accepteret af relæet) | 0,5 |" in self.report
        assert "| kvittering | 12,0 |" in self.report
        assert "| Første signal fra SDS | 31.12.2021 03:00 |" in self.report

    def test_the_notices(self) -> None:
        assert (
            "| #4 første besked | 31.12.2021 03:12 | 4 af 6 | 17,0 | 45,0 | 45,0 | "
            "Aarhus Kommune, Bornholms Regionskommune |"
        ) in self.report
        assert "| #5 opdatering | 31.12.2021 05:12 | 4 af 6 | 133,5 | 135,0 | 135,0 |" in (
            self.report
        )

    def test_confirmations_bounces_retries_and_the_never_reached(self) -> None:
        assert "3 kommuner har bekræftet modtagelsen; median 40,0 minutter" in self.report
        assert (
            "| #4 | Aarhus Kommune | a@aarhus.example | 5.1.1 smtp; 550 5.1.1 User unknown |"
            in (self.report)
        )
        assert "- 6 genforsøg fordelt på 3 leverancer." in self.report
        assert "- 8 afsendelsesforsøg, som relæet ikke tog imod." in self.report
        assert "## Kommuner, der aldrig blev nået\n\n- Bornholms Regionskommune\n" in self.report

    def test_who_has_not_confirmed(self) -> None:
        assert (
            "Ikke bekræftet (3): Odense Kommune, Aarhus Kommune, Bornholms Regionskommune."
            in self.report
        )
        nobody = render(replace(RECORDS, receipts=()), "md", NOW)
        assert "Ingen kommune har bekræftet modtagelsen." in nobody
        assert "Ikke bekræftet (6): Københavns Kommune, " in nobody

    def test_text_cannot_break_a_table(self) -> None:
        entry = replace(RECORDS.timeline[0], text="a | b\nc")
        report = render(replace(RECORDS, timeline=(entry,)), "md", NOW)
        assert "| sds | Hændelse åbnet | a \\| b c |" in report

    def test_an_unknown_format(self) -> None:
        with pytest.raises(ValueError, match="unknown format 'pdf'"):
            render(RECORDS, "pdf", NOW)


class TestHtml:
    """Incident text is escaped; the page prints on A4 with every figure on it."""

    def test_text_is_escaped(self) -> None:
        html = render(replace(RECORDS, summary="<script>alert(1)</script>"), "html", NOW)
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html

    def test_it_prints_on_a4(self, chromium: Chromium, tmp_path: Path) -> None:
        pdftotext = shutil.which("pdftotext")
        if pdftotext is None:
            if os.environ.get("CI"):
                pytest.fail("pdftotext is not installed; .ci/run installs poppler-utils")
            pytest.skip("pdftotext is not installed (apt-get install poppler-utils)")
        page = tmp_path / "report.html"
        page.write_text(render(RECORDS, "html", NOW), encoding="utf-8")
        pdf = tmp_path / "report.pdf"
        chromium.run(page.as_uri(), f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
        info = subprocess.run(
            ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True
        ).stdout
        assert "(A4)" in info
        pages = int(
            next(line for line in info.splitlines() if line.startswith("Pages:")).split()[1]
        )
        assert pages == 2
        text = subprocess.run(
            [pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        for expected in (
            "Rapport efter FMK-nedbrud #7",
            "17,0",
            "133,5",
            "median 40,0 minutter",
            "Bornholms Regionskommune",
            "6 genforsøg fordelt på 3 leverancer",
        ):
            assert expected in text
