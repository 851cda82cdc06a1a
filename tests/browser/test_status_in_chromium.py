"""The status page as a municipality's staff see it: in a real headless Chromium, served by a
real uvicorn, during an open incident and after the all-clear, on a desktop and a phone.

`DISPATCHER_SAVE_SCREENSHOTS=1 python -m pytest tests/browser` also saves the desktop
screenshots as docs/status-page.png and docs/status-page-resolved.png.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

from dispatcher.core.model import PostUpdate, Resolve
from dispatcher.incidents.service import apply, trigger
from dispatcher.runtime import Runtime
from tests.browser.conftest import Chromium
from tests.browser.png import Image, read_png
from tests.support.clock import FakeClock
from tests.support.incidents import fmk_down

DOCS = Path(__file__).resolve().parents[2] / "docs"
DUTY = "vagt@medcom.dk"
HOUR = timedelta(hours=1)
NEW_YEARS_EVE_0300 = datetime(2021, 12, 31, 2, 0, tzinfo=UTC)
DESKTOP = (1280, 1500)
PHONE = (390, 1400)
MIN_PNG_BYTES = 20_000


def a_past_outage(runtime: Runtime, clock: FakeClock) -> None:
    """A short outage in November, for the history."""
    clock.set(datetime(2021, 11, 18, 13, 5, tzinfo=UTC))
    number, _ = trigger(
        runtime.dispatch,
        fmk_down(summary="FMK svarer langsomt – opslag tager op til et minut"),
        clock.now(),
    )
    clock.advance(timedelta(minutes=50))
    apply(runtime.dispatch, number, Resolve(DUTY), clock.now())


def the_new_years_eve_outage(runtime: Runtime, clock: FakeClock) -> int:
    """03:00 on New Year's Eve: FMK down, one update at 04:00 with news; now 04:20."""
    clock.set(NEW_YEARS_EVE_0300)
    number, _ = trigger(
        runtime.dispatch,
        fmk_down(
            impact="Hjemmeplejen og plejecentrene kan ikke se nye ordinationer og ændringer "
            "i medicinen."
        ),
        clock.now(),
    )
    clock.advance(HOUR)
    news = (
        "SDS har fundet fejlen i en database hos driftsleverandøren. "
        "Databasen genstartes nu, og vi forventer, at FMK kører igen inden kl. 06."
    )
    apply(runtime.dispatch, number, PostUpdate(DUTY, news), clock.now())
    clock.advance(timedelta(minutes=20))
    return number


def visible_text(dom: str) -> str:
    body = re.sub(r"(?s)<(style|head)\b.*?</\1>", " ", dom)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def right_edge_is_clear(image: Image, margin: int = 8) -> bool:
    """No dark (text) pixel in the `margin` rightmost columns: nothing runs off the screen."""
    return all(
        min(image.pixel(x, y)) > 110
        for y in range(image.height)
        for x in range(image.width - margin, image.width)
    )


def check_screenshots(
    chromium: Chromium, url: str, tmp_path: Path, *, saved_as: dict[str, str]
) -> None:
    """A desktop and a phone screenshot: written, not blank, the right size, nothing cut off
    at the phone's edge. With DISPATCHER_SAVE_SCREENSHOTS set, copied to `docs/` as named in
    `saved_as` ("desktop", "phone")."""
    shots = tmp_path / "desktop.png", tmp_path / "phone.png"
    desktop = chromium.screenshot(url, shots[0], width=DESKTOP[0], height=DESKTOP[1])
    assert len(desktop) > MIN_PNG_BYTES, "the screenshot is (nearly) blank"
    assert read_png(desktop).width == DESKTOP[0]
    phone = read_png(chromium.screenshot(url, shots[1], width=PHONE[0], height=PHONE[1]))
    assert (phone.width, phone.height) == PHONE
    assert right_edge_is_clear(phone), "text runs off a 390 px wide screen"
    if os.environ.get("DISPATCHER_SAVE_SCREENSHOTS"):
        for shot in shots:
            if shot.stem in saved_as:
                shutil.copyfile(shot, DOCS / saved_as[shot.stem])


class TestDuringAnIncident:
    """During an open incident Chromium shows the nedbrud banner, the notices in order and the
    next update, in Danish, and the page fits a phone."""

    def test_open_incident(
        self, runtime: Runtime, clock: FakeClock, server: str, chromium: Chromium, tmp_path: Path
    ) -> None:
        a_past_outage(runtime, clock)
        the_new_years_eve_outage(runtime, clock)

        dom = chromium.dom(f"{server}/status")
        assert '<html lang="da">' in dom
        assert "<script" not in dom
        text = visible_text(dom)
        assert "Nedbrud: FMK er nede" in text
        assert "Næste opdatering: fredag 31. december 2021 kl. 06:00" in text
        titles = re.findall(r"<h4>(.*?)</h4>", dom)
        assert titles == ["Meddelelse om nedbrud: FMK er nede", "Opdatering 1: FMK er fortsat nede"]
        assert "FMK svarer langsomt" in text.split("Tidligere nedbrud")[1]
        check_screenshots(
            chromium,
            f"{server}/status",
            tmp_path,
            saved_as={"desktop": "status-page.png", "phone": "status-page-phone.png"},
        )


class TestAfterResolution:
    """After the all-clear Chromium shows genoprettet with the incident and its all-clear
    notice, and the earlier outages, not that incident, in the history."""

    def test_resolved(
        self, runtime: Runtime, clock: FakeClock, server: str, chromium: Chromium, tmp_path: Path
    ) -> None:
        a_past_outage(runtime, clock)
        number = the_new_years_eve_outage(runtime, clock)
        clock.advance(timedelta(minutes=25))
        apply(runtime.dispatch, number, Resolve(DUTY, "Databasen er genstartet."), clock.now())
        clock.advance(timedelta(minutes=10))

        text = visible_text(chromium.dom(f"{server}/status"))
        assert "Genoprettet: FMK kører igen" in text
        assert "Løst: FMK kører igen" in text
        assert "Næste opdatering" not in text
        current, history = text.split("Tidligere nedbrud")
        assert f"FMK-nedbrud #{number}" in current
        assert "Varighed 1 time og 45 minutter" in current
        assert f"FMK-nedbrud #{number}" not in history
        assert "FMK svarer langsomt" in history
        check_screenshots(
            chromium, f"{server}/status", tmp_path, saved_as={"desktop": "status-page-resolved.png"}
        )
