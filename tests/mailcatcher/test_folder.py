"""The mail catcher's folder: numbered on, never overwritten."""

from __future__ import annotations

import smtplib
from pathlib import Path

from dispatcher.mailcatcher import CatcherHandler, MailCatcher


def send(catcher: MailCatcher, subject: str) -> None:
    message = f"Subject: {subject}\r\n\r\nbody\r\n".encode()
    with smtplib.SMTP(catcher.host, catcher.port) as client:
        client.sendmail("medcom@example.dk", ["kommune@example.dk"], message)


class TestRestartOnTheSameFolder:
    """A catcher restarted on a folder numbers on from the highest file and keeps the old mail."""

    def test_numbering_continues_and_nothing_is_overwritten(self, tmp_path: Path) -> None:
        with MailCatcher(CatcherHandler(tmp_path)) as first:
            send(first, "først")
            send(first, "anden")
        (tmp_path / "00007.eml").write_bytes(b"Subject: kept by hand\r\n\r\n")
        with MailCatcher(CatcherHandler(tmp_path)) as second:
            send(second, "tredje")
        names = sorted(p.name for p in tmp_path.iterdir())
        assert names == ["00001.eml", "00002.eml", "00007.eml", "00008.eml"]
        assert b"Subject: f" in (tmp_path / "00001.eml").read_bytes()
        assert b"kept by hand" in (tmp_path / "00007.eml").read_bytes()
        assert b"X-Envelope-To: kommune@example.dk" in (tmp_path / "00008.eml").read_bytes()

    def test_a_file_that_appears_meanwhile_is_skipped(self, tmp_path: Path) -> None:
        with MailCatcher(CatcherHandler(tmp_path)) as catcher:
            (tmp_path / "00001.eml").write_bytes(b"Subject: another process\r\n\r\n")
            send(catcher, "min")
        assert b"another process" in (tmp_path / "00001.eml").read_bytes()
        assert b"X-Envelope-To" in (tmp_path / "00002.eml").read_bytes()
