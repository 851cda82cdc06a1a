"""The acceptance of issue #13: the package built as a wheel and installed into a fresh
environment runs `dispatcher demo` in an empty directory, on the packaged templates and
contacts, and writes its mail folder there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.conftest import ROOT

# Not part of the package's build: the checkout's environments, caches and the demo's output.
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "var", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"
)


def run(*command: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def fresh_environment(target: Path) -> Path:
    """A venv without pip whose only extra path is this environment's site-packages, for the
    dependencies: the package itself must come from the wheel, not from the checkout (a path
    line in a .pth file does not run the editable install's own .pth hooks)."""
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / "bin" / "python"
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    ours = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    (Path(site.strip()) / "dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    return python


@pytest.mark.slow
def test_the_installed_wheel_runs_the_demo_in_an_empty_directory(tmp_path: Path) -> None:
    source = tmp_path / "checkout"
    shutil.copytree(ROOT, source, symlinks=True, ignore=NOT_COPIED)
    wheels = tmp_path / "wheels"
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, source)
    (wheel,) = wheels.glob("*.whl")
    python = fresh_environment(tmp_path / "env")
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheel)
    shutil.rmtree(source)
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISPATCHER_", "PYTHON"))}
    env["COLUMNS"] = "200"

    where = run(python, "-c", "import dispatcher; print(dispatcher.__file__)", cwd=empty, env=env)
    output = run(tmp_path / "env" / "bin" / "dispatcher", "demo", cwd=empty, env=env)

    assert Path(where.strip()).is_relative_to(tmp_path / "env")
    assert sorted(p.name for p in empty.iterdir()) == ["var"]
    messages = list((empty / "var" / "mail").glob("*.eml"))
    assert len(messages) > 98 * 3
    assert "Signal → all 98 municipalities informed" in output
