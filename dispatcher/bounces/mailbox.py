"""Where bounces are read from: an IMAP mailbox (as a hosted function mailbox is read), or a
local Maildir. Each hands out its messages as bytes and moves a handled one to a folder, so
nothing is read twice and nothing is deleted.

IMAP moves with MOVE (RFC 6851) where the server has it; otherwise it copies, and only once the
copy has succeeded marks the original deleted and expunges that one message by UID (UIDPLUS),
never the whole folder, which would take mail another client had marked.
"""

from __future__ import annotations

import ipaddress
import mailbox
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Protocol

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from dispatcher.config import Settings

BATCH = 50  # messages fetched per IMAP round trip
IMAP_TIMEOUT = 15.0  # within the daemon's shutdown grace (20 s)


class MailboxUnavailable(Exception):
    """The mailbox cannot be read: the message says which one and why."""


class Mailbox(Protocol):
    name: str

    def messages(self, limit: int) -> Iterator[tuple[str, bytes]]:
        """Up to `limit` messages waiting, as (key, the raw message)."""
        ...

    def move(self, key: str, folder: str) -> None: ...

    def close(self) -> None: ...


class ImapMailbox:
    """The bounce mailbox over IMAP; connects and logs in when made."""

    def __init__(self, settings: Settings) -> None:
        host, port = settings.bounce_imap_host or "", settings.bounce_imap_port
        self.name = f"imap://{settings.bounce_imap_username or ''}@{host}:{port}"
        self._folder = settings.bounce_imap_folder
        self._created: set[str] = set()
        if settings.bounce_imap_tls == "none" and not _loopback(host):
            raise MailboxUnavailable(
                f"{self.name}: DISPATCHER_BOUNCE_IMAP_TLS=none to a server that is not on this "
                "host would send the password in clear; use tls or starttls"
            )
        try:
            self._client = IMAPClient(
                host,
                port=port,
                ssl=settings.bounce_imap_tls == "tls",
                ssl_context=ssl.create_default_context(),
                timeout=IMAP_TIMEOUT,
            )
        except (OSError, IMAPClientError) as exc:
            raise MailboxUnavailable(f"{self.name}: cannot connect: {_why(exc)}") from exc
        try:
            if settings.bounce_imap_tls == "starttls":
                self._client.starttls(ssl.create_default_context())
            password = settings.bounce_imap_password
            self._client.login(
                settings.bounce_imap_username or "",
                password.get_secret_value() if password else "",
            )
            self._client.select_folder(self._folder)
        except LoginError as exc:
            self.close()
            raise MailboxUnavailable(f"{self.name}: the login was refused: {_why(exc)}") from exc
        except (OSError, IMAPClientError) as exc:
            self.close()
            raise MailboxUnavailable(f"{self.name}: {self._folder}: {_why(exc)}") from exc

    def messages(self, limit: int) -> Iterator[tuple[str, bytes]]:
        try:
            uids = sorted(self._client.search(["NOT", "DELETED"]))[:limit]
            for start in range(0, len(uids), BATCH):
                fetched = self._client.fetch(uids[start : start + BATCH], ["BODY.PEEK[]"])
                for uid, data in sorted(fetched.items()):
                    yield str(uid), bytes(data.get(b"BODY[]", b""))
        except (OSError, IMAPClientError) as exc:
            raise MailboxUnavailable(f"{self.name}: reading {self._folder}: {_why(exc)}") from exc

    def move(self, key: str, folder: str) -> None:
        uid = [int(key)]
        try:
            if folder not in self._created:
                if not self._client.folder_exists(folder):
                    self._client.create_folder(folder)
                self._created.add(folder)
            if self._client.has_capability("MOVE"):
                self._client.move(uid, folder)
                return
            self._client.copy(uid, folder)
            self._client.delete_messages(uid)
            if self._client.has_capability("UIDPLUS"):
                self._client.uid_expunge(uid)
        except (OSError, IMAPClientError) as exc:
            raise MailboxUnavailable(f"{self.name}: moving to {folder}: {_why(exc)}") from exc

    def close(self) -> None:
        try:
            self._client.logout()
        except (OSError, IMAPClientError):
            with suppress(OSError):
                self._client.shutdown()


class MaildirMailbox:
    """A local Maildir; handled messages go to its subfolders (Maildir++, `.NAME`)."""

    def __init__(self, path: Path) -> None:
        self.name = f"maildir:{path}"
        if not (path / "cur").is_dir() or not (path / "new").is_dir():
            raise MailboxUnavailable(f"{self.name}: not a Maildir (no cur/ and new/ in it)")
        self._box = mailbox.Maildir(path, create=False)

    def messages(self, limit: int) -> Iterator[tuple[str, bytes]]:
        try:
            keys = sorted(self._box.keys())[:limit]
            for key in keys:
                yield key, self._box.get_bytes(key)
        except OSError as exc:
            raise MailboxUnavailable(f"{self.name}: {_why(exc)}") from exc

    def move(self, key: str, folder: str) -> None:
        """Into the folder, then out of the inbox: a crash in between leaves a copy in both,
        and the one in the inbox is read again, which changes nothing."""
        try:
            target = (
                self._box.get_folder(folder)
                if folder in self._box.list_folders()
                else self._box.add_folder(folder)
            )
            target.add(self._box.get_bytes(key))
            self._box.discard(key)
        except OSError as exc:
            raise MailboxUnavailable(f"{self.name}: moving to {folder}: {_why(exc)}") from exc

    def close(self) -> None:
        self._box.close()


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _why(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return f"no answer within {IMAP_TIMEOUT:g} s"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc)
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    return text or type(exc).__name__


def openers(settings: Settings) -> list[Callable[[], Mailbox]]:
    """How to open each configured mailbox; each is opened (and may fail) on its own."""
    found: list[Callable[[], Mailbox]] = []
    if settings.bounce_imap_host is not None:
        found.append(lambda: ImapMailbox(settings))
    if (maildir := settings.bounce_maildir) is not None:
        found.append(lambda: MaildirMailbox(maildir))
    return found
