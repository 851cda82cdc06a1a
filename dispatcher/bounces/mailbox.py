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
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from dispatcher.config import Settings

BATCH = 50  # messages fetched per IMAP round trip


class Step(StrEnum):
    """How far opening the IMAP mailbox got before it failed."""

    CA_FILE = "ca-file"  # DISPATCHER_BOUNCE_IMAP_CA_FILE cannot be read
    CONNECT = "connect"  # the TCP connection or the server's greeting
    TLS = "tls"  # the TLS handshake or the certificate
    LOGIN = "login"
    FOLDER = "folder"


class MailboxUnavailable(Exception):
    """The mailbox cannot be read: the message says which one and why; `step` what failed."""

    def __init__(self, message: str, step: Step = Step.CONNECT) -> None:
        super().__init__(message)
        self.step = step


class Mailbox(Protocol):
    name: str

    def messages(self, limit: int) -> Iterator[tuple[str, bytes]]:
        """Up to `limit` messages waiting, as (key, the raw message)."""
        ...

    def move(self, key: str, folder: str) -> None: ...

    def close(self) -> None: ...


def imap_name(settings: Settings) -> str:
    host, port = settings.bounce_imap_host or "", settings.bounce_imap_port
    return f"imap://{settings.bounce_imap_username or ''}@{host}:{port}"


def open_imap(settings: Settings) -> IMAPClient:
    """A client connected (TLS as configured, the certificate verified against
    `DISPATCHER_BOUNCE_IMAP_CA_FILE` or the system CAs) and logged in; every wait bounded by
    `DISPATCHER_BOUNCE_IMAP_TIMEOUT`."""
    name, host, mode = (
        imap_name(settings),
        settings.bounce_imap_host or "",
        settings.bounce_imap_tls,
    )
    timeout = settings.bounce_imap_timeout.total_seconds()
    if mode == "none" and not _loopback(host):
        raise MailboxUnavailable(
            f"{name}: DISPATCHER_BOUNCE_IMAP_TLS=none to a server that is not on this host "
            "would send the password in clear; use tls or starttls",
            Step.TLS,
        )
    try:
        context = ssl.create_default_context(cafile=settings.bounce_imap_ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise MailboxUnavailable(
            f"{name}: the CA file {settings.bounce_imap_ca_file} cannot be used: {exc}",
            Step.CA_FILE,
        ) from exc
    try:
        client = IMAPClient(
            host,
            port=settings.bounce_imap_port,
            ssl=mode == "tls",
            ssl_context=context,
            timeout=timeout,
        )
    except ssl.SSLError as exc:
        raise MailboxUnavailable(f"{name}: TLS: {_why(exc, timeout)}", Step.TLS) from exc
    except (OSError, IMAPClientError) as exc:
        raise MailboxUnavailable(f"{name}: cannot connect: {_why(exc, timeout)}") from exc
    step = Step.TLS
    try:
        if mode == "starttls":
            client.starttls(context)
        step = Step.LOGIN
        password = settings.bounce_imap_password
        client.login(
            settings.bounce_imap_username or "",
            password.get_secret_value() if password else "",
        )
    except LoginError as exc:
        close_imap(client)
        raise MailboxUnavailable(
            f"{name}: the login was refused: {_why(exc, timeout)}", step
        ) from exc
    except (OSError, IMAPClientError) as exc:
        close_imap(client)
        what = "STARTTLS" if step is Step.TLS else "logging in"
        raise MailboxUnavailable(f"{name}: {what}: {_why(exc, timeout)}", step) from exc
    return client


class ImapMailbox:
    """The bounce mailbox over IMAP; connects, logs in and selects the folder when made."""

    def __init__(self, settings: Settings) -> None:
        self.name = imap_name(settings)
        self._folder = settings.bounce_imap_folder
        self._timeout = settings.bounce_imap_timeout.total_seconds()
        self._created: set[str] = set()
        self._client = open_imap(settings)
        try:
            self._client.select_folder(self._folder)
        except (OSError, IMAPClientError) as exc:
            self.close()
            why = _why(exc, self._timeout)
            raise MailboxUnavailable(f"{self.name}: {self._folder}: {why}", Step.FOLDER) from exc

    def messages(self, limit: int) -> Iterator[tuple[str, bytes]]:
        try:
            uids = sorted(self._client.search(["NOT", "DELETED"]))[:limit]
            for start in range(0, len(uids), BATCH):
                fetched = self._client.fetch(uids[start : start + BATCH], ["BODY.PEEK[]"])
                for uid, data in sorted(fetched.items()):
                    yield str(uid), bytes(data.get(b"BODY[]", b""))
        except (OSError, IMAPClientError) as exc:
            why = _why(exc, self._timeout)
            raise MailboxUnavailable(f"{self.name}: reading {self._folder}: {why}") from exc

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
            why = _why(exc, self._timeout)
            raise MailboxUnavailable(f"{self.name}: moving to {folder}: {why}") from exc

    def close(self) -> None:
        close_imap(self._client)


def close_imap(client: IMAPClient) -> None:
    try:
        client.logout()
    except (OSError, IMAPClientError):
        with suppress(OSError):
            client.shutdown()


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


def _why(exc: BaseException, timeout: float = 0) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return f"no answer within {timeout:g} s (DISPATCHER_BOUNCE_IMAP_TIMEOUT)"
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
