"""`dispatcher init DIR`: an installation's own editable templates, contacts and config file."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from dispatcher.cli.context import console, fail


def init(
    directory: Annotated[
        Path, typer.Argument(help="Folder for the installation's files (created if missing).")
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite files that exist already.")
    ] = False,
) -> None:
    """Write editable copies of the packaged Danish templates and contact registry, and an
    example config file that points at them, into DIRECTORY.

    Refuses to overwrite an existing file unless --force is given."""
    from dispatcher import installation

    try:
        written = installation.write(directory, force=force)
    except installation.InitRefused as exc:
        fail(str(exc))
    target = directory.absolute()
    config = target / installation.CONFIG_NAME
    parts = Counter(path.relative_to(target).parts[0] for path in written)
    lines = [f"Wrote {len(written)} files to {target}:"]
    lines += [
        f"  {name}/ ({count} files)" if name != config.name else f"  {name}"
        for name, count in sorted(parts.items())
    ]
    lines += [
        "Next:",
        f"  1. Replace the placeholder (.example) addresses in {target / 'contacts'} with the "
        f"real ones (see {target / 'contacts' / 'README.md'}), then run "
        f"`dispatcher --config {config} contacts check`.",
        f"  2. Adjust the Danish wording in {target / 'templates'} if you wish, then run "
        f"`dispatcher --config {config} templates check`.",
        f"  3. Set the relay, database and secrets in {config}, then run "
        f"`dispatcher --config {config} doctor`.",
    ]
    console.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)
