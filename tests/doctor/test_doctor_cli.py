"""`dispatcher doctor` through the command line: what passes, what fails, and the fix it names."""

from __future__ import annotations

import json
from pathlib import Path

from dispatcher.doctor import CHECKS
from dispatcher.mailcatcher import MailCatcher, free_port
from dispatcher.store.db import make_engine
from dispatcher.store.migrate import current_revision
from tests.conftest import CONTACTS
from tests.contacts.conftest import line_of, set_line
from tests.doctor.conftest import PRODUCTION, Doctor

MARKS = ("✓", "!", "✗")


def check_lines(output: str) -> dict[str, str]:
    """The first line of each check in the doctor's list, by check name."""
    lines = {}
    for line in output.splitlines():
        if line[:1] in MARKS:
            name = line[2:].split(":", 1)[0]
            lines[name] = line
    return lines


class TestHealthySetup:
    """A migrated database, a reachable relay and finished contacts pass every check, in
    production too; the doctor sends nothing."""

    def test_every_check_passes_in_production(self, doctor: Doctor, smtp: MailCatcher) -> None:
        result = doctor(**PRODUCTION)

        assert result.exit_code == 0, result.output
        lines = check_lines(result.stdout)
        assert list(lines) == list(CHECKS)
        assert all(line.startswith("✓") for line in lines.values()), result.stdout
        assert result.stdout.splitlines()[-1] == "Ready: 12 passed, 0 warning(s), 0 failed"
        assert f"127.0.0.1:{smtp.port} answers: 220" in lines["smtp"]
        assert "the schema is at the newest revision" in lines["migrations"]
        assert "sample notices render" in lines["templates"]
        assert "Europe/Copenhagen" in lines["clock"]
        assert smtp.received == []

    def test_shipped_placeholders_are_a_warning_in_development(self, doctor: Doctor) -> None:
        result = doctor(DISPATCHER_CONTACTS_DIR=str(CONTACTS))

        assert result.exit_code == 0, result.output
        line = check_lines(result.stdout)["placeholders"]
        assert line.startswith("! placeholders: 103 .example address(es) left in")
        assert "(allowed in development)" in line
        assert (
            f"    {CONTACTS}/municipalities.csv:2: placeholder address "
            "fmk-beredskab@koebenhavn.kommune.example must be replaced"
        ) in result.stdout
        assert result.stdout.splitlines()[-1] == "Ready: 11 passed, 1 warning(s), 0 failed"

    def test_json_lists_every_check(self, doctor: Doctor) -> None:
        result = doctor("--json", DISPATCHER_CONTACTS_DIR=str(CONTACTS))

        assert result.exit_code == 0, result.output
        document = json.loads(result.stdout)
        assert document["ok"] is True
        assert document["counts"] == {"pass": 11, "warn": 1, "fail": 0}
        assert [check["name"] for check in document["checks"]] == list(CHECKS)
        placeholders = document["checks"][2]
        assert placeholders["status"] == "warn"
        assert "dispatcher contacts check" in placeholders["fix"]


class TestWrongSmtpPort:
    """A port nobody listens on fails the SMTP check, naming host:port and the settings; the
    other checks still run."""

    def test_names_host_port_and_the_settings(self, doctor: Doctor) -> None:
        port = free_port()

        result = doctor(DISPATCHER_SMTP_PORT=str(port))

        assert result.exit_code == 1
        lines = check_lines(result.stdout)
        assert lines["smtp"] == (
            f"✗ smtp: cannot connect to 127.0.0.1:{port}: connection refused: nothing listens "
            "on that port"
        )
        assert "fix: check DISPATCHER_SMTP_HOST and DISPATCHER_SMTP_PORT" in result.stdout
        assert lines["smtp-tls"] == "✗ smtp-tls: not checked: no connection to the relay (see smtp)"
        assert lines["smtp-auth"].startswith("✗ smtp-auth: not checked")
        for name in ("configuration", "database", "migrations", "templates", "clock"):
            assert lines[name].startswith("✓"), lines[name]
        assert result.stdout.splitlines()[-1] == "Not ready: 9 passed, 0 warning(s), 3 failed"


