"""The doctor's checks of the configuration, the contact registry and the templates: one small
function per check, each returning what it found and, when something is wrong, the fix."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from dispatcher.config import ConfigError, Settings
from dispatcher.contacts.csvcheck import Problem, RegistryError
from dispatcher.contacts.model import Municipality, Person, Registry, Vendor
from dispatcher.contacts.registry import load_registry, scan_registry
from dispatcher.contacts.rota_file import summary as rota_summary
from dispatcher.core.kinds import NoticeKind
from dispatcher.doctor.result import CheckResult, failed, not_checked, passed, warned
from dispatcher.notices.context import NoticeContext
from dispatcher.notices.render import NoticeRenderer, TemplateError, addressee, standard_guidance
from dispatcher.notices.sample import sample_context
from dispatcher.runtime import settings_refusals, settings_warnings

SHOWN_PROBLEMS = 5  # a registry or template folder can have hundreds; the first few say enough
SAMPLE_ACK_PATH = "/ack/EKSEMPEL"
SCOPED_SAMPLE = 3  # municipalities in the sample of a scoped incident
PAGE_ROUNDS = (1, 2)  # the first page, and a reminder (which also names the fallback)
CONTACTS_FIX = "run `dispatcher contacts check` for the full list and correct the files"


def configuration_error(exc: ConfigError) -> CheckResult:
    """The settings do not load: pydantic's message, setting by setting, as the CLI prints it
    (its heading "invalid configuration" said without repeating the check's name)."""
    first, *rest = str(exc).splitlines()
    return failed(
        "configuration",
        first.replace("invalid configuration", "the settings do not load", 1),
        "correct the settings named here (DISPATCHER_* environment variables or the "
        "--config / DISPATCHER_CONFIG file)",
        [line.strip() for line in rest],
    )


def configuration(settings: Settings) -> CheckResult:
    """The settings load; `dispatcher serve` would not refuse them (production rules, and no
    plaintext SMTP to a relay off this host); in development, a warning for a secret that is
    set but blank or short. Placeholder contacts have a check of their own."""
    toml_file = settings.model_config.get("toml_file")  # set by load_settings for --config
    source = f"{toml_file}, " if toml_file is not None else ""
    loaded = f"DISPATCHER_ENV={settings.env}; read from {source}the environment and the defaults"
    problems = settings_refusals(settings)
    if problems:
        return failed(
            "configuration",
            f"`dispatcher serve` would refuse to start ({len(problems)} problem(s))",
            "change the settings named here",
            problems,
        )
    warnings = settings_warnings(settings)
    if warnings:
        return warned(
            "configuration",
            f"{loaded}; {len(warnings)} secret(s) that production would refuse (allowed in "
            "development)",
            "set each secret named here to at least 32 random bytes",
            warnings,
        )
    return passed("configuration", loaded)


def contacts(settings: Settings, source: str) -> tuple[Registry | None, CheckResult]:
    """The registry loads (placeholders allowed here; they have their own check); `source`
    says where its folder was named (`defaults.origin`)."""
    directory = settings.contacts_dir
    try:
        registry = load_registry(directory)
    except RegistryError as exc:
        return None, failed(
            "contacts",
            f"the registry in {directory} ({source}) does not load: {len(exc.problems)} error(s)",
            CONTACTS_FIX,
            _first(directory, exc.problems),
        )
    esc = registry.escalation
    return registry, passed(
        "contacts",
        f"{directory} ({source}): {len(registry.municipalities)} municipalities, "
        f"{len(registry.vendors)} "
        f"vendors, {len(esc.staff)} on-call, {len(esc.fallback)} fallback; "
        f"{rota_summary(registry.rota)}",
    )


def placeholders(settings: Settings) -> CheckResult:
    """No `.example` address is left: a failure in production, a warning in development."""
    directory = settings.contacts_dir
    production = settings.env == "production"
    found = [p for p in scan_registry(directory, production=production)[1] if p.placeholder]
    if not found:
        return passed("placeholders", f"no .example address is left in {directory}")
    files = ", ".join(f"{name} ({n})" for name, n in Counter(p.file for p in found).items())
    message = f"{len(found)} .example address(es) left in {directory}: {files}"
    fix = (
        "replace each with the real address (see contacts/README.md), then run "
        "`dispatcher contacts check`"
    )
    example = _first(directory, found)[:1]
    if production:
        return failed("placeholders", f"DISPATCHER_ENV=production but {message}", fix, example)
    return warned("placeholders", f"{message} (allowed in development)", fix, example)


def _first(directory: Path, problems: list[Problem]) -> list[str]:
    shown = [f"{directory / str(problem)}" for problem in problems[:SHOWN_PROBLEMS]]
    if len(problems) > SHOWN_PROBLEMS:
        shown.append(f"… and {len(problems) - SHOWN_PROBLEMS} more")
    return shown


def templates(settings: Settings, registry: Registry | None, source: str) -> CheckResult:
    """Every template compiles, and every notice kind renders for every recipient it goes to
    (each municipality, each vendor, each on-call and fallback person) with the sample
    incident; an error names the template and line, and `source` where the folder was named."""
    directory = settings.templates_dir
    fix = (
        "correct the template named here, then check it with `dispatcher templates check` and "
        "`dispatcher templates preview KIND`"
    )
    problems = NoticeRenderer(directory).check()
    if problems:
        return failed(
            "templates",
            f"{len(problems)} problem(s) in the templates in {directory} ({source})",
            fix,
            _shown(problems),
        )
    if registry is None:
        because = "no recipients to render for: the contacts do not load (see contacts)"
        return not_checked("templates", because)
    try:
        guidance = standard_guidance(directory)
    except TemplateError as exc:
        return failed("templates", str(exc), fix)
    return _render_all(settings, registry, guidance, fix, source)


def _render_all(
    settings: Settings, registry: Registry, guidance: str, fix: str, source: str
) -> CheckResult:
    renderer = NoticeRenderer(settings.templates_dir)
    ack_url = settings.public_url.rstrip("/") + SAMPLE_ACK_PATH
    errors: dict[str, list[str]] = {}
    rendered = 0
    for kind, recipient, page_round in _notices(registry):
        context = sample_context(
            kind, recipient, registry, guidance, ack_url=ack_url, page_round=page_round
        )
        for variant, shown in _variants(context, registry):
            try:
                renderer.render(shown)
            except TemplateError as exc:
                errors.setdefault(str(exc), []).append(f"{kind}{variant} to {_name(recipient)}")
            else:
                rendered += 1
    if errors:
        failures = sum(len(who) for who in errors.values())
        details = [
            f"{error} ({len(who)} notice(s), e.g. {who[0]})" for error, who in errors.items()
        ]
        return failed(
            "templates",
            f"{failures} of {rendered + failures} sample notices do not render from "
            f"{settings.templates_dir} ({source})",
            fix,
            _shown(details),
        )
    return passed(
        "templates",
        f"{rendered} sample notices render from {settings.templates_dir} ({source}): "
        f"{len(NoticeKind)} "
        f"kinds for {len(registry.municipalities)} municipalities, {len(registry.vendors)} "
        f"vendors and {len(_people(registry))} on-call, fallback and drill people; each also "
        "as a drill of a scoped incident or as a scoped window",
    )


def _variants(context: NoticeContext, registry: Registry) -> Iterator[tuple[str, NoticeContext]]:
    """The notice as sent, and as a drill of an outage that hits only a few municipalities,
    one of them told because its EOJ system is not registered (the banner and the list of
    affected municipalities come from the layouts)."""
    yield "", context
    if context.incident is not None:
        few = tuple(addressee(m) for m in registry.municipalities[:SCOPED_SAMPLE])
        unusual = replace(
            context.incident,
            drill=True,
            scope_label="kommuner med Cura",
            affected=few,
            unknown_eoj=few[:1],
        )
        yield " (drill, scoped)", replace(context, incident=unusual, municipality_count=len(few))
    if context.maintenance is not None:
        few = tuple(addressee(m) for m in registry.municipalities[:SCOPED_SAMPLE])
        window = replace(context.maintenance, scope_label="udvalgte kommuner", affected=few)
        yield " (scoped)", replace(context, maintenance=window, municipality_count=len(few))


def _notices(
    registry: Registry,
) -> Iterator[tuple[NoticeKind, Municipality | Vendor | Person, int]]:
    """Every (kind, recipient, paging round) the dispatcher can send."""
    for kind in NoticeKind:
        recipients: tuple[Municipality | Vendor | Person, ...]
        if kind.municipal or kind.maintenance:
            recipients = (*registry.municipalities, *registry.vendors)
        elif kind is NoticeKind.VENDOR_ALERT:
            recipients = registry.vendors
        elif kind is NoticeKind.REMINDER:
            recipients = registry.municipalities
        else:
            recipients = _people(registry)
        rounds = PAGE_ROUNDS if kind is NoticeKind.PAGE else (1,)
        for recipient in recipients:
            for page_round in rounds:
                yield kind, recipient, page_round


def _people(registry: Registry) -> tuple[Person, ...]:
    esc = registry.escalation
    return tuple({p.email: p for p in (*esc.staff, *esc.fallback, *esc.drill)}.values())


def _name(recipient: Municipality | Vendor | Person) -> str:
    if isinstance(recipient, Municipality):
        return f"{recipient.code} {recipient.name}"
    if isinstance(recipient, Vendor):
        return f"vendor {recipient.key}"
    return recipient.email


def _shown(lines: list[str]) -> list[str]:
    if len(lines) > SHOWN_PROBLEMS:
        return [*lines[:SHOWN_PROBLEMS], f"… and {len(lines) - SHOWN_PROBLEMS} more"]
    return lines
