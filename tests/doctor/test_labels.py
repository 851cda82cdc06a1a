"""No line of `dispatcher doctor` repeats its label ("contacts: contacts: …", "configuration:
invalid configuration …"), whatever the checks find."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dispatcher.doctor import CHECKS
from dispatcher.mailcatcher import free_port
from tests.conftest import CONTACTS
from tests.doctor.conftest import PRODUCTION, Doctor

LEAD = 2  # the words right after "label:" in which the label must not come back


def repeats_label(name: str, message: str) -> bool:
    """Whether the message's first words say the check's name (or its singular) again."""
    words = re.findall(r"[\w-]+", message.removeprefix("not checked:").lower())[:LEAD]
    return any(word in (name, name.removesuffix("s")) for word in words)


def scenarios(tmp_path: Path) -> dict[str, dict[str, str | None]]:
    """Settings under which each check passes, warns, fails or is not checked, at least once."""
    empty = tmp_path / "empty"
    empty.mkdir()
    return {
        "healthy": {},
        "shipped placeholders": {"DISPATCHER_CONTACTS_DIR": str(CONTACTS)},
        "production with placeholders": {**PRODUCTION, "DISPATCHER_CONTACTS_DIR": str(CONTACTS)},
        "production without a webhook secret": {**PRODUCTION, "DISPATCHER_WEBHOOK_SECRET": None},
        "a short secret in development": {"DISPATCHER_WEBHOOK_SECRET": "kort"},
        "a bad setting": {"DISPATCHER_SMTP_PORT": "70000"},
        "a missing config file": {"DISPATCHER_CONFIG": str(tmp_path / "none.toml")},
        "no contacts": {"DISPATCHER_CONTACTS_DIR": str(empty)},
        "no templates": {"DISPATCHER_TEMPLATES_DIR": str(empty)},
        "no database": {"DISPATCHER_DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}"},
        "no relay": {"DISPATCHER_SMTP_PORT": str(free_port())},
        "STARTTLS to a relay without it": {"DISPATCHER_SMTP_TLS": "starttls"},
        "a login the relay does not offer": {
            "DISPATCHER_SMTP_USERNAME": "fmk",
            "DISPATCHER_SMTP_PASSWORD": "hemmelig",
        },
    }


class TestLabels:
    """Every check's line reads "label: what was found" with the label said once."""

    def test_the_rule_catches_the_doubled_lines(self) -> None:
        assert repeats_label("contacts", "contacts: the registry does not load")
        assert repeats_label("configuration", "invalid configuration (environment):")
        assert repeats_label("placeholders", "103 placeholder (.example) address(es)")
        assert not repeats_label("database", "the SQLite database file x.db does not exist")
        assert not repeats_label("smtp-tls", "no TLS (DISPATCHER_SMTP_TLS=none) to localhost")

    def test_no_line_repeats_its_label(self, doctor: Doctor, tmp_path: Path) -> None:
        seen: dict[str, set[str]] = {name: set() for name in CHECKS}
        doubled = []
        for scenario, env in scenarios(tmp_path).items():
            for name, check in doctor.checks(**env).items():
                seen[name].add(check["status"])
                if repeats_label(name, check["message"]):
                    doubled.append(f"{scenario}: {name}: {check['message']}")

        assert doubled == []
        assert all(len(statuses) >= 2 for statuses in seen.values()), seen


@pytest.mark.parametrize("name", CHECKS)
def test_every_check_is_named_in_the_rule(name: str) -> None:
    assert re.fullmatch(r"[a-z]+(-[a-z]+)?", name)
