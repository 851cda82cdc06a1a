"""What one check of `dispatcher doctor` found: pass, warn or fail, what is wrong and the fix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    PASS = "pass"  # noqa: S105  (a check result, not a password)
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class CheckResult:
    """One line of the doctor's list. `fix` says what to do when the status is not pass;
    `details` are further lines (the problems found, one each)."""

    name: str
    status: Status
    message: str
    fix: str | None = None
    details: tuple[str, ...] = ()


def passed(name: str, message: str, details: Sequence[str] = ()) -> CheckResult:
    return CheckResult(name, Status.PASS, message, details=tuple(details))


def warned(name: str, message: str, fix: str, details: Sequence[str] = ()) -> CheckResult:
    return CheckResult(name, Status.WARN, message, fix, tuple(details))


def failed(name: str, message: str, fix: str, details: Sequence[str] = ()) -> CheckResult:
    return CheckResult(name, Status.FAIL, message, fix, tuple(details))


def not_checked(name: str, because: str) -> CheckResult:
    """A check that could not run because an earlier one failed: a failure, never a pass.
    The earlier check says what to fix."""
    return CheckResult(name, Status.FAIL, f"not checked: {because}")


def any_failed(results: Sequence[CheckResult]) -> bool:
    return any(result.status is Status.FAIL for result in results)