class TestDatabase:
    """An unmigrated database fails the migration check with `dispatcher db upgrade` as the
    fix; a database that does not answer leaves the migrations unchecked. The doctor changes
    neither."""

    def test_an_unmigrated_database_says_to_run_db_upgrade(
        self, healthy_env: dict[str, str | None], empty_database_url: str
    ) -> None:
        doctor = Doctor({**healthy_env, "DISPATCHER_DATABASE_URL": empty_database_url})

        result = doctor()

        assert result.exit_code == 1
        lines = check_lines(result.stdout)
        assert lines["database"].startswith("✓ database:")
        assert lines["migrations"].startswith(
            "✗ migrations: the database has no schema (no revision; newest is "
        )
        assert "fix: run `dispatcher db upgrade`" in result.stdout
        engine = make_engine(empty_database_url)
        try:
            assert current_revision(engine) is None
        finally:
            engine.dispose()

    def test_a_missing_sqlite_file_is_not_created(self, doctor: Doctor, tmp_path: Path) -> None:
        path = tmp_path / "var" / "dispatcher.db"

        result = doctor(DISPATCHER_DATABASE_URL=f"sqlite:///{path}")

        assert result.exit_code == 1
        lines = check_lines(result.stdout)
        assert lines["database"] == f"✗ database: the SQLite database file {path} does not exist"
        assert "fix: run `dispatcher db upgrade`" in result.stdout
        assert lines["migrations"] == (
            "✗ migrations: not checked: the database does not answer (see database)"
        )
        assert lines["templates"].startswith("✓")
        assert not path.parent.exists()

    def test_a_postgresql_server_that_does_not_answer(self, doctor: Doctor) -> None:
        url = f"postgresql://postgres@127.0.0.1:{free_port()}/dispatcher"

        result = doctor(DISPATCHER_DATABASE_URL=url)

        assert result.exit_code == 1
        lines = check_lines(result.stdout)
        assert lines["database"].startswith(f"✗ database: cannot use the database {url}: ")
        assert "fix: check DISPATCHER_DATABASE_URL" in result.stdout
        assert lines["migrations"].startswith("✗ migrations: not checked")
        assert lines["clock"].startswith("✓ clock")
        assert lines["smtp"].startswith("✓ smtp")


class TestPlaceholderInProduction:
    """In production one placeholder address fails, naming the address, file and line, and
    the fix."""

    def test_names_the_address_file_line_and_fix(self, doctor: Doctor, contacts_dir: Path) -> None:
        vendors = contacts_dir / "vendors.csv"
        line = line_of(vendors, "systematic,")
        set_line(vendors, line, "systematic,Systematic,cura,fmk-beredskab@systematic.example")

        result = doctor(**PRODUCTION)

        assert result.exit_code == 1
        lines = check_lines(result.stdout)
        assert lines["placeholders"] == (
            "✗ placeholders: DISPATCHER_ENV=production but 1 .example address(es) left "
            f"in {contacts_dir}: vendors.csv (1)"
        )
        assert (
            f"    {vendors}:{line}: placeholder address fmk-beredskab@systematic.example "
            "is not allowed in production"
        ) in result.stdout
        assert "fix: replace each with the real address" in result.stdout
        # Said once, under placeholders: the settings themselves are fine.
        assert lines["configuration"].startswith("✓ configuration:")
        assert lines["contacts"].startswith("✓")


class TestBrokenContacts:
    """A registry that does not load fails with file and line; the templates, which need its
    recipients, are not checked; the checks that do not need it still run."""

    def test_names_file_and_line(self, doctor: Doctor, contacts_dir: Path) -> None:
        municipalities = contacts_dir / "municipalities.csv"
        set_line(municipalities, 17, "999,Atlantis,,,fmk@atlantis.dk")

        result = doctor()

        assert result.exit_code == 1
        lines = check_lines(result.stdout)
        assert lines["contacts"].startswith(
            f"✗ contacts: the registry in {contacts_dir} (from DISPATCHER_CONTACTS_DIR) "
            "does not load: "
        )
        assert f"    {municipalities}:17: unknown municipality code 999" in result.stdout
        assert "fix: run `dispatcher contacts check` for the full list" in result.stdout
        assert lines["templates"] == (
            "✗ templates: not checked: no recipients to render for: the contacts do not load "
            "(see contacts)"
        )
        for name in ("configuration", "placeholders", "database", "smtp", "clock"):
            assert lines[name].startswith("✓"), lines[name]


