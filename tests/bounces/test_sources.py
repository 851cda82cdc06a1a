"""The other ways the reader runs and reads: a local Maildir, `dispatcher bounces check`, the
daemon's leader (and only the leader), and `incident show` listing who was not reached."""

from __future__ import annotations

import asyncio
import mailbox
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from dispatcher.bounces.reader import BounceReader, check_once
from dispatcher.cli.app import app
from dispatcher.clock import SystemClock
from dispatcher.daemon.serve import Daemon
from dispatcher.mailcatcher import free_port
from tests.bounces.conftest import Told
from tests.bounces.test_reader import PROCESSED, address
from tests.support.clock import FakeClock
from tests.support.dovecot import Account


def env_of(told: Told) -> dict[str, str]:
    s = told.runtime.settings
    assert s.bounce_imap_password is not None
    return {
        "DISPATCHER_DATABASE_URL": s.database_url,
        "DISPATCHER_CONTACTS_DIR": str(s.contacts_dir),
        "DISPATCHER_TEMPLATES_DIR": str(s.templates_dir),
        "DISPATCHER_BOUNCE_ADDRESS": s.bounce_address or "",
        "DISPATCHER_BOUNCE_IMAP_HOST": s.bounce_imap_host or "",
        "DISPATCHER_BOUNCE_IMAP_PORT": str(s.bounce_imap_port),
        "DISPATCHER_BOUNCE_IMAP_TLS": "none",
        "DISPATCHER_BOUNCE_IMAP_USERNAME": s.bounce_imap_username or "",
        "DISPATCHER_BOUNCE_IMAP_PASSWORD": s.bounce_imap_password.get_secret_value(),
    }


class TestMaildir:
    """A local Maildir is read like the IMAP folder; handled mail goes to its subfolders."""

    async def test_bounces_from_a_maildir(
        self, told: Told, tmp_path: Path, clock: FakeClock
    ) -> None:
        box = mailbox.Maildir(tmp_path / "bounces", create=True)
        box.add(told.bounce("postfix_rfc3464", address(told, 101)))
        box.add(told.bounce("out_of_office", address(told, 147)))
        settings = told.runtime.settings.model_copy(
            update={"bounce_imap_host": None, "bounce_maildir": tmp_path / "bounces"}
        )
        done = check_once(replace(told.runtime, settings=settings), clock)
        assert sorted(h.verdict for h in done.handled) == ["bounce", "not a bounce"]
        assert told.statuses()[address(told, 101)][0] == "bounced"
        assert len(box) == 0
        assert len(box.get_folder(PROCESSED)) == 1
        assert len(box.get_folder("Dispatcher-ignored")) == 1

    async def test_a_folder_that_is_no_maildir(
        self, told: Told, tmp_path: Path, clock: FakeClock
    ) -> None:
        settings = told.runtime.settings.model_copy(
            update={"bounce_imap_host": None, "bounce_maildir": tmp_path}
        )
        done = check_once(replace(told.runtime, settings=settings), clock)
        assert done.problems == [f"maildir:{tmp_path}: not a Maildir (no cur/ and new/ in it)"]


class TestTheCommand:
    """`dispatcher bounces check` reads once and says what it did; a mailbox it cannot read
    is an error naming it, exit 1."""

    async def test_check_once(self, told: Told, mailbox: Account) -> None:
        mailbox.append(told.bounce("postfix_rfc3464", address(told, 101)))
        result = CliRunner().invoke(app, ["bounces", "check"], env=env_of(told))
        assert result.exit_code == 0, result.output
        assert "bounce Undelivered Mail Returned to Sender → Dispatcher-processed" in result.stdout
        assert "bounced: Københavns Kommune not reached" in result.stdout
        assert "1 message(s) read, 1 bounce(s) recorded." in result.stdout

    async def test_a_wrong_password(self, told: Told, mailbox: Account) -> None:
        env = env_of(told) | {"DISPATCHER_BOUNCE_IMAP_PASSWORD": "wrong"}
        result = CliRunner().invoke(app, ["bounces", "check"], env=env)
        assert result.exit_code == 1
        assert "the login was refused: [AUTHENTICATIONFAILED]" in result.stderr
        assert "wrong" not in result.stderr

    async def test_nothing_configured(self, told: Told) -> None:
        env = env_of(told) | {"DISPATCHER_BOUNCE_IMAP_HOST": ""}
        env.pop("DISPATCHER_BOUNCE_IMAP_HOST")
        result = CliRunner().invoke(app, ["bounces", "check"], env=env)
        assert result.exit_code == 1
        assert "no bounce mailbox is configured" in result.stderr

    async def test_incident_show_lists_the_bounce(self, told: Told, mailbox: Account) -> None:
        mailbox.append(told.bounce("postfix_rfc3464", address(told, 101)))
        CliRunner().invoke(app, ["bounces", "check"], env=env_of(told))
        result = CliRunner().invoke(app, ["incident", "show", str(told.number)], env=env_of(told))
        assert result.exit_code == 0, result.output
        assert "✗ BOUNCED" in result.stdout
        assert (
            f"BOUNCED #1 to {address(told, 101)} (kommune-101): 5.1.1 smtp; 550 5.1.1"
            in " ".join(result.stdout.split())
        )


class TestInTheDaemon:
    """The daemon reads the bounces under its supervisor, on the leader only."""

    async def test_a_follower_reads_nothing(self, told: Told, mailbox: Account) -> None:
        mailbox.append(told.bounce("postfix_rfc3464", address(told, 101)))
        reader = BounceReader(told.runtime, SystemClock(), leading=lambda: False, on_recorded=print)
        stop = asyncio.Event()
        running = asyncio.create_task(reader.run(stop))
        await asyncio.sleep(1)
        stop.set()
        await running
        assert len(mailbox.folder("INBOX")) == 1

    async def test_the_leader_reads_them(self, told: Told, mailbox: Account) -> None:
        mailbox.append(told.bounce("postfix_rfc3464", address(told, 101)))
        settings = told.runtime.settings.model_copy(
            update={"http_port": free_port(), "bounce_check_interval": timedelta(seconds=0.2)}
        )
        daemon = Daemon(replace(told.runtime, settings=settings), SystemClock())
        running = asyncio.create_task(daemon.run())
        try:
            async with asyncio.timeout(60):
                while told.statuses()[address(told, 101)][0] != "bounced":
                    await asyncio.sleep(0.1)
            assert "bounces" in daemon.supervisor.health()
        finally:
            daemon.stop.set()
            await running
        assert len(mailbox.folder(PROCESSED)) == 1
