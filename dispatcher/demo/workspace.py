"""Where the demo keeps its things, and the settings it runs with.

Everything lives under `./var/`: the SQLite database `var/demo.db` (recreated each run, so the
demo repeats exactly), the mail folder `var/mail/` (old `.eml` files removed at the start) and
the daemon's log of the last run, `var/demo.log`. Mail goes only to the demo's own catcher on
loopback, whatever the configured relay; the plan's times are the defaults, whatever is
configured.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from dispatcher.config import DEVELOPMENT_LINK_SECRET, Settings, SmtpTls
from dispatcher.contacts.model import Channel, Person, Registry
from dispatcher.daemon.leadership import SecondDaemon, SqliteLock
from dispatcher.defaults import FOLDERS, flag, setting, variable
from dispatcher.mailcatcher import LOOPBACK
from dispatcher.store.db import make_engine

VAR = Path("var")
DATABASE = VAR / "demo.db"
DATABASE_URL = f"sqlite:///{DATABASE}"
MAIL = VAR / "mail"
LOG = VAR / "demo.log"
WEBHOOK_SECRET = "demo-webhook-secret"  # noqa: S105  (the demo's own SDS, on loopback)
# The demo's own SMS gateway on loopback (`paging.fake_gateway`).
SMS_TOKEN = "demo-sms-token"  # noqa: S105
SMS_SECRET = "demo-sms-webhook-secret-32-bytes-long"  # noqa: S105
# libphonenumber's example number for Denmark and its neighbours: never a real person's.
DEMO_PHONES = ("+4534412345", "+4534412346", "+4534412347", "+4534412348")
# The daemon's own tick is not needed: the demo ticks it after every jump of the clock.
TICK_SECONDS = 3600.0
# The settings the plan's timeline depends on: always their defaults in the demo.
PLAN = (
    "municipal_release",
    "update_interval",
    "page_interval",
    "failsafe_after",
    "recovery_window",
    "auto_resolve",
    "ack_link_ttl",
    "webhook_tolerance",
    "reminder_after",
    "call_list_after",
    "relay_alert_after",
    "receipt_link_ttl",
)


class WorkspaceError(Exception):
    """The demo cannot start here; the message says why and what to do."""


def missing_folders(settings: Settings) -> list[str]:
    """Why the configured contacts or templates cannot be used: each missing folder, named."""
    problems = []
    for what in FOLDERS:
        folder: Path = getattr(settings, setting(what))
        if not folder.is_dir():
            problems.append(
                f"the {what} folder {folder} does not exist: correct {flag(what)}, "
                f"{variable(what)} or `{setting(what)}` in the config file, or leave them all "
                "unset for the packaged copy"
            )
    return problems


def demo_settings(base: Settings, *, smtp_port: int, http_port: int, sms_url: str) -> Settings:
    """`base` (contacts, templates, concurrency, retries) with the demo's database, its own
    catcher as the relay and its own SMS gateway, its HTTP port, a demo webhook secret and the
    default plan."""
    update: dict[str, Any] = {name: Settings.model_fields[name].default for name in PLAN}
    update |= {
        "env": "development",
        "database_url": DATABASE_URL,
        "smtp_host": LOOPBACK,
        "smtp_port": smtp_port,
        "smtp_username": None,
        "smtp_password": None,
        "smtp_tls": SmtpTls.NONE,
        "smtp_allow_plaintext": False,
        "smtp_ca_file": None,
        "http_host": LOOPBACK,
        "http_port": http_port,
        "public_url": f"http://{LOOPBACK}:{http_port}",
        "webhook_secret": SecretStr(WEBHOOK_SECRET),
        "link_secret": SecretStr(DEVELOPMENT_LINK_SECRET),
        "tick_seconds": TICK_SECONDS,
        "sms_gateway_url": sms_url,
        "sms_token": SecretStr(SMS_TOKEN),
        "sms_webhook_secret": SecretStr(SMS_SECRET),
    }
    return base.model_copy(update=update)


def with_phones(registry: Registry) -> Registry:
    """The on-call staff and the fallback paged by SMS and mail, with the demo's phones."""
    esc = registry.escalation
    people = {p.email: p for p in (*esc.staff[:2], *esc.fallback[:1])}
    phones = dict(zip(people, DEMO_PHONES, strict=False))
    channels = (Channel.SMS, Channel.EMAIL)

    def paged(group: tuple[Person, ...]) -> tuple[Person, ...]:
        return tuple(
            replace(p, phone=phones[p.email], channels=channels) if p.email in phones else p
            for p in group
        )

    escalation = replace(
        esc, oncall=paged(esc.oncall), fallback=paged(esc.fallback), staff=paged(esc.staff)
    )
    return replace(registry, escalation=escalation)


@dataclass(frozen=True)
class Reset:
    """What `reset` removed."""

    database: bool
    messages: int


def reset() -> Reset:
    """Remove the previous run's database and `.eml` files. Refused while a daemon (another
    demo with `--serve`, or `dispatcher serve`) runs on the demo database."""
    engine = make_engine(DATABASE_URL)
    lock = SqliteLock(engine)
    try:
        lock.take()
    except SecondDaemon as exc:
        raise WorkspaceError(f"{DATABASE} is in use: {exc}; stop it first") from exc
    finally:
        engine.dispose()
    try:
        existed = DATABASE.exists()
        for path in (DATABASE, Path(f"{DATABASE}-wal"), Path(f"{DATABASE}-shm")):
            path.unlink(missing_ok=True)
    finally:
        lock.release()
    MAIL.mkdir(parents=True, exist_ok=True)
    old = [*MAIL.glob("*.eml"), *MAIL.glob("*.tmp")]
    for path in old:
        path.unlink()
    return Reset(existed, sum(p.suffix == ".eml" for p in old))
