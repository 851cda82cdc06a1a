"""`pip install .` without extras brings everything the package imports: a module imported from
a development-only dependency works in the checkout and fails in the container image."""

from __future__ import annotations

import ast
import sys
from importlib.metadata import distribution, packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT


def imported_modules(package: Path) -> set[str]:
    """The top-level names of the modules imported anywhere in `package`."""
    found: set[str] = set()
    for source in package.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.partition(".")[0])
    return found


def runtime_closure(name: str) -> set[str]:
    """The distributions `pip install NAME` installs: its requirements without extras, and
    theirs, as installed here."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = canonicalize_name(todo.pop())
        if current in seen:
            continue
        seen.add(current)
        for line in distribution(current).requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return seen


class TestRuntimeDependencies:
    """Every third-party module the package imports comes with its runtime dependencies."""

    def test_no_import_needs_a_development_extra(self) -> None:
        owners = packages_distributions()
        third_party = imported_modules(ROOT / "dispatcher") - set(sys.stdlib_module_names)
        third_party.discard("dispatcher")
        installed = runtime_closure("fmk-dispatcher")

        missing = {
            module: owners.get(module, [module])
            for module in sorted(third_party)
            if not {canonicalize_name(d) for d in owners.get(module, [module])} & installed
        }

        assert missing == {}, f"imported but not a runtime dependency: {missing}"
