"""The Danish templates and the contact registry that ship inside the package, and where the
folders in use come from.

Lookup, strongest first: the `--templates-dir` / `--contacts-dir` flag, `DISPATCHER_TEMPLATES_DIR`
/ `DISPATCHER_CONTACTS_DIR`, the config file, then the copy inside the installed package
(`dispatcher/packaged/`, which in a checkout links to the top-level `templates/` and
`contacts/`). `dispatcher init DIR` writes editable copies of the packaged folders.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from importlib.resources import files
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings

Folder = Literal["contacts", "templates"]
FOLDERS: tuple[Folder, ...] = ("contacts", "templates")
PACKAGED_DEFAULT = "packaged default"


def packaged(folder: Folder) -> Path:
    """The packaged folder on the file system (pip installs packages unzipped)."""
    location = files("dispatcher") / "packaged" / folder
    if not isinstance(location, Path):
        raise RuntimeError(
            f"the packaged {folder} are not on the file system ({location}): install the "
            "package unzipped, or set DISPATCHER_CONTACTS_DIR and DISPATCHER_TEMPLATES_DIR"
        )
    return location.resolve()


def setting(folder: Folder) -> str:
    """The settings field that names `folder`: `contacts_dir` or `templates_dir`."""
    return f"{folder}_dir"


def flag(folder: Folder) -> str:
    return f"--{folder}-dir"


def variable(folder: Folder) -> str:
    return f"DISPATCHER_{folder.upper()}_DIR"


def origin(settings: BaseSettings, folder: Folder, flags: Collection[str]) -> str:
    """Where the folder in use was named, in the order the settings apply: the flag (one of
    `flags`, the settings fields given on the command line), the environment, the config file,
    or nowhere (the packaged default)."""
    if setting(folder) in flags:
        return f"from {flag(folder)}"
    name = variable(folder)
    if any(key.upper() == name for key in os.environ):
        return f"from {name}"
    if setting(folder) in settings.model_fields_set:
        return f"from the config file {settings.model_config.get('toml_file')}"
    return PACKAGED_DEFAULT
