"""All configuration in one pydantic-settings model.

Sources, strongest first: keyword arguments, `DISPATCHER_*` environment variables, the TOML file
named by `--config` or `DISPATCHER_CONFIG`, then the defaults below (embedded, for one host).
"""

from __future__ import annotations

import ipaddress
import os
import re
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from dispatcher.bounces.settings import BounceSettings
from dispatcher.defaults import packaged
from dispatcher.durations import Duration
from dispatcher.incidents.settings import FollowUpSettings
from dispatcher.integrations.settings import IntegrationSettings
from dispatcher.maintenance.settings import MaintenanceSettings
from dispatcher.paging.settings import SmsSettings

ENV_PREFIX = "DISPATCHER_"
DEVELOPMENT_LINK_SECRET = "development-only-link-secret"  # noqa: S105  (refused in production)
MIN_SECRET_BYTES = 32  # 256 bits, as much as HMAC-SHA256 can use
DATABASE_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg")
URL_SCHEME = re.compile(r"([\w+]+)://")
SUPPORTED_DATABASES = "only sqlite:///PATH and postgresql://USER@HOST/DB are supported"


class SmtpTls(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


class ConfigError(Exception):
    """The configuration cannot be used; the message says which setting and why."""


class Settings(
    SmsSettings, BounceSettings, MaintenanceSettings, IntegrationSettings, FollowUpSettings
):
    """Every setting; the SMS gateway's are in `SmsSettings`, the bounce reader's in
    `BounceSettings`, the maintenance windows' in `MaintenanceSettings`, Alertmanager's and
    PagerDuty's in `IntegrationSettings`."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    env: Literal["development", "production"] = Field(
        "development",
        description="`production` refuses placeholder contacts, weak secrets and unsafe SMTP.",
    )
    database_url: str = Field(
        "sqlite:///var/dispatcher.db",
        description="SQLAlchemy URL: `sqlite:///PATH` or `postgresql+psycopg://USER@HOST/DB`.",
    )
    smtp_host: str = Field("localhost", description="Mail relay host.")
    smtp_port: int = Field(1025, ge=1, le=65535, description="Mail relay port.")
    smtp_username: str | None = Field(
        None, description="SMTP AUTH user name, if the relay needs it."
    )
    smtp_password: SecretStr | None = Field(None, description="SMTP AUTH password (never logged).")
    smtp_tls: SmtpTls = Field(
        SmtpTls.NONE, description="`none`, `starttls` or `tls` (implicit TLS)."
    )
    smtp_allow_plaintext: bool = Field(
        False, description="Allow `smtp_tls=none` to a relay that is not on loopback."
    )
    smtp_ca_file: Path | None = Field(
        None, description="CA bundle to verify the relay's certificate (default: system CAs)."
    )
    smtp_timeout: float = Field(30.0, gt=0, description="Seconds for each SMTP command.")
    http_host: str = Field("127.0.0.1", description="Address the HTTP server listens on.")
    http_port: int = Field(8080, ge=1, le=65535, description="Port the HTTP server listens on.")
    http_max_connections: int | None = Field(
        None,
        ge=1,
        description="Most HTTP connections at once; beyond them a 503. Default: the open-file "
        "limit less a reserve for the database, SMTP and logs (and never more than that).",
    )
    http_header_timeout: Duration = Field(
        timedelta(seconds=10),
        gt=timedelta(0),
        description="A request's headers must arrive within this; else 408 and the connection "
        "is closed (an idle connection is just closed).",
    )
    http_body_timeout: Duration = Field(
        timedelta(seconds=20),
        gt=timedelta(0),
        description="A request's body must arrive within this after its headers; else 408 and "
        "the connection is closed.",
    )
    http_keepalive: Duration = Field(
        timedelta(minutes=2),
        ge=timedelta(seconds=1),
        description="How long an idle HTTP connection stays open (whole seconds): longer than "
        "clients' and proxies' own idle limits, so that they close it first.",
    )
    update_interval: Duration = Field(
        timedelta(hours=2), description="Time between municipal updates while FMK is down."
    )
    contacts_dir: Path = Field(
        default_factory=lambda: packaged("contacts"),
        description="Folder of the contact registry (default: the packaged copy).",
    )
    templates_dir: Path = Field(
        default_factory=lambda: packaged("templates"),
        description="Folder of the Jinja2 templates (default: the packaged copy).",
    )
    actor: str | None = Field(
        None, description="Who CLI actions are recorded as when `--as` is not given."
    )
    send_concurrency: int = Field(4, ge=1, le=64, description="SMTP transactions at once.")
    retry_initial: Duration = Field(
        timedelta(seconds=10), description="First wait after a temporary SMTP failure."
    )
    retry_max: Duration = Field(
        timedelta(minutes=10), description="Longest wait between two attempts."
    )
    retry_deadline: Duration = Field(
        timedelta(hours=24), description="Give up on a delivery this long after it was enqueued."
    )
    claim_timeout: Duration = Field(
        timedelta(minutes=5),
        description="A delivery claimed this long ago without an outcome is tried again.",
    )
    tick_seconds: float = Field(
        5.0, gt=0, description="How often the daemon looks for due work written by others."
    )
    log_level: str = Field("INFO", description="Python log level name.")
    public_url: str = Field(
        "http://127.0.0.1:8080",
        description="Base URL of this daemon as the on-call staff reach it.",
    )
    link_secret: SecretStr = Field(
        SecretStr(DEVELOPMENT_LINK_SECRET),
        description="Key that signs acknowledgement links: at least 32 bytes (production "
        "refuses the default).",
    )
    ack_link_ttl: Duration = Field(
        timedelta(hours=24), description="How long an acknowledgement link in a page works."
    )
    webhook_secret: SecretStr | None = Field(
        None,
        description="Shared secret for SDS's webhook signatures: at least 32 bytes (required "
        "in production).",
    )
    webhook_max_body: int = Field(65536, ge=1024, description="Largest webhook body, in bytes.")
    webhook_tolerance: Duration = Field(
        timedelta(minutes=5), description="Largest clock difference accepted in a signature."
    )
    municipal_release: Literal["immediate", "after_ack", "after_confirm"] = Field(
        "after_confirm",
        description="After an SDS signal, when the municipalities are told (the fail-safe "
        "tells them anyway).",
    )
    page_interval: Duration = Field(
        timedelta(minutes=15), description="Time between paging rounds until someone acknowledges."
    )
    failsafe_after: Duration = Field(
        timedelta(minutes=30),
        description="After the signal, municipalities are told even without acknowledgement.",
    )
    auto_resolve: bool = Field(
        True, description="SDS's `resolved` sends the all-clear itself; false asks the owner."
    )
    recovery_window: Duration = Field(
        timedelta(minutes=15),
        description="FMK must stay up this long after SDS's `resolved` before the all-clear.",
    )
    heartbeat_window: Duration = Field(
        timedelta(minutes=10), description="Page when no SDS heartbeat has come for this long."
    )

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        # The scheme as SQLAlchemy's URL parser reads it, without importing SQLAlchemy: the
        # CLI's read-only commands and `--help` load the settings, not the database layer.
        scheme = URL_SCHEME.match(value)
        if scheme is None:
            raise ValueError(f"not a database URL: {SUPPORTED_DATABASES}")
        driver = scheme.group(1)
        if driver not in DATABASE_DRIVERS:
            raise ValueError(f"{driver}:// is not supported: {SUPPORTED_DATABASES}")
        return value

    @field_validator("link_secret")
    @classmethod
    def _link_secret_not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError(
                "is blank: no acknowledgement link can be signed with it; set at least "
                f"{MIN_SECRET_BYTES} random bytes (e.g. `openssl rand -hex 32`), or unset it "
                "in development"
            )
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"unknown log level {value!r}")
        return upper

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    def smtp_is_loopback(self) -> bool:
        if self.smtp_host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.smtp_host).is_loopback
        except ValueError:
            return False

    def smtp_problems(self) -> list[str]:
        """Refusals that hold in every environment."""
        if (
            self.smtp_tls is SmtpTls.NONE
            and not self.smtp_is_loopback()
            and not self.smtp_allow_plaintext
        ):
            return [
                f"DISPATCHER_SMTP_TLS=none to {self.smtp_host}, which is not loopback: "
                "set DISPATCHER_SMTP_TLS=starttls or tls, or DISPATCHER_SMTP_ALLOW_PLAINTEXT=true"
            ]
        return []


def secret_weakness(secret: SecretStr | None) -> str | None:
    """Why a shared secret cannot be relied on (not set, blank, or shorter than
    `MIN_SECRET_BYTES` in UTF-8 once surrounding white space is stripped), or None."""
    if secret is None:
        return "is not set"
    value = secret.get_secret_value().strip()
    if not value:
        return "is blank"
    size = len(value.encode("utf-8"))
    if size < MIN_SECRET_BYTES:
        return f"is only {size} byte{'s' if size != 1 else ''} long"
    return None


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Read the settings; `config_file` (or `DISPATCHER_CONFIG`) names an optional TOML file."""
    path = config_file or (Path(p) if (p := os.environ.get(f"{ENV_PREFIX}CONFIG")) else None)
    if path is not None and not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    cls: type[Settings] = Settings
    if path is not None:
        config = {**Settings.model_config, "toml_file": path}
        cls = type("Settings", (Settings,), {"model_config": config})
    try:
        return cls(**overrides)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, path)) from exc


def describe_validation_error(exc: ValidationError, path: Path | None) -> str:
    where = f" (environment or {path})" if path else " (environment)"
    lines = [f"invalid configuration{where}:"]
    for err in exc.errors():
        name = ".".join(str(part) for part in err["loc"])
        cause = err.get("ctx", {}).get("error")
        message = str(cause) if err["type"] == "value_error" and cause else err["msg"]
        lines.append(f"  {ENV_PREFIX}{name.upper()}: {message}")
    return "\n".join(lines)
