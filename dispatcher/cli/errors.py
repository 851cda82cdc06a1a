"""The one place where an error no command handles becomes one or two plain lines: what is
wrong, where, and what to check. The traceback is printed only under `--verbose` (or with
`DISPATCHER_LOG_LEVEL=DEBUG`); the exit code is 1.

Known: a locked SQLite database, a PostgreSQL server that cannot be reached or refuses the
login, a schema this version does not work with, a missing package, a file that cannot be
opened. Anything else is a bug, and says so.
"""

from __future__ import annotations

import re
import sqlite3
import traceback
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

from dispatcher.cli.context import CliState, err_console, fail

if TYPE_CHECKING:
    from sqlalchemy.engine import URL
    from sqlalchemy.exc import DBAPIError

CHECK_DATABASE = (
    "check DISPATCHER_DATABASE_URL, and that the database server runs and lets this host in"
)
PSYCOPG_PREAMBLE = re.compile(
    r"^connection failed: (connection to server .*? failed: )?(FATAL: +)?"
)
BUG = "this is a bug: run the command again with --verbose and report what it prints"
# click suggests any option at least 60 % alike ("--foo": "--eoj"); a suggestion should look
# like a typo of what was typed.
SUGGESTION_LIKENESS = 0.75


class ExplainingGroup(TyperGroup):
    """The root command: what its subcommands raise past click is explained, not dumped."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except typer.TyperException as exc:
            _only_likely_suggestions(exc)
            raise

    def invoke(self, ctx: Any) -> Any:  # Any: typer's vendored click.Context is private
        try:
            return super().invoke(ctx)
        except (typer.TyperException, typer.Exit, typer.Abort) as exc:  # usage errors, exits
            _only_likely_suggestions(exc)
            raise
        except Exception as exc:  # the CLI's last word on anything the commands did not handle
            cli = ctx.obj if isinstance(ctx.obj, CliState) else CliState()
            settings = cli.loaded_settings
            if cli.verbose or (settings is not None and settings.log_level == "DEBUG"):
                err_console.print(
                    "".join(traceback.format_exception(exc)).rstrip(),
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
            url = settings.database_url if settings is not None else None
            fail("\n  ".join(explain(exc, url)))


def _only_likely_suggestions(exc: BaseException) -> None:
    """Keep only the suggested options that look like a typo of the unknown one."""
    typed = getattr(exc, "option_name", None)
    offered = getattr(exc, "possibilities", None)
    if isinstance(typed, str) and offered:
        likely = [
            o for o in offered if SequenceMatcher(None, typed, o).ratio() >= SUGGESTION_LIKENESS
        ]
        setattr(exc, "possibilities", likely)  # noqa: B010 - typer's vendored click is private


def explain(exc: Exception, database_url: str | None) -> list[str]:
    """One or two lines for `exc`; `database_url` (from the settings, if they loaded) says
    where a database error happened."""
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    from dispatcher.store.schema import SchemaMismatch

    if isinstance(exc, SchemaMismatch):
        return [f"cannot use the database {_shown(database_url)}: {exc}"]
    if isinstance(exc, DBAPIError):
        return _database(exc, database_url)
    if isinstance(exc, SQLAlchemyError):
        return [
            f"cannot use the database {_shown(database_url)}: {_first_line(exc)}",
            CHECK_DATABASE,
        ]
    if isinstance(exc, ImportError):
        return [
            f"a package the dispatcher needs cannot be imported: {exc.name or _first_line(exc)}",
            "reinstall the dispatcher with its dependencies (pip install .) in its virtualenv",
        ]
    if isinstance(exc, OSError) and exc.filename is not None:
        return [
            f"cannot use {exc.filename}: {exc.strerror or _first_line(exc)}",
            "check that it exists and that this user may read and write it",
        ]
    return [f"unexpected {type(exc).__name__}: {_first_line(exc)}", BUG]


def _database(exc: DBAPIError, database_url: str | None) -> list[str]:
    driver = str(exc.orig)
    said = driver.lower()
    shown = _shown(database_url)
    url = _parsed(database_url)
    if isinstance(exc.orig, sqlite3.Error):
        path = url.database if url is not None else None
        if "database is locked" in said:
            return [
                f"the database {path or shown} is locked: another process holds its write lock",
                "try again in a minute; if it stays locked, look for a stuck `dispatcher` "
                "command, a backup or an open `sqlite3` shell on that file",
            ]
        if "unable to open database file" in said:
            return [
                f"cannot open the SQLite database {path or shown}",
                "check that its folder exists and that this user may write to it",
            ]
        return [f"cannot use the database {shown}: {_first_line(driver)}", CHECK_DATABASE]
    server = f"PostgreSQL at {url.host or 'localhost'}:{url.port or 5432}" if url else "PostgreSQL"
    where = f"cannot use the database {shown}"
    if "connection refused" in said:
        return [
            f"{where}: {server} refuses connections",
            "check that PostgreSQL runs there and that DISPATCHER_DATABASE_URL names the right "
            "host and port",
        ]
    if "resolve host" in said or "translate host name" in said or "name or service" in said:
        return [
            f"{where}: the host {url.host if url else ''} is not known",
            "check the host name in DISPATCHER_DATABASE_URL and this host's DNS",
        ]
    if "timeout expired" in said or "timed out" in said:
        return [
            f"{where}: no answer from {server}",
            "check the network and firewall between this host and the database server",
        ]
    refused = ("authentication failed", "pg_hba.conf", "no password", 'role "')
    if any(words in said for words in refused):
        user = (url.username if url else None) or "(the default)"
        return [
            f"{where}: {server} does not let user {user} in",
            "check the user and password in DISPATCHER_DATABASE_URL and the server's pg_hba.conf",
        ]
    if "does not exist" in said and "database" in said:
        return [
            f"{where}: {server} has no database {url.database if url else ''}",
            "create it (createdb) or correct the database name in DISPATCHER_DATABASE_URL",
        ]
    return [f"{where}: {_first_line(driver)}", CHECK_DATABASE]


def _parsed(database_url: str | None) -> URL | None:
    from sqlalchemy.engine import make_url

    return make_url(database_url) if database_url is not None else None


def _shown(database_url: str | None) -> str:
    """The URL with any password masked."""
    url = _parsed(database_url)
    return url.render_as_string(hide_password=True) if url is not None else "(not configured)"


def _first_line(error: object) -> str:
    """The first line of an error's message (a driver's may run to several), without
    psycopg's "connection failed: connection to server at …, port … failed: FATAL:"."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return PSYCOPG_PREAMBLE.sub("", lines[0]) if lines else type(error).__name__
