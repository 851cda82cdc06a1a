"""deploy/compose.yaml and deploy/Containerfile agree with the code, without building or
starting anything (the image build itself is deploy/build-image.sh, too slow for CI): every
setting they name exists, every command they run parses, and the ports line up."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from dispatcher.cli.app import app
from dispatcher.config import Settings
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
SETTINGS = {f"DISPATCHER_{name.upper()}" for name in Settings.model_fields}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def parses(arguments: list[str]) -> None:
    """`dispatcher ARGUMENTS` names a command and options it has (nothing runs)."""
    command: Any = typer.main.get_command(app)
    words = list(arguments)
    while hasattr(command, "get_command") and words and not words[0].startswith("-"):
        found = command.get_command(command.context_class(command), words[0])
        assert found is not None, f"no command {words[0]!r} in {arguments}"
        command, words = found, words[1:]
    assert not hasattr(command, "get_command"), f"{arguments} names a group, not a command"
    command.make_context("dispatcher", words)


def services_with(compose: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: s[key] for name, s in compose["services"].items() if key in s}


class TestCompose:
    """The drill's compose file names real settings, commands, files and ports."""

    def test_every_service_builds_from_the_containerfile(self, compose: dict[str, Any]) -> None:
        builds = services_with(compose, "build")
        assert set(builds) == {"mailcatcher", "cli", "dispatcher-1", "dispatcher-2"}
        for build in builds.values():
            assert (DEPLOY / build["context"] / build["dockerfile"]).is_file()

    def test_every_dispatcher_variable_is_a_setting(self, compose: dict[str, Any]) -> None:
        named = {
            key
            for environment in services_with(compose, "environment").values()
            for key in environment
            if key.startswith("DISPATCHER_")
        }
        assert named, "the replicas get their settings from the environment"
        assert named - SETTINGS == set()

    def test_every_command_parses(self, compose: dict[str, Any]) -> None:
        commands = services_with(compose, "command")
        assert {"mailcatcher", "cli"} <= set(commands)
        for name, command in commands.items():
            if name != "postgres":
                parses(command)

    def test_each_replica_port_is_published_and_distinct(self, compose: dict[str, Any]) -> None:
        services = compose["services"]
        replicas = {n: s for n, s in services.items() if n.startswith("dispatcher-")}
        ports = {n: s["environment"]["DISPATCHER_HTTP_PORT"] for n, s in replicas.items()}
        assert len(set(ports.values())) == len(replicas) == 2
        published = services["mailcatcher"]["ports"]
        for replica in replicas.values():
            assert replica["network_mode"] == "service:mailcatcher"
            port = replica["environment"]["DISPATCHER_HTTP_PORT"]
            assert f"{port}:{port}" in published
            assert replica["environment"]["DISPATCHER_PUBLIC_URL"].endswith(f":{port}")

    def test_the_replicas_wait_for_the_migration(self, compose: dict[str, Any]) -> None:
        assert compose["services"]["cli"]["command"] == ["db", "upgrade"]
        for name, service in compose["services"].items():
            if name.startswith("dispatcher-"):
                assert service["depends_on"]["cli"] == {
                    "condition": "service_completed_successfully"
                }


class TestContainerfile:
    """The image's settings and command are the dispatcher's."""

    def test_env_names_settings_and_the_entrypoint_runs_serve(self) -> None:
        text = (DEPLOY / "Containerfile").read_text(encoding="utf-8")
        named = set(re.findall(r"\b(DISPATCHER_[A-Z_]+)=", text))
        assert named
        assert named - SETTINGS == set()
        assert 'ENTRYPOINT ["dispatcher"]' in text
        parses(["serve"])

    def test_what_it_copies_exists(self) -> None:
        text = (DEPLOY / "Containerfile").read_text(encoding="utf-8")
        sources = [line.split()[1:-1] for line in text.splitlines() if line.startswith("COPY ")]
        mounted = re.findall(r"--mount=type=bind,source=([^,]+),", text)
        for source in [part for parts in sources for part in parts] + mounted:
            assert (ROOT / source).exists(), source
        assert Path(ROOT / "deploy" / "build-image.sh").stat().st_mode & 0o111
