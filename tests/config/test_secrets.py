"""The webhook and link secrets are checked before the daemon starts: production refuses one
that is missing, blank or shorter than 32 bytes, naming the variable; development warns about
one that was set that way; a blank link secret, with which nothing can be signed, is refused
in every environment. The database URL must name a database the dispatcher supports."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from dispatcher.cli.app import app
from dispatcher.config import DEVELOPMENT_LINK_SECRET, ConfigError, Settings, load_settings
from dispatcher.doctor import checks
from dispatcher.doctor.result import Status
from dispatcher.mailcatcher import free_port
from dispatcher.runtime import settings_refusals, settings_warnings
from tests.conftest import CONTACTS, ROOT, TEMPLATES

STRONG = "f3b1c2d4e5a697887766554433221100"  # 32 bytes
# The production settings `dispatcher serve` accepts, but for the secrets under test.
PRODUCTION = {
    "env": "production",
    "public_url": "https://fmk-beredskab.medcom.dk",
    "webhook_secret": SecretStr(STRONG),
    "link_secret": SecretStr(STRONG[::-1]),
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("DISPATCHER_"):
            monkeypatch.delenv(name)


def production(**secrets: str | None) -> Settings:
    given = {k: None if v is None else SecretStr(v) for k, v in secrets.items()}
    return Settings.model_validate({**PRODUCTION, **given})


def test_production_accepts_32_byte_secrets() -> None:
    assert settings_refusals(production()) == []
    # Bytes, not characters: 16 × "æ" is 32 bytes of UTF-8.
    assert settings_refusals(production(webhook_secret="æ" * 16, link_secret="ø" * 16)) == []


@pytest.mark.parametrize(
    ("secret", "weakness", "consequence"),
    [
        (None, "is not set", "the webhook refuses every SDS signal (503)"),
        ("", "is blank", "the webhook refuses every SDS signal (503)"),
        ("   ", "is blank", "anyone who guesses it can send SDS signals"),
        ("x", "is only 1 byte long", "anyone who guesses it can send SDS signals"),
        (STRONG[:31], "is only 31 bytes long", "anyone who guesses it can send SDS signals"),
        ("æ" * 15, "is only 30 bytes long", "anyone who guesses it can send SDS signals"),
        (f"  {STRONG[:30]}  ", "is only 30 bytes long", "anyone who guesses it can send SDS"),
    ],
)
def test_production_refuses_a_weak_webhook_secret(
    secret: str | None, weakness: str, consequence: str
) -> None:
    (refusal,) = settings_refusals(production(webhook_secret=secret))
    assert refusal.startswith(f"DISPATCHER_WEBHOOK_SECRET {weakness}: {consequence}")
    assert refusal.endswith("use at least 32 random bytes, e.g. `openssl rand -hex 32`")


@pytest.mark.parametrize(
    ("secret", "weakness"), [("k", "is only 1 byte long"), ("æ" * 15, "is only 30 bytes long")]
)
def test_production_refuses_a_short_link_secret(secret: str, weakness: str) -> None:
    (refusal,) = settings_refusals(production(link_secret=secret))
    assert refusal == (
        f"DISPATCHER_LINK_SECRET {weakness}: acknowledgement links could be forged by guessing "
        "it; use at least 32 random bytes, e.g. `openssl rand -hex 32`"
    )


def test_production_refuses_the_development_link_secret_once() -> None:
    (refusal,) = settings_refusals(production(link_secret=DEVELOPMENT_LINK_SECRET))
    assert refusal.startswith("DISPATCHER_LINK_SECRET is the development default")


@pytest.mark.parametrize("env", ["development", "production"])
@pytest.mark.parametrize("secret", ["", "  \t "])
def test_a_blank_link_secret_is_refused_everywhere(
    monkeypatch: pytest.MonkeyPatch, env: str, secret: str
) -> None:
    monkeypatch.setenv("DISPATCHER_ENV", env)
    monkeypatch.setenv("DISPATCHER_LINK_SECRET", secret)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value).splitlines()[1] == (
        "  DISPATCHER_LINK_SECRET: is blank: no acknowledgement link can be signed with it; set "
        "at least 32 random bytes (e.g. `openssl rand -hex 32`), or unset it in development"
    )


def test_development_warns_about_a_weak_secret_that_was_set() -> None:
    weak = Settings(webhook_secret=SecretStr("x"), link_secret=SecretStr("kort"))
    assert settings_refusals(weak) == []
    assert [w.split(":")[0] for w in settings_warnings(weak)] == [
        "DISPATCHER_WEBHOOK_SECRET is only 1 byte long",
        "DISPATCHER_LINK_SECRET is only 4 bytes long",
    ]
    blank = Settings(webhook_secret=SecretStr(""))
    assert [w.split(":")[0] for w in settings_warnings(blank)] == [
        "DISPATCHER_WEBHOOK_SECRET is blank"
    ]


def test_development_defaults_are_not_warned_about() -> None:
    """No webhook secret and the development link secret are how development runs."""
    assert settings_warnings(Settings()) == []
    assert settings_warnings(production(webhook_secret="x")) == []  # refused there instead


def test_the_doctor_shows_the_development_warning() -> None:
    settings = Settings(webhook_secret=SecretStr("kort"))
    result = checks.configuration(settings)
    assert result.status is Status.WARN
    assert result.message.endswith(
        "1 secret(s) that production would refuse (allowed in development)"
    )
    assert list(result.details) == settings_warnings(settings)


def test_serve_refuses_weak_secrets_in_production_naming_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = {
        "DISPATCHER_ENV": "production",
        "DISPATCHER_CONTACTS_DIR": str(CONTACTS),
        "DISPATCHER_TEMPLATES_DIR": str(TEMPLATES),
        "DISPATCHER_PUBLIC_URL": "https://fmk-beredskab.medcom.dk",
        "DISPATCHER_SMTP_TLS": "starttls",
        "DISPATCHER_WEBHOOK_SECRET": "x",
        "DISPATCHER_LINK_SECRET": "hemmelig",
        "DISPATCHER_DATABASE_URL": "postgresql://127.0.0.1:1/never-reached",
    }
    result = CliRunner().invoke(app, ["serve"], env=env)

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: refusing to start:\n")
    assert "  DISPATCHER_WEBHOOK_SECRET is only 1 byte long: " in result.stderr
    assert "  DISPATCHER_LINK_SECRET is only 8 bytes long: " in result.stderr
    assert "hemmelig" not in result.output


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///var/dispatcher.db",
        "sqlite://",
        "postgresql://postgres@db.medcom.dk/fmk",
        "postgresql+psycopg://postgres@db.medcom.dk:5433/fmk",
    ],
)
def test_supported_database_urls(url: str) -> None:
    assert Settings(database_url=url).database_url == url


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("mysql://fmk:hemmelig@db/fmk", "mysql:// is not supported"),
        ("postgres://fmk:hemmelig@db/fmk", "postgres:// is not supported"),
        ("postgresql+psycopg2://fmk:hemmelig@db/fmk", "postgresql+psycopg2:// is not supported"),
        ("fmk:hemmelig@db/fmk", "not a database URL"),
    ],
)
def test_other_database_urls_are_refused_without_the_password(url: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(database_url=url)
    assert str(caught.value).splitlines()[1] == (
        f"  DISPATCHER_DATABASE_URL: {problem}: only sqlite:///PATH and "
        "postgresql://USER@HOST/DB are supported"
    )
    assert "hemmelig" not in str(caught.value)


@pytest.mark.slow
def test_serve_logs_the_development_warning_at_start() -> None:
    """A real process (in-process, the daemon's half-started HTTP socket would outlive the
    test): the warning is logged, then the database it cannot reach stops it."""
    env = {
        "PATH": "/usr/bin:/bin",
        "DISPATCHER_CONTACTS_DIR": str(CONTACTS),
        "DISPATCHER_TEMPLATES_DIR": str(TEMPLATES),
        "DISPATCHER_WEBHOOK_SECRET": "x",
        "DISPATCHER_DATABASE_URL": "postgresql://127.0.0.1:1/never-reached",
        "DISPATCHER_HTTP_PORT": str(free_port()),
    }
    completed = subprocess.run(
        [sys.executable, "-m", "dispatcher", "serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    warning, *failure = completed.stderr.splitlines()
    event = json.loads(warning)
    assert (event["level"], event["event"]) == ("warning", "settings.warning")
    assert event["problem"].startswith("DISPATCHER_WEBHOOK_SECRET is only 1 byte long: ")
    assert failure[0].startswith("Error: cannot use the database postgresql://127.0.0.1:1/")
    assert completed.returncode == 1
