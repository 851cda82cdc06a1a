"""`dispatcher maintenance …`: schedule, change, cancel, list and show windows; bad input names
the problem, exits 1 and stores nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from dispatcher.store.db import transaction
from dispatcher.store.tables import MaintenanceRow, NoticeRow
from tests.cli.conftest import Cli, table_rows

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def local(days: float, hour: int) -> str:
    """Danish local time `days` from now at `hour`:00, as typed on the command line."""
    moment = (datetime.now(UTC) + timedelta(days=days)).astimezone(COPENHAGEN)
    return moment.replace(hour=hour, minute=0, second=0, microsecond=0).strftime("%Y-%m-%d %H:%M")


def windows(cli: Cli) -> int:
    with transaction(cli.engine) as session:
        return session.scalar(select(func.count()).select_from(MaintenanceRow)) or 0


def notices(cli: Cli) -> list[str]:
    with transaction(cli.engine) as session:
        return [n.kind for n in session.scalars(select(NoticeRow).order_by(NoticeRow.id))]  # type: ignore[arg-type]


class TestCommands:
    def test_schedule_change_cancel_list_show(self, cli: Cli) -> None:
        out = cli.ok(
            "maintenance", "schedule", "--from", local(5, 22), "--to", local(6, 3),
            "--text", "Opgradering af FMK. Æøå.", "--region", "sjælland",
        )  # fmt: skip
        assert "Scheduled maintenance window #1" in out
        assert "Queued the maint_announced notice" in out
        assert notices(cli) == [
            "maint_announced", "maint_reminder", "maint_reminder", "maint_started", "maint_ended",
        ]  # fmt: skip
        out = cli.ok("maintenance", "change", "1", "--to", local(6, 4))
        assert "Queued the maint_changed notice" in out
        rows = table_rows(cli.ok("maintenance", "list"))
        assert rows[0][:2] == ["1", "upcoming"]
        assert "Region Sjælland" in rows[0][4]
        shown = cli.ok("maintenance", "show", "1")
        assert "calendar sequence 1" in shown
        assert "(withdrawn)" in shown
        assert "Æøå" in shown
        assert "Cancelled maintenance window #1" in cli.ok("maintenance", "cancel", "1")
        assert table_rows(cli.ok("maintenance", "list"))[0][1] == "cancelled"

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (("--from", "2026-03-29 02:30", "--to", "2026-03-29 04:00"), "does not exist"),
            (("--from", "2026-10-25 02:30", "--to", "2026-10-25 04:00"), "occurs twice"),
            (("--from", "i morgen", "--to", "2026-10-25 04:00"), "is not a time"),
            (("--from", local(5, 22), "--to", local(5, 20)), "before it starts"),
            (("--from", local(-3, 1), "--to", local(-3, 4)), "in the past"),
            (("--from", local(5, 1), "--to", local(7, 1)), "at most 24 hours"),
            (("--from", local(5, 1), "--to", local(5, 4), "--municipalities", "999"), "unknown"),
        ],
    )
    def test_bad_input_changes_nothing(self, cli: Cli, args: tuple[str, ...], message: str) -> None:
        result = cli("maintenance", "schedule", *args, "--text", "x")
        assert result.exit_code == 1, result.output
        assert message in result.output
        assert windows(cli) == 0
        assert notices(cli) == []

    def test_an_unknown_window(self, cli: Cli) -> None:
        for command in (("change", "7", "--text", "x"), ("cancel", "7"), ("show", "7")):
            result = cli("maintenance", *command)
            assert result.exit_code == 1
            assert "no maintenance window #7" in result.output