class TestTemplates:
    """Every notice kind is rendered for every recipient: a template that breaks for one
    municipality fails, naming the template, the line and the recipient."""

    def test_an_error_for_one_municipality_names_template_line_and_recipient(
        self, doctor: Doctor, templates_dir: Path
    ) -> None:
        template = templates_dir / "mail" / "initial" / "body.txt.j2"
        source = template.read_text(encoding="utf-8").splitlines(keepends=True)
        source.insert(3, "{% if recipient.name == 'Aalborg' %}{{ recipient.nmae }}{% endif %}\n")
        template.write_text("".join(source), encoding="utf-8")

        result = doctor()

        assert result.exit_code == 1
        lines = check_lines(result.stdout)
        assert lines["templates"].startswith("✗ templates: 2 of 2445 sample notices do not render")
        assert f"    {template}, line 4: undefined variable: " in result.stdout
        assert "(2 notice(s), e.g. initial to 851 Aalborg)" in result.stdout
        assert "fix: correct the template named here" in result.stdout

    def test_a_drill_or_scoped_incident_that_breaks_the_layout_fails(
        self, doctor: Doctor, templates_dir: Path
    ) -> None:
        """The drill banner and the list of affected municipalities are rendered too."""
        phrases = templates_dir / "mail" / "_phrases.txt.j2"
        source = phrases.read_text(encoding="utf-8")
        broken = source.replace("{{ incident.scope_label }}", "{{ incident.scope_lable }}")
        assert broken != source
        phrases.write_text(broken, encoding="utf-8")

        result = doctor()

        assert result.exit_code == 1
        assert "undefined variable: " in result.stdout
        assert "e.g. initial (drill, scoped) to 101 København" in result.stdout

    def test_a_syntax_error_names_the_file_and_line(
        self, doctor: Doctor, templates_dir: Path
    ) -> None:
        template = templates_dir / "mail" / "update" / "subject.txt.j2"
        template.write_text("{% if incident.number %}Opdatering\n", encoding="utf-8")

        result = doctor()

        assert result.exit_code == 1
        assert check_lines(result.stdout)["templates"] == (
            f"✗ templates: 1 problem(s) in the templates in {templates_dir} "
            "(from DISPATCHER_TEMPLATES_DIR)"
        )
        assert f"    {template}, line 1: syntax error: " in result.stdout


class TestConfiguration:
    """A setting that does not validate fails with pydantic's message and nothing else is
    checked; a setting `serve` refuses fails, naming it."""

    def test_a_bad_value_names_the_setting(self, doctor: Doctor) -> None:
        result = doctor(DISPATCHER_SMTP_PORT="70000")

        assert result.exit_code == 1
        lines = result.stdout.splitlines()
        assert lines[:2] == [
            "✗ configuration: the settings do not load (environment):",
            "    DISPATCHER_SMTP_PORT: Input should be less than or equal to 65535",
        ]
        checked = check_lines(result.stdout)
        assert list(checked) == list(CHECKS)
        for name in CHECKS[1:]:
            assert checked[name] == f"✗ {name}: not checked: the configuration does not load"

    def test_production_without_webhook_secret(self, doctor: Doctor) -> None:
        result = doctor(**{**PRODUCTION, "DISPATCHER_WEBHOOK_SECRET": None})

        assert result.exit_code == 1
        assert check_lines(result.stdout)["configuration"] == (
            "✗ configuration: `dispatcher serve` would refuse to start (1 problem(s))"
        )
        assert "    DISPATCHER_WEBHOOK_SECRET is not set" in result.stdout

    def test_plaintext_to_a_remote_relay_is_refused_without_connecting(
        self, doctor: Doctor
    ) -> None:
        result = doctor(DISPATCHER_SMTP_HOST="relay.medcom.dk")

        assert result.exit_code == 1
        lines = check_lines(result.stdout)
        assert lines["configuration"].startswith("✗ configuration: `dispatcher serve` would")
        assert lines["smtp-tls"].startswith(
            "✗ smtp-tls: DISPATCHER_SMTP_TLS=none to relay.medcom.dk, which is not loopback"
        )
        assert lines["smtp"] == (
            "✗ smtp: not checked: plaintext SMTP to this relay is refused (see smtp-tls)"
        )
