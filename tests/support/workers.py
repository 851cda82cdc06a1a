"""How pytest-xdist hands the tests to its workers (`python -m pytest -n 3`).

Each test goes by itself to the next worker with room, in collection order (the slow ones
first, see tests/conftest.py), as xdist's `loadscope` scheduling does with a scope per test:
a worker is never given more than two units ahead, so the last long tests do not queue up
behind one worker. Tests that share an expensive module or class fixture are one unit, so
that it is made once: their node ids start with one of `SHARE_A_WORKER`.

(xdist's own `--dist loadgroup` with `xdist_group` marks would say the same, but with pytest
9.2 it no longer groups anything: pytest-dev/pytest-xdist#1386.)
"""

from __future__ import annotations

from xdist.scheduler import LoadScopeScheduling

SHARE_A_WORKER = (
    "tests/demo/test_demo.py::",  # one `dispatcher demo` run for the module
    "tests/daemon/test_slow_clients.py::TestDeadlines::",  # one strict daemon per backend
)


class SharedFixtureScheduling(LoadScopeScheduling):
    def _split_scope(self, nodeid: str) -> str:
        return next((group for group in SHARE_A_WORKER if nodeid.startswith(group)), nodeid)
