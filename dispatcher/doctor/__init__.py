"""`dispatcher doctor`: is this installation ready to carry out the preparedness plan?

`diagnose` runs every check in order and returns one result per check. A check never crashes
the doctor: one that cannot run because an earlier one failed is reported as "not checked"
(a failure), and an unexpected error inside a check becomes that check's failure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from dispatcher.clock import Clock
from dispatcher.config import ConfigError, load_settings
from dispatcher.defaults import origin
from dispatcher.doctor import checks, database
from dispatcher.doctor.bounces import NAME as BOUNCES
from dispatcher.doctor.bounces import bounce_mailbox
from dispatcher.doctor.result import CheckResult, Status, any_failed, failed, not_checked
from dispatcher.doctor.sms import NAME as SMS
from dispatcher.doctor.sms import sms_gateway
from dispatcher.doctor.smtp import AUTH, RELAY, TLS, smtp

__all__ = ["CheckResult", "Status", "any_failed", "diagnose"]

T = TypeVar("T")

CHECKS = (
    "configuration",
    "contacts",
    "placeholders",
    "database",
    "migrations",
    RELAY,
    TLS,
    AUTH,
    SMS,
    BOUNCES,
    "templates",
    "clock",
)


def diagnose(
    config_file: Path | None, clock: Clock, flags: Mapping[str, Path]
) -> list[CheckResult]:
    """Every check, in the order of `CHECKS`; settings as the CLI loads them (`flags`: the
    settings given on the command line)."""
    try:
        settings = load_settings(config_file, **flags)
    except ConfigError as exc:
        because = "the configuration does not load"
        return [
            checks.configuration_error(exc),
            *(not_checked(name, because) for name in CHECKS[1:]),
        ]
    contacts_from = origin(settings, "contacts", flags)
    registry, contacts = providing("contacts", lambda: checks.contacts(settings, contacts_from))
    results = [
        *safely(["configuration"], lambda: [checks.configuration(settings)]),
        contacts,
        *safely(["placeholders"], lambda: [checks.placeholders(settings)]),
    ]
    templates_from = origin(settings, "templates", flags)
    engine, found = providing("database", lambda: database.database(settings))
    try:
        results.append(found)
        results += safely(["migrations"], lambda: [database.migrations(engine)])
        results += safely([RELAY, TLS, AUTH], lambda: smtp(settings))
        results += safely([SMS], lambda: [sms_gateway(settings, registry)])
        results += safely([BOUNCES], lambda: [bounce_mailbox(settings)])
        results += safely(
            ["templates"], lambda: [checks.templates(settings, registry, templates_from)]
        )
        results += safely(["clock"], lambda: [database.clock(engine, clock)])
    finally:
        if engine is not None:
            engine.dispose()
    return results


def safely(names: list[str], check: Callable[[], list[CheckResult]]) -> list[CheckResult]:
    """`check()`; an unexpected error becomes a failure of each of `names`."""
    try:
        return check()
    except Exception as exc:  # the doctor reports whatever goes wrong; it does not crash
        return [_broken(name, exc) for name in names]


def providing(
    name: str, check: Callable[[], tuple[T | None, CheckResult]]
) -> tuple[T | None, CheckResult]:
    """`check()`, which also returns what later checks use; an unexpected error becomes the
    check's failure, and later checks get nothing."""
    try:
        return check()
    except Exception as exc:  # as in `safely`
        return None, _broken(name, exc)


def _broken(name: str, exc: Exception) -> CheckResult:
    return failed(
        name,
        f"the check itself failed: {type(exc).__name__}: {exc}",
        "this is a bug in the doctor or a broken installation; report it with this message",
    )
