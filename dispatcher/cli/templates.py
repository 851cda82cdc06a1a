"""`dispatcher templates`: preview a notice as a recipient would get it, and check the templates."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Annotated

import typer

from dispatcher.cli.context import console, fail, state
from dispatcher.clock import SystemClock
from dispatcher.contacts.model import Municipality, Person, Registry, Vendor
from dispatcher.core.kinds import MUNICIPAL_KINDS, NoticeKind
from dispatcher.core.model import Notify

if TYPE_CHECKING:
    from dispatcher.notices.context import NoticeContext
    from dispatcher.notices.render import NoticeRenderer
    from dispatcher.runtime import Runtime

DEFAULT_MUNICIPALITY = 101  # København
# The notices that go to one person of the escalation contacts, not to the municipalities.
PERSON_KINDS = frozenset({NoticeKind.PAGE, NoticeKind.OWNER, NoticeKind.ONCALL_INFO})
SAMPLE_ACK_PATH = "/ack/EKSEMPEL"

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
    registry: Registry,
    kind: NoticeKind,
    municipality: int | None,
    vendor: str | None,
    person: str | None,
) -> Municipality | Vendor | Person:
    """Who the preview of `kind` is for: a person for the on-call notices, a vendor for the
    vendor alert, else a municipality (or a vendor's copy)."""
    if kind in PERSON_KINDS:
        if municipality is not None or vendor is not None:
            fail(f"{kind} goes to a person: use --person EMAIL, not --municipality or --vendor")
        return pick_person(registry, person)
    if person is not None:
        fail(f"--person is for {', '.join(sorted(PERSON_KINDS))}; {kind} does not go to a person")
    if kind is NoticeKind.VENDOR_ALERT:
        if municipality is not None:
            fail("vendor_alert goes to the EOJ vendors: use --vendor KEY, not --municipality")
        if vendor is None:
            if not registry.vendors:
                fail("there are no EOJ vendors in the registry")
            return registry.vendors[0]
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


def pick_person(registry: Registry, email: str | None) -> Person:
    """The on-call or fallback person with address `email`; the first on-call person if none."""
    esc = registry.escalation
    people = esc.staff + esc.fallback
    if email is None:
        return people[0]
    found = next((p for p in people if p.email.casefold() == email.strip().casefold()), None)
    if found is None:
        known = ", ".join(p.email for p in people)
        fail(f"{email} is not an on-call or fallback person in the registry (known: {known})")
    return found


def print_notice(renderer: NoticeRenderer, context: NoticeContext, *, html: bool) -> None:
    """Render `context` and print the subject, then the text (or HTML) body."""
    from dispatcher.notices.render import TemplateError

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
    from dispatcher.incidents.mapping import to_core
    from dispatcher.incidents.queries import incident_detail
    from dispatcher.oncall.duty import on_duty_now
    from dispatcher.outbox.enqueue import notice_context

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
        sequence=sum(n.notice.kind in MUNICIPAL_KINDS for n in detail.notices) + 1,
        now=now,
        recipient=recipient,
        registry=on_duty_now(runtime.engine, runtime.registry, now),
    )


@templates_app.command()
def preview(
    ctx: typer.Context,
    kind: Annotated[
        str,
        typer.Argument(
            help="initial, update, all_clear, correction, reminder (to the municipalities), "
            "vendor_alert (to an EOJ vendor), page, owner or oncall_info (to a person); "
            "maint_announced, maint_reminder, maint_started, maint_ended, maint_extended, "
            "maint_changed, maint_cancelled (a planned maintenance window)."
        ),
    ],
    municipality: Annotated[
        int | None,
        typer.Option(
            "--municipality", help=f"Municipality code [default: {DEFAULT_MUNICIPALITY}]."
        ),
    ] = None,
    vendor: Annotated[
        str | None, typer.Option("--vendor", help="Show the EOJ vendor's copy instead (key).")
    ] = None,
    person: Annotated[
        str | None,
        typer.Option(
            "--person",
            help="page, owner, oncall_info: the on-call or fallback person (e-mail address) "
            "[default: the first on-call person].",
        ),
    ] = None,
    page_round: Annotated[
        int | None,
        typer.Option("--round", min=1, help="page: the paging round (2 = first reminder)."),
    ] = None,
    html: Annotated[bool, typer.Option("--html", help="Print the HTML body.")] = False,
    incident: Annotated[
        int | None,
        typer.Option("--incident", help="Render stored incident N instead of the sample one."),
    ] = None,
) -> None:
    """Render a notice about a sample (or stored) incident, as the given recipient would get it."""
    from dispatcher.cli.runtime import open_runtime
    from dispatcher.contacts.csvcheck import RegistryError
    from dispatcher.contacts.registry import load_registry
    from dispatcher.notices.render import NoticeRenderer, TemplateError, standard_guidance
    from dispatcher.notices.sample import sample_context

    settings = state(ctx).settings
    notice_kind = parse_kind(kind)
    if page_round is not None and notice_kind is not NoticeKind.PAGE:
        fail(f"--round is for page, not {notice_kind}")
    if incident is not None:
        if notice_kind not in MUNICIPAL_KINDS:
            fail(
                "--incident previews the notices to the municipalities (initial, update, "
                f"all_clear, correction); preview {notice_kind} with the sample incident"
            )
        runtime = open_runtime(ctx)
        recipient = pick_recipient(runtime.registry, notice_kind, municipality, vendor, person)
        if isinstance(recipient, Person):  # narrows the type: municipal kinds go to no person
            fail(f"{notice_kind} does not go to a person")
        context = stored_context(runtime, incident, notice_kind, recipient)
        print_notice(runtime.renderer, context, html=html)
        return
    try:
        registry = load_registry(settings.contacts_dir)
    except RegistryError as exc:
        fail(str(exc))
    recipient = pick_recipient(registry, notice_kind, municipality, vendor, person)
    try:
        guidance = standard_guidance(settings.templates_dir)
    except TemplateError as exc:
        fail(str(exc))
    context = sample_context(
        notice_kind,
        recipient,
        registry,
        guidance,
        ack_url=settings.public_url.rstrip("/") + SAMPLE_ACK_PATH,
        page_round=page_round or 1,
    )
    print_notice(NoticeRenderer(settings.templates_dir), context, html=html)


@templates_app.command()
def check(ctx: typer.Context) -> None:
    """Compile every template; exit 1 if any is missing or broken."""
    from dispatcher.notices.render import NoticeRenderer

    templates_dir = state(ctx).settings.templates_dir
    problems = NoticeRenderer(templates_dir).check()
    for problem in problems:
        console.print(problem, markup=False, highlight=False, soft_wrap=True)
    if problems:
        fail(f"{len(problems)} problem(s) in the templates in {templates_dir}")
    console.print(f"ok: the templates in {templates_dir} compile", markup=False, soft_wrap=True)
