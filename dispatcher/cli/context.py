"""State shared by all CLI commands: settings loaded once, errors printed plainly."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from dispatcher.config import Settings

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print `message` as an error on stderr and exit non-zero."""
    err_console.print(f"[bold red]Error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@dataclass
class CliState:
    config_file: Path | None = None
    folders: dict[str, Path] = field(default_factory=dict)  # settings given as flags
    verbose: bool = False
    _settings: Settings | None = field(default=None, init=False)

    @property
    def loaded_settings(self) -> Settings | None:
        """The settings if a command has loaded them, without loading them."""
        return self._settings

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from dispatcher.config import ConfigError, load_settings

            try:
                self._settings = load_settings(self.config_file, **self.folders)
            except ConfigError as exc:
                fail(str(exc), code=2)
        return self._settings


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    if not isinstance(obj, CliState):
        obj = CliState()
        ctx.find_root().obj = obj
    return obj
