"""A writable copy of the shipped contact registry, and helpers to break it line by line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SHIPPED = Path(__file__).resolve().parents[2] / "contacts"


@pytest.fixture
def contacts_dir(tmp_path: Path) -> Path:
    target = tmp_path / "contacts"
    shutil.copytree(SHIPPED, target, ignore=shutil.ignore_patterns("*.md"))
    return target


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def set_line(path: Path, number: int, text: str | None) -> None:
    """Replace 1-based line `number` of `path` with `text`, or delete it if `text` is None."""
    lines = read_lines(path)
    if text is None:
        del lines[number - 1]
    else:
        lines[number - 1] = text
    write_lines(path, lines)


def append_line(path: Path, text: str) -> None:
    write_lines(path, [*read_lines(path), text])


def line_of(path: Path, start: str) -> int:
    """The 1-based number of the first line of `path` that starts with `start`."""
    return next(n for n, line in enumerate(read_lines(path), 1) if line.startswith(start))


def replace_placeholders(directory: Path) -> None:
    """Turn every `.example` address into a realistic one, as a finished registry would have."""
    for path in directory.glob("*.csv"):
        text = path.read_text(encoding="utf-8").replace(".example", ".dk")
        path.write_text(text, encoding="utf-8")
