"""The doctor's checks of the database, its migrations, and the clock and time zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from dispatcher.clock import Clock
from dispatcher.config import Settings
from dispatcher.daemon.leadership import TTL
from dispatcher.doctor.result import CheckResult, failed, not_checked, passed
from dispatcher.store.db import make_engine
from dispatcher.store.migrate import UPGRADE, current_revision, head_revision, is_known

ZONE = "Europe/Copenhagen"
# Replicas compare lease and link expiry times written with their own clocks; with every host
# this close to the database server's clock, two replicas differ by at most twice as much.
MAX_CLOCK_SKEW = timedelta(seconds=2)
URL_FIX = "check DISPATCHER_DATABASE_URL, and that the database server runs and lets this host in"


def safe_url(url: str) -> str:
    """`url` with any password masked, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url)


def database(settings: Settings) -> tuple[Engine | None, CheckResult]:
    """The database answers. A SQLite file must exist already: the doctor creates nothing."""
    url = settings.database_url
    shown = safe_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        problem = f"DISPATCHER_DATABASE_URL {shown} is not a database URL: {exc}"
        return None, failed("database", problem, URL_FIX)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database or "")
        if not path.is_file():
            where = "" if path.is_absolute() else f" ({path.absolute()})"
            problem = f"the SQLite database file {path}{where} does not exist"
            return None, failed(
                "database", problem, f"{UPGRADE}, or correct DISPATCHER_DATABASE_URL"
            )
    try:
        engine = make_engine(url)
        with engine.connect() as conn:
            version = _server_version(conn)
    except (SQLAlchemyError, ImportError) as exc:
        problem = f"cannot use the database {shown}: {_first_line(exc)}"
        return None, failed("database", problem, URL_FIX)
    return engine, passed("database", f"{shown} answers ({version})")


def _server_version(conn: Connection) -> str:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return f"PostgreSQL {conn.scalar(text('SHOW server_version'))}"
    if dialect == "sqlite":
        return f"SQLite {conn.scalar(text('SELECT sqlite_version()'))}"
    return dialect


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def migrations(engine: Engine | None) -> CheckResult:
    """The schema is at the newest migration this version of the dispatcher knows."""
    if engine is None:
        return not_checked("migrations", "the database does not answer (see database)")
    head = head_revision(engine)
    current = current_revision(engine)
    if current == head:
        return passed("migrations", f"the schema is at the newest revision, {head}")
    if current is None:
        return failed(
            "migrations", f"the database has no schema (no revision; newest is {head})", UPGRADE
        )
    if not is_known(engine, current):
        return failed(
            "migrations",
            f"the database is at revision {current}, which this dispatcher does not know "
            f"(its newest is {head}): a newer version migrated it",
            "run the dispatcher version that matches the database, or restore a backup",
        )
    return failed(
        "migrations", f"the database is at revision {current}, not the newest, {head}", UPGRADE
    )


def clock(engine: Engine | None, clock: Clock) -> CheckResult:
    """Copenhagen time resolves (tzdata); on PostgreSQL this host's clock agrees with the
    server's within `MAX_CLOCK_SKEW`."""
    try:
        zone = ZoneInfo(ZONE)
    except ZoneInfoNotFoundError:
        return failed(
            "clock",
            f"the time zone {ZONE} is not known: notices would show wrong times",
            "install the `tzdata` package (pip install tzdata) or the system's time zone data",
        )
    now = clock.now()
    local = now.astimezone(zone)
    offset = local.strftime("%z")
    shown = f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()} (UTC{offset[:3]}:{offset[3:]})"
    message = f"{ZONE}: {shown}"
    if engine is None or engine.dialect.name != "postgresql":
        detail = "the database is SQLite, on this host: no second clock to compare"
        if engine is None:
            detail = "database clock not compared: the database does not answer"
        return passed("clock", message, [detail])
    try:
        with engine.connect() as conn:
            # Timed around the query alone: connecting (a TLS handshake, a slow network)
            # would move the midpoint away from the moment the server read its clock.
            before = clock.now()
            server: datetime = conn.scalar(text("SELECT clock_timestamp()"))
            after = clock.now()
    except SQLAlchemyError as exc:
        return failed(
            "clock", f"cannot read the PostgreSQL server's clock: {_first_line(exc)}", URL_FIX
        )
    skew = server - (before + (after - before) / 2)
    compared = _compared(skew)
    if abs(skew) > MAX_CLOCK_SKEW:
        return failed(
            "clock",
            f"{compared} (at most {MAX_CLOCK_SKEW.total_seconds():.0f} s): the leader lease "
            f"(valid {TTL.total_seconds():.0f} s) and the expiry of acknowledgement links "
            "depend on agreeing clocks",
            "synchronise this host and the database server with NTP (chrony or systemd-timesyncd)",
            [message],
        )
    return passed("clock", message, [compared])


def _compared(skew: timedelta) -> str:
    """How this host's clock stands to the database server's, `skew` being server − host."""
    seconds = skew.total_seconds()
    if round(seconds, 1) == 0:
        return "this host's clock agrees with the PostgreSQL server's (within 0.1 s)"
    side = "behind" if seconds > 0 else "ahead of"
    return f"this host's clock is {abs(seconds):.1f} s {side} the PostgreSQL server's"
