"""`dispatcher contacts`: check, list and import the contact registry."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from dispatcher.cli.context import console, fail, state
from dispatcher.contacts.model import EojSystem, Municipality, Registry

if TYPE_CHECKING:
    from dispatcher.contacts.csvcheck import Problem
    from dispatcher.contacts.importer import Change

contacts_app = typer.Typer(
    help="The contact registry: municipalities, EOJ vendors and escalation contacts.",
    no_args_is_help=True,
)


def print_problems(problems: Sequence[Problem]) -> None:
    for problem in problems:
        label = "[yellow]placeholder[/]" if problem.placeholder else "[red]error[/]"
        console.print(f"{label} {escape(str(problem))}", highlight=False, soft_wrap=True)


def load_or_fail(directory: Path) -> Registry:
    from dispatcher.contacts.csvcheck import RegistryError
    from dispatcher.contacts.registry import load_registry

    try:
        return load_registry(directory)
    except RegistryError as exc:
        print_problems(exc.problems)
        fail(f"the contact registry in {directory} does not load ({len(exc.problems)} errors)")


@contacts_app.command()
def check(ctx: typer.Context) -> None:
    """Check every file of the registry; exit 1 on any error or placeholder address."""
    from dispatcher.contacts.registry import scan_registry
    from dispatcher.contacts.rota_file import summary as rota_summary

    settings = state(ctx).settings
    production = settings.env == "production"
    registry, problems = scan_registry(settings.contacts_dir, production=production)
    if problems or registry is None:
        print_problems(problems)
        placeholders = sum(problem.placeholder for problem in problems)
        errors = len(problems) - placeholders
        console.print(f"{errors} error(s), {placeholders} placeholder address(es)", soft_wrap=True)
        raise typer.Exit(1)
    escalation = registry.escalation
    console.print(
        f"ok: {len(registry.municipalities)} municipalities, {len(registry.vendors)} vendors, "
        f"{len(escalation.staff)} on-call, {len(escalation.fallback)} fallback; "
        f"{rota_summary(registry.rota)}",
        soft_wrap=True,
    )


@contacts_app.command("list")
def list_municipalities(
    ctx: typer.Context,
    region: Annotated[
        str | None,
        typer.Option(help="Region code (1084) or part of its name (hovedstaden)."),
    ] = None,
    eoj: Annotated[
        EojSystem | None, typer.Option(case_sensitive=False, help="Only this EOJ system.")
    ] = None,
) -> None:
    """List the municipalities and their addresses."""
    from dispatcher.contacts.scope import in_region

    municipalities = load_or_fail(state(ctx).settings.contacts_dir).municipalities
    if region is not None:
        regions = sorted({f"{m.region_code} {m.region_name}" for m in municipalities})
        municipalities = tuple(m for m in municipalities if in_region(m, region))
        if not municipalities:
            fail(f"no region matches {region!r}; regions: {', '.join(regions)}")
    shown = [m for m in municipalities if eoj is None or m.eoj is eoj]
    console.print(municipality_table(shown))


def count(municipalities: int) -> str:
    return f"{municipalities} municipalit{'y' if municipalities == 1 else 'ies'}"


def municipality_table(municipalities: Sequence[Municipality]) -> Table:
    table = Table(title=count(len(municipalities)), title_justify="left")
    for column in ("Code", "Name", "Region", "EOJ", "GLN"):
        table.add_column(column, no_wrap=True)
    table.add_column("Addresses", overflow="fold")
    for m in municipalities:
        table.add_row(
            str(m.code),
            escape(m.name),
            escape(m.region_name.removeprefix("Region ")),
            m.eoj.value,
            m.sor_gln or "-",
            escape("\n".join(m.emails)),
        )
    return table


@contacts_app.command("import")
def import_municipalities(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV file in the format of municipalities.csv.")],
    yes: Annotated[bool, typer.Option("--yes", help="Apply the changes.")] = False,
) -> None:
    """Replace the contacts of the municipalities in FILE; the others stay as they are."""
    from dispatcher.contacts.csvcheck import RegistryError
    from dispatcher.contacts.importer import apply_import, plan_import
    from dispatcher.defaults import PACKAGED_DEFAULT, origin

    cli = state(ctx)
    directory = cli.settings.contacts_dir
    if yes and origin(cli.settings, "contacts", cli.folders) == PACKAGED_DEFAULT:
        fail(
            f"not importing into the packaged contacts in {directory}: they belong to the "
            "installed package (an upgrade replaces them). Make an installation's own copy with "
            "`dispatcher init DIR` and name it with --contacts-dir, DISPATCHER_CONTACTS_DIR or "
            "the config file"
        )
    try:
        plan = plan_import(directory, file)
    except RegistryError as exc:
        print_problems(exc.problems)
        fail(f"nothing imported: {len(exc.problems)} error(s)")
    if not plan.changes:
        console.print("no changes")
        return
    for change in plan.changes:
        print_change(change)
    if not yes:
        console.print("Nothing changed; run again with --yes to apply", soft_wrap=True)
        return
    apply_import(plan)
    console.print(
        f"Applied: {count(len(plan.changes))} updated in {escape(str(plan.target))}",
        soft_wrap=True,
    )


def print_change(change: Change) -> None:
    lines = [f"[bold]{change.code} {escape(change.name)}[/]"]
    lines += [f"  [green]+ {escape(address)}[/]" for address in change.added]
    lines += [f"  [red]- {escape(address)}[/]" for address in change.removed]
    if change.eoj:
        lines.append(f"  EOJ: {change.eoj[0]} → {change.eoj[1]}")
    if change.gln:
        lines.append(f"  GLN: {change.gln[0] or 'none'} → {change.gln[1] or 'none'}")
    if change.phone:
        lines.append(f"  phone: {change.phone[0] or 'none'} → {change.phone[1] or 'none'}")
    if change.alternate:
        was, now = (escape(a or "none") for a in change.alternate)
        lines.append(f"  alternate e-mails: {was} → {now}")
    console.print("\n".join(lines), highlight=False, soft_wrap=True)
