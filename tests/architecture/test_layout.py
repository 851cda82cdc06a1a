"""The shape of the code that the architecture document promises: a pure core that depends on
nothing else of the dispatcher, and modules short enough to read in one sitting."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "dispatcher"
CORE = PACKAGE / "core"
MAX_LINES = 300
# Besides the standard library and the core itself, the core may use pydantic (values only).
CORE_MAY_IMPORT = frozenset({"pydantic"})


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in `path`, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            found.append((node.lineno, name))
    return found


def _outside_core(module: str) -> bool:
    top = module.partition(".")[0]
    if module == "dispatcher.core" or module.startswith("dispatcher.core."):
        return False
    return top not in sys.stdlib_module_names and top not in CORE_MAY_IMPORT


class TestTheCoreStandsAlone:
    """Nothing under dispatcher/core/ imports from the rest of the dispatcher or a library."""

    def test_core_imports_only_itself_and_the_standard_library(self) -> None:
        offending = [
            f"{path.relative_to(PACKAGE.parent)}:{line}: imports {module}"
            for path in sorted(CORE.rglob("*.py"))
            for line, module in _imports(path)
            if _outside_core(module)
        ]
        assert offending == []

    @pytest.mark.parametrize(
        ("module", "outside"),
        [
            ("dispatcher.notices.context", True),
            ("dispatcher", True),
            ("sqlmodel", True),
            ("dispatcher.core.kinds", False),
            ("datetime", False),
            ("pydantic", False),
        ],
    )
    def test_the_check_tells_inside_from_outside(self, module: str, outside: bool) -> None:
        assert _outside_core(module) is outside


class TestModulesStayShort:
    """No module of the dispatcher passes 300 lines."""

    def test_no_module_over_the_limit(self) -> None:
        long = {
            str(path.relative_to(PACKAGE.parent)): lines
            for path in sorted(PACKAGE.rglob("*.py"))
            if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
        }
        assert long == {}
