"""`dispatcher templates`: preview a notice as a recipient would get it, and check the templates."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer

from dispatcher.cli.context import console, fail, state
from dispatcher.cli.runtime import open_runtime
from dispatcher.clock import SystemClock
from dispatcher.contacts.model import Municipality, Registry, Vendor
from dispatcher.contacts.registry import RegistryError, load_registry
from dispatcher.core.model import Notify
from dispatcher.incidents.mapping import to_core
from dispatcher.incidents.queries import incident_detail
from dispatcher.notices.context import NoticeContext, NoticeKind
from dispatcher.notices.render import NoticeRenderer, TemplateError, standard_guidance
from dispatcher.notices.sample import sample_context
from dispatcher.outbox.enqueue import notice_context
from dispatcher.runtime import Runtime

DEFAULT_MUNICIPALITY = 101  # København

templates_app = typer.Typer(
    help="The Danish notice templates: preview them and check them.",
    no_args_is_help=True,
)


def parse_kind(value: str) -> NoticeKind:
    try:
        return NoticeKind(value)
    except ValueError:
        valid = ", ".join(kind.value for kind in NoticeKind)
        fail(f"unknown notice kind {value!r}; use one of: {valid}")


def pick_recipient(
    registry: Registry, municipality: int | None, vendor: str | None
) -> Municipality | Vendor:
    if vendor is not None:
        if municipality is not None:
            fail("give --municipality or --vendor, not both")
        found = next((v for v in registry.vendors if v.key == vendor), None)
        if found is None:
            known = ", ".join(v.key for v in registry.vendors) or "none"
            fail(f"no EOJ vendor with key {vendor!r} in the registry (known: {known})")
        return found
    code = DEFAULT_MUNICIPALITY if municipality is None else municipality
    chosen = registry.municipality(code)
    if chosen is None:
        fail(f"no municipality with code {code} in the registry")
    return chosen


def print_notice(renderer: NoticeRenderer, context: NoticeContext, *, html: bool) -> None:
    """Render `context` and print the subject, then the text (or HTML) body."""
    try:
        rendered = renderer.render(context)
    except TemplateError as exc:
        fail(str(exc))
    typer.echo(f"Subject: {rendered.subject}\n")
    typer.echo(rendered.html if html else rendered.text, nl=False)


def stored_context(
    runtime: Runtime, number: int, kind: NoticeKind, recipient: Municipality | Vendor
) -> NoticeContext:
    """Notice `kind` about stored incident `number`, as it would be queued now: the next in
    the incident's sequence, announcing the next update where the kind does."""
    detail = incident_detail(runtime.engine, number)
    if detail is None:
        fail(f"there is no incident #{number}")
    now = SystemClock().now()
    ongoing = kind in (NoticeKind.INITIAL, NoticeKind.UPDATE)
    next_update_at = now + runtime.settings.update_interval if ongoing else None
    return notice_context(
        number=number,
        incident=replace(to_core(detail.incident), next_update_at=next_update_at),
        notify=Notify(kind),
        sequence=len(detail.notices) + 1,
        now=now,
        recipient=recipient,
        registry=runtime.registry,
    )


@templates_app.command()
def preview(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="initial, update, all_clear or correction.")],
    municipality: Annotated[
        int | None,
        typer.Option(
            "--municipality", help=f"Municipality code [default: {DEFAULT_MUNICIPALITY}]."
        ),
    ] = None,
    vendor: Annotated[
        str | None, typer.Option("--vendor", help="Show the EOJ vendor's copy instead (key).")
    ] = None,
    html: Annotated[bool, typer.Option("--html", help="Print the HTML body.")] = False,
    incident: Annotated[
        int | None,
        typer.Option("--incident", help="Render stored incident N instead of the sample one."),
    ] = None,
) -> None:
    """Render a notice about a sample (or stored) incident, as the given recipient would get it."""
    settings = state(ctx).settings
    notice_kind = parse_kind(kind)
    if incident is not None:
        runtime = open_runtime(ctx)
        recipient = pick_recipient(runtime.registry, municipality, vendor)
        context = stored_context(runtime, incident, notice_kind, recipient)
        print_notice(runtime.renderer, context, html=html)
        return
    try:
        registry = load_registry(settings.contacts_dir)
    except RegistryError as exc:
        fail(str(exc))
    recipient = pick_recipient(registry, municipality, vendor)
    try:
        guidance = standard_guidance(settings.templates_dir)
    except TemplateError as exc:
        fail(str(exc))
    context = sample_context(notice_kind, recipient, registry, guidance)
    print_notice(NoticeRenderer(settings.templates_dir), context, html=html)


@templates_app.command()
def check(ctx: typer.Context) -> None:
    """Compile every template; exit 1 if any is missing or broken."""
    templates_dir = state(ctx).settings.templates_dir
    problems = NoticeRenderer(templates_dir).check()
    for problem in problems:
        console.print(problem, markup=False, highlight=False, soft_wrap=True)
    if problems:
        fail(f"{len(problems)} problem(s) in the templates in {templates_dir}")
    console.print(f"ok: the templates in {templates_dir} compile", markup=False, soft_wrap=True)
