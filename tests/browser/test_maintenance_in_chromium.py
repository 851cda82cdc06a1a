"""The status page's "Planlagt vedligehold" as Chromium shows it: an active and an upcoming
window, with their Danish times, and the calendar link; a phone shows it without overflow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from dispatcher.core.maintenance import Schedule
from dispatcher.maintenance import service
from dispatcher.runtime import Runtime
from tests.browser.conftest import Chromium
from tests.browser.png import read_png
from tests.browser.test_status_in_chromium import PHONE, right_edge_is_clear, visible_text
from tests.support.clock import FakeClock

NOW = datetime(2026, 3, 28, 21, 30, tzinfo=UTC)  # 22:30 on Saturday in Copenhagen


class TestPlannedMaintenance:
    def test_active_and_upcoming_windows(
        self, runtime: Runtime, clock: FakeClock, server: str, chromium: Chromium, tmp_path: Path
    ) -> None:
        clock.set(NOW - timedelta(days=2))
        dispatch = runtime.dispatch
        text = "SDS opgraderer FMK's databaser. Æøå."
        start, end = (
            datetime(2026, 3, 28, 21, 0, tzinfo=UTC),
            datetime(2026, 3, 29, 2, 0, tzinfo=UTC),
        )
        service.schedule(dispatch, Schedule("khs", start, end, text), clock.now())
        later = datetime(2026, 4, 11, 20, 0, tzinfo=UTC)
        service.schedule(
            dispatch, Schedule("khs", later, later + timedelta(hours=2), "Netværk."), clock.now()
        )
        clock.set(NOW)

        dom = chromium.dom(f"{server}/status")
        shown = visible_text(dom).split("Planlagt vedligehold")[1].split("Tidligere nedbrud")[0]
        assert (
            "I gang: lørdag 28. marts 2026 kl. 22:00 til søndag 29. marts 2026 kl. 04:00" in shown
        )
        assert (
            "Planlagt: lørdag 11. april 2026 kl. 22:00 til søndag 12. april 2026 kl. 00:00" in shown
        )
        assert "SDS opgraderer FMK's databaser. Æøå." in shown
        assert 'href="/vedligehold.ics"' in dom
        phone = chromium.screenshot(
            f"{server}/status", tmp_path / "phone.png", width=PHONE[0], height=PHONE[1]
        )
        assert right_edge_is_clear(read_png(phone))
