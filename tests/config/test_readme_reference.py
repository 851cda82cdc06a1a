"""The configuration reference in README.md names every setting, and only real ones."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

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


CELLS = re.compile(r"^\| `DISPATCHER_([A-Z_]+)`(?: / `_([A-Z_]+)`)? \| ([^|]+) \|", re.MULTILINE)


def documented_defaults() -> dict[str, str | None]:
    """Each setting's default as the README's table shows it: a value in backticks, None
    for "–", and nothing for a default described in words (system CAs, a development value)."""
    found: dict[str, str | None] = {}
    for first, second, cell in CELLS.findall(README.read_text(encoding="utf-8")):
        names = [first] + ([f"{first.rsplit('_', 1)[0]}_{second}"] if second else [])
        values = [part.strip() for part in cell.split(" / ")]
        if len(values) == 1:
            values *= len(names)
        for name, value in zip(names, values, strict=True):
            if value == "–":
                found[name] = None
            elif value.startswith("`") and value.endswith("`"):
                found[name] = value.strip("`")
    return found


def test_the_readme_shows_the_real_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    defaults = Settings()
    shown = documented_defaults()
    assert len(shown) >= 30
    for name, value in shown.items():
        field = name.lower()
        actual = getattr(defaults, field)
        if value is None:
            assert actual is None, name
            continue
        parsed = getattr(Settings.model_validate({field: value}), field)
        assert parsed == actual, f"README says {ENV_PREFIX}{name} defaults to {value!r}"
