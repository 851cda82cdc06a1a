"""`dispatcher incident …` as duty staff use it: what they type, what they see, what is stored,
and what the municipalities get once the sender runs. No daemon runs in these tests."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select
from sqlmodel import col
from typer.testing import CliRunner

from dispatcher.cli.app import app
from dispatcher.contacts.model import Municipality, Registry, Vendor
from dispatcher.daemon.replicas import register
from dispatcher.mailcatcher import MailCatcher
from dispatcher.notices.render import standard_guidance
from dispatcher.outbox.sender import Sender
from dispatcher.store.db import transaction
from dispatcher.store.tables import MessageRow
from tests.cli.conftest import DUTY, Cli, env_for, table_rows
from tests.conftest import TEMPLATES
from tests.support.clock import FakeClock
from tests.support.drain import drain
from tests.support.mail import ScriptedHandler, parse, per_recipient

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
SUMMARY = "FMK svarer ikke – ordinationer på plejecentre i Ærø kan ikke ses"
DETAILS = "SDS undersøger fejlen.\nNæste status fra driftsleverandøren kl. 04."
NO_DAEMON = (
    "No daemon is running: the action is stored and its notices will be sent when "
    "`dispatcher serve` starts."
)
NO_DAEMON_NOTHING_QUEUED = (
    "No daemon is running: the action is stored; paging, escalation and updates wait until "
    "`dispatcher serve` starts."
)
HELD = (
    "The initial notice is held: the municipalities are told only when you run "
    "`dispatcher incident confirm 1`."
)
QUEUED_INITIAL = "Queued the initial notice for 98 municipalities, 3 vendor copies."
ODENSE = "fmk-beredskab@odense.kommune.example"
ODENSE_REFUSAL = f"550 5.1.1 <{ODENSE}>: Recipient address rejected"


def local(moment: datetime | None) -> str:
    assert moment is not None
    return moment.astimezone(COPENHAGEN).strftime("%Y-%m-%d %H:%M %Z")


def trigger(cli: Cli, *extra: str, summary: str = SUMMARY) -> str:
    return cli.ok(
        "incident", "trigger", "--summary", summary, "--details", DETAILS,
        "--down-since", "2021-12-31 03:00", *extra,
    )  # fmt: skip


def audiences(registry: Registry) -> tuple[Municipality | Vendor, ...]:
    return (*registry.municipalities, *registry.vendors)


def recipients_of(registry: Registry) -> int:
    return sum(len(audience.emails) for audience in audiences(registry))


def test_trigger_stores_the_incident_and_queues_the_initial_notice(
    cli: Cli, registry: Registry
) -> None:
    out = trigger(cli, "--impact", "Hjemmeplejen kan ikke se ændringer.")

    row = cli.incident(1)
    assert (row.status, row.summary, row.details) == ("triggered", SUMMARY, DETAILS)
    assert row.impact == "Hjemmeplejen kan ikke se ændringer."
    assert row.guidance == standard_guidance(TEMPLATES)
    assert row.down_since == datetime(2021, 12, 31, 2, 0, tzinfo=UTC)
    assert (row.opened_by, row.owner) == (DUTY, None)
    assert row.informed_at is not None
    assert row.next_update_at == row.informed_at + timedelta(hours=2)
    assert out.splitlines() == [
        f"Opened incident #1: {SUMMARY}",
        QUEUED_INITIAL,
        f"Next update due {local(row.next_update_at)}.",
        NO_DAEMON,
    ]
    assert cli.row_counts() == {
        "incident": 1, "timeline": 2, "notice": 1, "message": 101,
        "delivery": recipients_of(registry),
    }  # fmt: skip
    assert [(t.kind, t.actor, t.text) for t in cli.timeline(1)] == [
        ("triggered", DUTY, SUMMARY),
        ("notice", DUTY, "initial notice #1 queued for 98 municipalities, 3 vendor copies"),
    ]
    with transaction(cli.engine) as session:
        subjects = set(session.scalars(select(col(MessageRow.subject))))
    assert subjects == {f"[FMK-nedbrud #1] {SUMMARY}"}


def test_text_in_square_brackets_is_shown_as_typed(cli: Cli) -> None:
    summary = "Kald til [/api/medicinkort] fejler med [timeout]"
    out = trigger(cli, "--hold", summary=summary)
    assert f"Opened incident #1: {summary}\n" in out
    assert f"Incident #1 triggered: {summary}\n" in cli.ok("incident", "show", "1")
    assert table_rows(cli.ok("incident", "list"))[0][2] == summary


def test_guidance_from_a_file(cli: Cli, tmp_path: Path) -> None:
    guidance = tmp_path / "vejledning.txt"
    guidance.write_text("Brug papirlisten.\n\nRing til lægevagten ved tvivl.\n", encoding="utf-8")
    trigger(cli, "--hold", "--guidance-file", str(guidance))
    assert cli.incident(1).guidance == "Brug papirlisten.\n\nRing til lægevagten ved tvivl."


@pytest.mark.parametrize(
    ("given", "stored", "shown"),
    [
        ("2021-12-31 03:00", datetime(2021, 12, 31, 2, 0, tzinfo=UTC), "2021-12-31 03:00 CET"),
        ("2025-07-01 10:00", datetime(2025, 7, 1, 8, 0, tzinfo=UTC), "2025-07-01 10:00 CEST"),
        ("2025-07-01T10:00Z", datetime(2025, 7, 1, 10, 0, tzinfo=UTC), "2025-07-01 12:00 CEST"),
    ],
)
def test_times_are_danish_local_time(cli: Cli, given: str, stored: datetime, shown: str) -> None:
    cli.ok("incident", "trigger", "--summary", "FMK er nede", "--down-since", given, "--hold")
    assert cli.incident(1).down_since == stored
    assert f"Down since {shown} · " in cli.ok("incident", "show", "1")
    assert table_rows(cli.ok("incident", "list"))[0][3] == shown


def test_hold_then_confirm_with_an_edited_summary(cli: Cli) -> None:
    out = trigger(cli, "--hold", "--as", "khs@medcom.dk")
    assert out.splitlines() == [f"Opened incident #1: {SUMMARY}", HELD, NO_DAEMON_NOTHING_QUEUED]
    held = cli.incident(1)
    assert (held.release, held.informed_at, held.next_update_at) == ("after_confirm", None, None)
    assert cli.row_counts()["notice"] == 0

    edited = "FMK svarer langsomt – opslag tager over et minut"
    out = cli.ok("incident", "confirm", "1", "--summary", edited, "--as", "ibs@medcom.dk")

    row = cli.incident(1)
    assert (row.informed_at is not None, row.summary, row.details) == (True, edited, DETAILS)
    assert out.splitlines()[:2] == [
        "Incident #1: the initial notice was confirmed by ibs@medcom.dk.",
        QUEUED_INITIAL,
    ]
    assert [(n.sequence, n.kind, n.created_by) for n in cli.notices(1)] == [
        (1, "initial", "ibs@medcom.dk")
    ]
    assert [(t.kind, t.actor) for t in cli.timeline(1)] == [
        ("triggered", "khs@medcom.dk"),
        ("held", "khs@medcom.dk"),
        ("confirmed", "ibs@medcom.dk"),
        ("notice", "ibs@medcom.dk"),
    ]
    with transaction(cli.engine) as session:
        subject = session.scalar(select(col(MessageRow.subject)).limit(1))
    assert subject == f"[FMK-nedbrud #1] {edited}"


def test_ack_records_the_owner_and_a_second_ack_names_them(cli: Cli) -> None:
    trigger(cli, "--hold")
    out = cli.ok("incident", "ack", "1", "--as", "ibs@medcom.dk")
    assert out.splitlines()[0] == "Incident #1 acknowledged by ibs@medcom.dk, who now owns it."
    assert out.splitlines()[-1] == NO_DAEMON_NOTHING_QUEUED
    row = cli.incident(1)
    assert (row.status, row.owner) == ("acknowledged", "ibs@medcom.dk")
    before = cli.row_counts()

    result = cli("incident", "ack", "1", "--as", "khs@medcom.dk")

    assert result.exit_code == 1
    assert "already acknowledged by ibs@medcom.dk" in result.stderr
    assert result.stdout == ""
    assert cli.incident(1).owner == "ibs@medcom.dk"
    assert cli.row_counts() == before


def test_update_sends_the_message_and_restarts_the_interval(cli: Cli) -> None:
    trigger(cli)
    message = "SDS forventer, at FMK kører igen kl. 06. Fejlen er fundet på en databaseserver."
    out = cli.ok("incident", "update", "1", "--message", message, "--as", "ibs@medcom.dk")

    row = cli.incident(1)
    assert out.splitlines() == [
        "Incident #1: update posted by ibs@medcom.dk.",
        "Queued the update notice for 98 municipalities, 3 vendor copies.",
        f"Next update due {local(row.next_update_at)}.",
        NO_DAEMON,
    ]
    assert row.updates_sent == 1
    assert row.last_notice_at is not None
    assert row.next_update_at == row.last_notice_at + timedelta(hours=2)
    assert [(n.sequence, n.kind, n.message) for n in cli.notices(1)] == [
        (1, "initial", None),
        (2, "update", message),
    ]
    assert ("update", "ibs@medcom.dk", message) in [
        (t.kind, t.actor, t.text) for t in cli.timeline(1)
    ]


def test_resolve_with_up_since_in_local_time(cli: Cli) -> None:
    trigger(cli)
    out = cli.ok(
        "incident", "resolve", "1", "--up-since", "2022-01-01 09:30",
        "--message", "Afstem medicinændringer fra nedbruddet.",
    )  # fmt: skip
    assert out.splitlines() == [
        f"Incident #1 resolved by {DUTY}: FMK runs again.",
        "Queued the all_clear notice for 98 municipalities, 3 vendor copies.",
        NO_DAEMON,
    ]
    row = cli.incident(1)
    assert row.status == "resolved"
    assert row.closed_at == datetime(2022, 1, 1, 8, 30, tzinfo=UTC)
    assert row.next_update_at is None
    assert [n.kind for n in cli.notices(1)] == ["initial", "all_clear"]
    assert " · closed 2022-01-01 09:30 CET\n" in cli.ok("incident", "show", "1")


def test_cancel_with_a_reason_sends_a_correction(cli: Cli) -> None:
    trigger(cli)
    reason = "Falsk alarm: fejl i overvågningen, FMK har kørt hele tiden."
    out = cli.ok("incident", "cancel", "1", "--reason", reason)
    assert out.splitlines()[:2] == [
        f"Incident #1 cancelled by {DUTY} as a false alarm.",
        "Queued the correction notice for 98 municipalities, 3 vendor copies.",
    ]
    assert cli.incident(1).status == "cancelled"
    assert [(n.kind, n.message) for n in cli.notices(1)] == [
        ("initial", None),
        ("correction", reason),
    ]
    assert ("cancelled", DUTY, reason) in [(t.kind, t.actor, t.text) for t in cli.timeline(1)]


def test_cancel_of_a_held_incident_tells_nobody(cli: Cli) -> None:
    trigger(cli, "--hold")
    out = cli.ok("incident", "cancel", "1", "--reason", "Testalarm")
    assert out.splitlines() == [
        f"Incident #1 cancelled by {DUTY} as a false alarm.",
        NO_DAEMON_NOTHING_QUEUED,
    ]
    assert cli.row_counts()["notice"] == 0


def test_list_and_list_open(cli: Cli) -> None:
    assert cli.ok("incident", "list") == "No incidents.\n"
    trigger(cli, "--hold", summary="Første nedbrud")
    cli.ok("incident", "resolve", "1")
    trigger(cli, summary="Andet nedbrud")
    cli.ok("incident", "ack", "2", "--as", "ibs@medcom.dk")

    rows = table_rows(cli.ok("incident", "list"))
    assert [row[:3] for row in rows] == [
        ["2", "acknowledged", "Andet nedbrud"],
        ["1", "resolved", "Første nedbrud"],
    ]
    assert rows[0][4] == "ibs@medcom.dk"
    assert rows[0][5] == local(cli.incident(2).next_update_at)
    assert (rows[0][6], rows[1][5]) == ("–", "–")
    assert rows[1][6] == local(cli.incident(1).closed_at)
    assert [row[0] for row in table_rows(cli.ok("incident", "list", "--open"))] == ["2"]


def test_a_second_open_incident_is_refused(cli: Cli) -> None:
    trigger(cli, summary="Første nedbrud")
    before = cli.row_counts()
    result = cli("incident", "trigger", "--summary", "Andet nedbrud")
    assert result.exit_code == 1
    assert "FMK incident #1 is already open" in result.stderr
    assert cli.row_counts() == before


def test_show_gives_the_timeline_with_actors_and_the_delivery_grid(
    cli: Cli, registry: Registry
) -> None:
    trigger(cli, "--as", "khs@medcom.dk")
    cli.ok("incident", "ack", "1", "--as", "ibs@medcom.dk")
    cli.ok("incident", "update", "1", "--message", "Ingen nyt fra SDS.", "--as", "ibs@medcom.dk")

    out = cli.ok("incident", "show", "1")

    assert out.startswith(f"Incident #1 acknowledged: {SUMMARY}\n")
    rows = table_rows(out)
    stored = cli.timeline(1)
    assert rows[: len(stored)] == [[local(t.at), t.actor, t.kind, t.text] for t in stored]
    assert [(t.kind, t.actor) for t in stored] == [
        ("triggered", "khs@medcom.dk"),
        ("notice", "khs@medcom.dk"),
        ("acknowledged", "ibs@medcom.dk"),
        ("update", "ibs@medcom.dk"),
        ("notice", "ibs@medcom.dk"),
    ]
    grid = rows[len(stored) :]
    assert len(grid) == 98 + 3
    assert ["101", "København", "… pending", "… pending"] in grid
    assert ["vendor", "KMD", "… pending", "… pending"] in grid
    assert ["code", "recipient", "#1 initial", "#2 update"] in table_rows(out, "┃")
    total = recipients_of(registry)
    assert f"#1 initial: {total} pending\n#2 update: {total} pending\n" in out


def test_the_cli_says_when_a_daemon_is_running(cli: Cli) -> None:
    register(cli.engine, datetime.now(UTC))
    assert (
        trigger(cli).splitlines()[-1] == "The daemon is running and sends the queued notices now."
    )
    held = trigger(cli, "--hold", "--drill").splitlines()
    assert "The daemon is running" not in "\n".join(held)
    assert held[-1].startswith("The initial notice is held")


async def test_triggered_from_the_cli_and_mailed_to_everyone(
    cli: Cli, sender: Sender, smtp: MailCatcher, engine: Engine, clock: FakeClock,
    registry: Registry,
) -> None:  # fmt: skip
    trigger(cli)
    await drain(sender, engine, clock)

    counts = per_recipient(smtp.received)
    for audience in audiences(registry):
        assert [counts[(a, "initial")] for a in audience.emails] == [1] * len(audience.emails)
    assert sum(counts.values()) == recipients_of(registry)
    assert len({str(parse(item)["To"]) for item in smtp.received}) == 98 + 3
    subjects = {str(parse(item)["Subject"]) for item in smtp.received}
    assert subjects == {f"[FMK-nedbrud #1] {SUMMARY}"}
    out = cli.ok("incident", "show", "1")
    assert f"#1 initial: {recipients_of(registry)} sent\n" in out
    assert all(row[2] == "✓ sent" for row in table_rows(out) if len(row) == 3)


class TestFailedDelivery:
    @pytest.fixture
    def smtp_handler(self) -> ScriptedHandler:
        return ScriptedHandler(refuse={ODENSE: ODENSE_REFUSAL})

    async def test_show_gives_the_relays_reply(
        self, cli: Cli, sender: Sender, engine: Engine, clock: FakeClock, registry: Registry
    ) -> None:
        trigger(cli)
        await drain(sender, engine, clock)

        out = cli.ok("incident", "show", "1")

        assert ["461", "Odense", "✗ FAILED"] in table_rows(out)
        assert ["751", "Aarhus", "✓ sent"] in table_rows(out)
        assert f"#1 initial: 1 failed, {recipients_of(registry) - 1} sent\n" in out
        assert f"FAILED #1 to {ODENSE} (kommune-461): {ODENSE_REFUSAL}\n" in out


# Bad input: a message naming the problem, exit code 1, and nothing changed.

FUTURE = (datetime.now(COPENHAGEN) + timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
CLOSED = "the incident is resolved; nothing more can be done with it"
REFUSALS = [
    (["show", "9"], "there is no incident #9"),
    (["ack", "9"], "Error: there is no incident #9"),
    (["update", "9", "--message", "Nyt"], "Error: there is no incident #9"),
    (["trigger", "--summary", " \t "], "summary is empty"),
    (["trigger", "--summary", "Nede", "--down-since", "i nat"], "--down-since 'i nat' is not a"),
    (["trigger", "--summary", "Nede", "--down-since", FUTURE], f"since {FUTURE} is in the future"),
    (["trigger", "--summary", "Nede", "--as", "ikke-en-mail"], "--as 'ikke-en-mail' is not an"),
    (["ack", "2", "--as", "not-an-email"], "--as 'not-an-email' is not an e-mail address"),
    (["update", "2", "--message", "Nyt", "--as", "khs@"], "--as 'khs@' is not an e-mail address"),
    (["update", "2", "--message", " "], "incident #2: message is empty"),
    (["cancel", "2", "--reason", ""], "incident #2: reason is empty"),
    (["confirm", "2"], "incident #2: the initial notice has already been sent"),
    (["resolve", "2", "--up-since", "2021-12-30 12:00"], "since 2021-12-30 12:00 must lie between"),
    (["resolve", "2", "--up-since", "kl. 6"], "--up-since 'kl. 6' is not a time"),
    (["ack", "1"], f"incident #1: {CLOSED}"),
    (["confirm", "1"], f"incident #1: {CLOSED}"),
    (["update", "1", "--message", "Nyt"], f"incident #1: {CLOSED}"),
    (["resolve", "1"], f"incident #1: {CLOSED}"),
    (["cancel", "1", "--reason", "Fejl"], f"incident #1: {CLOSED}"),
]  # fmt: skip


def snapshot(cli: Cli) -> tuple[dict[str, int], list[dict[str, object]]]:
    return cli.row_counts(), [cli.incident(n).model_dump() for n in (1, 2)]


def test_bad_input_is_refused_and_changes_nothing(cli: Cli, subtests: pytest.Subtests) -> None:
    trigger(cli, "--hold")
    cli.ok("incident", "resolve", "1")  # 1: resolved
    trigger(cli)  # 2: open, the municipalities are told
    for args, error in REFUSALS:
        with subtests.test(" ".join(args)):
            before = snapshot(cli)

            result = cli("incident", *args)

            assert (result.exit_code, result.stdout) == (1, "")
            assert error in result.stderr
            assert snapshot(cli) == before


def test_an_update_before_the_municipalities_were_told_is_refused(cli: Cli) -> None:
    trigger(cli, "--hold")
    before = cli.row_counts()
    result = cli("incident", "update", "1", "--message", "Nyt")
    assert result.exit_code == 1
    assert "incident #1: the municipalities have not been told yet" in result.stderr
    assert cli.row_counts() == before


def test_a_guidance_file_that_does_not_exist(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "vejledning.txt"
    result = cli("incident", "trigger", "--summary", "Nede", "--guidance-file", str(missing))
    assert result.exit_code == 2
    assert "--guidance-file" in result.stderr
    assert "does not exist" in result.stderr
    assert cli.row_counts()["incident"] == 0


def test_a_guidance_file_that_is_not_utf8(cli: Cli, tmp_path: Path) -> None:
    latin1 = tmp_path / "vejledning.txt"
    latin1.write_bytes("Brug papirlisten på plejecentret.".encode("latin-1"))
    result = cli("incident", "trigger", "--summary", "Nede", "--guidance-file", str(latin1))
    assert result.exit_code == 1
    assert f"--guidance-file {latin1} is not UTF-8 text" in result.stderr
    assert cli.row_counts()["incident"] == 0


@pytest.mark.parametrize(
    ("broken", "problem"),
    [
        ("{{ incident.sumary }}", "line 4: undefined variable: "),
        ("{{ incident.summary }", "line 4: syntax error: "),
    ],
)
def test_a_broken_template_stops_the_trigger(
    cli: Cli, tmp_path: Path, broken: str, problem: str
) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    body = templates / "mail/initial/body.txt.j2"
    line = "{{ say.headline(say.fmk_state()) }}"
    body.write_text(body.read_text().replace(line, broken), encoding="utf-8")

    result = cli(
        "incident", "trigger", "--summary", "Nede", DISPATCHER_TEMPLATES_DIR=str(templates)
    )

    assert result.exit_code == 1
    assert f"{body}, {problem}" in result.stderr
    assert set(cli.row_counts().values()) == {0}


def test_templates_without_the_standard_guidance(cli: Cli, tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES / "mail", templates / "mail")
    result = cli(
        "incident", "trigger", "--summary", "Nede", DISPATCHER_TEMPLATES_DIR=str(templates)
    )
    assert result.exit_code == 1
    assert f"{templates}/guidance/standard.txt: cannot read the standard guidance" in result.stderr
    assert set(cli.row_counts().values()) == {0}


@pytest.mark.parametrize(
    "args",
    [
        ["incident", "list"],
        ["incident", "show", "1"],
        ["incident", "trigger", "--summary", "Nede"],
        ["templates", "preview", "initial", "--incident", "1"],
    ],
)
def test_an_unmigrated_database(tmp_path: Path, args: list[str]) -> None:
    path = tmp_path / "tom.db"
    path.touch()
    result = CliRunner().invoke(app, args, env=env_for(f"sqlite:///{path}"))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"Error: cannot use the database sqlite:///{path}: no schema yet (it was never "
        "migrated): run `dispatcher db upgrade` (`dispatcher serve` also migrates when it starts)"
    ]
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == []


class TestUsageErrors:
    """An unknown option is named, and only an option that looks like a typo of it is offered."""

    @pytest.mark.parametrize(
        ("args", "suggested"),
        [
            (["incident", "trigger", "--foo"], None),
            (["--foo", "incident", "list"], None),
            (["incident", "trigger", "--summery", "x"], "--summary"),
            (["incident", "trigger", "--dril"], "--drill"),
        ],
    )
    def test_suggestions_look_like_the_typo(
        self, cli: Cli, args: list[str], suggested: str | None
    ) -> None:
        result = cli(*args)
        assert result.exit_code == 2
        unknown = next(a for a in args if a.startswith("--"))
        assert f"No such option: {unknown}" in result.stderr
        if suggested is None:
            assert "Possible options" not in result.stderr
        else:
            assert f"(Possible options: {suggested})" in result.stderr
