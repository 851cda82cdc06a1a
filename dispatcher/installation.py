"""`dispatcher init DIR`: editable copies of the packaged templates and contact registry, and an
example config file that points at them, for an installation of its own."""

from __future__ import annotations

import json
from pathlib import Path

from dispatcher.defaults import FOLDERS, packaged, setting

CONFIG_NAME = "dispatcher.toml"
SHOWN_EXISTING = 10  # a second `init` into the same folder would otherwise list every file

CONFIG_TEMPLATE = """\
# Settings for the FMK outage dispatcher, written by `dispatcher init`.
# Use them with `dispatcher --config {config} COMMAND` or DISPATCHER_CONFIG={config}.
# DISPATCHER_* environment variables win over this file; README.md's "Configuration" table
# describes every setting (here in lower case, without the DISPATCHER_ prefix).

# The editable copies beside this file. Replace the placeholder (.example) addresses in
# contacts/ with the real ones: DISPATCHER_ENV=production refuses to start while any is left.
{folders}

# For production, at least (secrets are better given as DISPATCHER_WEBHOOK_SECRET and
# DISPATCHER_LINK_SECRET in the environment than written here):
# env = "production"
# database_url = "postgresql+psycopg://dispatcher@db.medcom.dk/dispatcher"
# smtp_host = "relay.medcom.dk"
# smtp_tls = "starttls"
# public_url = "https://fmk-dispatcher.medcom.dk"
"""


class InitRefused(Exception):
    """Files that `init` would write exist already; nothing was written."""

    def __init__(self, directory: Path, existing: list[Path]) -> None:
        shown = [str(path.relative_to(directory)) for path in existing[:SHOWN_EXISTING]]
        if len(existing) > SHOWN_EXISTING:
            shown.append(f"… and {len(existing) - SHOWN_EXISTING} more")
        super().__init__(
            f"{len(existing)} file(s) exist already in {directory} and were left alone: "
            f"{', '.join(shown)}; nothing was written. Use --force to overwrite them."
        )
        self.existing = existing


def example_config(directory: Path) -> str:
    """The example config file for an installation in `directory` (an absolute path, so the
    file works from any current directory)."""
    folders = "\n".join(
        f"{setting(folder)} = {json.dumps(str(directory / folder), ensure_ascii=False)}"
        for folder in FOLDERS
    )
    return CONFIG_TEMPLATE.format(config=directory / CONFIG_NAME, folders=folders)


def planned(directory: Path) -> dict[Path, bytes]:
    """Every file `init` writes into `directory`, with its contents."""
    files: dict[Path, bytes] = {}
    for folder in FOLDERS:
        source = packaged(folder)
        for path in sorted(source.rglob("*")):
            if path.is_file():
                files[directory / folder / path.relative_to(source)] = path.read_bytes()
    files[directory / CONFIG_NAME] = example_config(directory).encode("utf-8")
    return files


def write(directory: Path, *, force: bool) -> list[Path]:
    """Write the copies and the example config into `directory` (created if missing) and
    return the files written. Refuses, writing nothing, if any exists and not `force`."""
    directory = directory.absolute()
    files = planned(directory)
    existing = [path for path in files if path.exists()]
    if existing and not force:
        raise InitRefused(directory, existing)
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return list(files)
