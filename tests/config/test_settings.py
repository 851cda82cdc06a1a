"""One settings model: environment over TOML over defaults, with errors that name the variable."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from dispatcher.config import ConfigError, Settings, SmtpTls, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("DISPATCHER_"):
            monkeypatch.delenv(name)


def test_defaults_are_embedded_and_safe() -> None:
    settings = load_settings()
    assert settings.env == "development"
    assert settings.database_url.startswith("sqlite:///var/")
    assert settings.update_interval == timedelta(hours=2)
    assert settings.smtp_problems() == []


def test_toml_file_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "dispatcher.toml"
    config.write_text(
        'smtp_host = "relay.medcom.example"\nsmtp_tls = "starttls"\nupdate_interval = "90m"\n'
    )
    settings = load_settings(config)
    assert settings.smtp_host == "relay.medcom.example"
    assert settings.smtp_tls is SmtpTls.STARTTLS
    assert settings.update_interval == timedelta(minutes=90)
    monkeypatch.setenv("DISPATCHER_UPDATE_INTERVAL", "PT1H")
    monkeypatch.setenv("DISPATCHER_CONFIG", str(config))
    assert load_settings().update_interval == timedelta(hours=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", timedelta(hours=2)),
        ("15m", timedelta(minutes=15)),
        ("1h30m", timedelta(minutes=90)),
        ("7200", timedelta(hours=2)),
        ("PT2H", timedelta(hours=2)),
        ("0.5", timedelta(seconds=0.5)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert Settings(update_interval=text).update_interval == expected


def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPATCHER_SMTP_PORT", "seventy")
    monkeypatch.setenv("DISPATCHER_UPDATE_INTERVAL", "2 hours")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "DISPATCHER_SMTP_PORT" in message
    assert "DISPATCHER_UPDATE_INTERVAL" in message


def test_unknown_setting_in_toml_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "dispatcher.toml"
    config.write_text('smtp_hots = "typo"\n')
    with pytest.raises(ConfigError, match="SMTP_HOTS"):
        load_settings(config)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")
