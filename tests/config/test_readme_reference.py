"""The configuration reference in README.md names every setting, and only real ones."""

from __future__ import annotations

import re
from pathlib import Path

from dispatcher.config import ENV_PREFIX, Settings

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\| `DISPATCHER_([A-Z_]+)`(?: / `_([A-Z_]+)`)? \|", re.MULTILINE)


def documented() -> set[str]:
    names = set()
    for first, second in ROW.findall(README.read_text(encoding="utf-8")):
        names.add(first)
        if second:
            names.add(f"{first.rsplit('_', 1)[0]}_{second}")
    return names


def test_every_setting_is_in_the_readme_table() -> None:
    settings = {name.upper() for name in Settings.model_fields}
    assert documented() == settings, f"{ENV_PREFIX}… rows differ from the settings model"
