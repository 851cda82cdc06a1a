"""The scope options of `incident trigger`: which municipalities an outage hits, and, for an
EOJ scope, whether the municipalities whose system is not registered are told.

Most municipalities' EOJ system may be unknown to the registry. An EOJ scope that would
silently include them mails far more municipalities than its label says; one that would
silently leave them out may miss some the outage hits. So the operator chooses, with the
counts in front of them: `--include-unknown` or `--only-known`; without either the command
refuses such a scope and changes nothing.
"""

from __future__ import annotations

from rich.markup import escape

from dispatcher.cli.context import console, fail
from dispatcher.contacts import scope as scopes
from dispatcher.contacts.model import EojSystem, Registry

CHOOSE = "--include-unknown or --only-known"


def scope_from_options(
    registry: Registry,
    *,
    eoj: list[EojSystem],
    regions: list[str],
    codes: str | None,
    include_unknown: bool,
    only_known: bool,
) -> scopes.Scope | None:
    """The affected municipalities from the options, or a plain error naming the bad one."""
    if include_unknown and only_known:
        fail("--include-unknown and --only-known exclude each other; give one")
    if (include_unknown or only_known) and not eoj:
        fail(f"{CHOOSE} goes with --eoj (it says who counts as on the EOJ system)")
    numbers = _codes(codes)
    wide = _resolve(registry, eoj, regions, numbers, include_unknown=True)
    if wide is None or not wide.unknown_eoj or include_unknown:
        return _shown(wide, left_out=0)
    unknown = len(wide.unknown_eoj)
    known = len(wide.codes) - unknown
    if not only_known:
        fail(
            f"--eoj: the registry has no EOJ system for {unknown} of the {len(wide.codes)} "
            f"municipalities in this scope ({wide.label}), so it cannot tell whether the outage "
            f"hits them. Choose {CHOOSE}: --include-unknown tells all {len(wide.codes)} (the "
            f"notices say that {unknown} are told because their system is not registered); "
            f"--only-known tells only the {known} registered with the system"
            + (" (none here)" if known == 0 else "")
            + ". `dispatcher contacts import` records the systems."
        )
    narrow = _resolve(registry, eoj, regions, numbers, include_unknown=False)
    return _shown(narrow, left_out=unknown)


def _codes(codes: str | None) -> list[int]:
    numbers = []
    for part in (codes or "").split(","):
        if not part.strip():
            continue
        if not part.strip().isdigit():
            fail(f"--municipalities: {part.strip()!r} is not a municipality code (e.g. 101)")
        numbers.append(int(part))
    if codes is not None and not numbers:
        fail("--municipalities names no code; give codes such as 101,147")
    return numbers


def _resolve(
    registry: Registry,
    eoj: list[EojSystem],
    regions: list[str],
    numbers: list[int],
    *,
    include_unknown: bool,
) -> scopes.Scope | None:
    try:
        return scopes.resolve(
            registry, eoj=eoj, regions=regions, codes=numbers, include_unknown=include_unknown
        )
    except scopes.ScopeError as exc:
        fail(str(exc))


def _shown(scope: scopes.Scope | None, *, left_out: int) -> scopes.Scope | None:
    """`scope`, after saying what it is: how many municipalities, and how many of them (or
    how many others) have no registered EOJ system."""
    if scope is None:
        return None
    console.print(f"Scope: {_many(len(scope.codes))} ({escape(scope.label)}).", highlight=False)
    if scope.unknown_eoj:
        told = len(scope.unknown_eoj)
        console.print(
            f"[yellow]{told} of them {'is' if told == 1 else 'are'} told only because the EOJ "
            "system is not registered[/] (--include-unknown); every vendor gets a copy.",
        )
    if left_out:
        console.print(
            f"[yellow]{_many(left_out)} whose EOJ system is not registered "
            f"{'is' if left_out == 1 else 'are'} not told[/] (--only-known)."
        )
    return scope


def _many(count: int) -> str:
    return f"{count} municipality" if count == 1 else f"{count} municipalities"
