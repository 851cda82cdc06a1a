"""README's test command is the one CI runs: `.ci/run` ends with it, and README gives it (in
the quick start and under Tests) as an indented command line."""

from __future__ import annotations

from tests.conftest import ROOT


def ci_test_command() -> str:
    lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    return lines[-1]


def test_ci_ends_with_the_test_command() -> None:
    assert ci_test_command().startswith("python -m pytest")


def test_the_readme_gives_the_same_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [
        line.strip() for line in readme.splitlines() if line.startswith("    python -m pytest")
    ]
    assert commands == [ci_test_command()] * 2
