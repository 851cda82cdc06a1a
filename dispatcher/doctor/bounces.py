"""The `bounce-mailbox` check: the mailboxes bounces are read from can be read as the reader
reads them — over IMAP the connection, TLS as configured (the certificate verified), the login
and the folders; a local Maildir is one. It moves and changes nothing."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from imapclient.exceptions import IMAPClientError

from dispatcher.bounces.mailbox import (
    MailboxUnavailable,
    MaildirMailbox,
    Step,
    close_imap,
    imap_name,
    open_imap,
)
from dispatcher.config import Settings
from dispatcher.doctor.result import CheckResult, Status

NAME = "bounce-mailbox"
FIXES = {
    Step.CA_FILE: "set DISPATCHER_BOUNCE_IMAP_CA_FILE to a readable PEM file of CA certificates",
    Step.CONNECT: "check DISPATCHER_BOUNCE_IMAP_HOST and DISPATCHER_BOUNCE_IMAP_PORT, that the "
    "IMAP server runs, and that no firewall stops this host",
    Step.TLS: "check that DISPATCHER_BOUNCE_IMAP_TLS matches DISPATCHER_BOUNCE_IMAP_PORT: `tls` "
    "for implicit TLS (usually 993), `starttls` for 143; `none` only to a server on this host",
    Step.LOGIN: "check DISPATCHER_BOUNCE_IMAP_USERNAME and DISPATCHER_BOUNCE_IMAP_PASSWORD with "
    "the mailbox's administrator",
}
TRUST_FIX = (
    "set DISPATCHER_BOUNCE_IMAP_CA_FILE to the CA bundle that signed the IMAP server's "
    "certificate, and DISPATCHER_BOUNCE_IMAP_HOST to a name the certificate is for"
)
RANK = (Status.PASS, Status.WARN, Status.FAIL)


@dataclass(frozen=True)
class Found:
    status: Status
    line: str
    fix: str | None = None


def bounce_mailbox(settings: Settings) -> CheckResult:
    found = []
    if settings.bounce_imap_host is not None:
        found.append(_imap(settings))
    if settings.bounce_maildir is not None:
        found.append(_maildir(settings.bounce_maildir))
    if not found:
        if settings.bounce_address is not None:
            return CheckResult(
                NAME,
                Status.WARN,
                f"no mailbox is read, but DISPATCHER_BOUNCE_ADDRESS={settings.bounce_address} "
                "sends the bounces there: nobody records them",
                "set DISPATCHER_BOUNCE_IMAP_HOST (with _USERNAME and _PASSWORD) or "
                "DISPATCHER_BOUNCE_MAILDIR to the mailbox behind that address",
            )
        return CheckResult(
            NAME,
            Status.PASS,
            "not configured: bounces are not read (DISPATCHER_BOUNCE_IMAP_HOST or "
            "DISPATCHER_BOUNCE_MAILDIR; see Bounces in the README)",
        )
    worst = max(found, key=lambda f: RANK.index(f.status))
    others = tuple(f.line for f in found if f is not worst)
    return CheckResult(NAME, worst.status, worst.line, worst.fix, others)


def _imap(settings: Settings) -> Found:
    try:
        client = open_imap(settings)
    except MailboxUnavailable as exc:
        fix = FIXES.get(exc.step, FIXES[Step.CONNECT])
        if isinstance(exc.__cause__, ssl.SSLCertVerificationError):
            fix = TRUST_FIX
        return Found(Status.FAIL, str(exc), fix)
    name, folder = imap_name(settings), settings.bounce_imap_folder
    moved_to = (settings.bounce_processed_folder, settings.bounce_ignored_folder)
    try:
        if not client.folder_exists(folder):
            names = ", ".join(sorted(str(f[2]) for f in client.list_folders()))
            return Found(
                Status.FAIL,
                f"{name}: logged in, but there is no folder {folder} (the server has: {names})",
                "set DISPATCHER_BOUNCE_IMAP_FOLDER to the folder bounces arrive in",
            )
        waiting = client.folder_status(folder, [b"MESSAGES"])[b"MESSAGES"]
        missing = [f for f in moved_to if not client.folder_exists(f)]
    except (OSError, IMAPClientError) as exc:
        return Found(Status.FAIL, f"{name}: reading the folders: {exc}", FIXES[Step.CONNECT])
    finally:
        close_imap(client)
    line = f"{name}: {_security(settings)}; logged in; {folder} has {waiting} message(s)"
    if missing:
        return Found(
            Status.WARN,
            f"{line}; {' and '.join(missing)} do(es) not exist",
            "create them, or let the reader create them when it first moves a message there "
            "(the account must be allowed to create folders)",
        )
    return Found(Status.PASS, f"{line}; {' and '.join(moved_to)} exist")


def _security(settings: Settings) -> str:
    mode = settings.bounce_imap_tls
    if mode == "none":
        return "no TLS (DISPATCHER_BOUNCE_IMAP_TLS=none), on this host"
    ca = settings.bounce_imap_ca_file
    trusted = f"CA file {ca}" if ca is not None else "the system CAs"
    kind = "implicit TLS" if mode == "tls" else "STARTTLS"
    return f"{kind}, the certificate trusted by {trusted}"


def _maildir(path: Path) -> Found:
    try:
        MaildirMailbox(path).close()
    except MailboxUnavailable as exc:
        return Found(
            Status.FAIL, str(exc), "set DISPATCHER_BOUNCE_MAILDIR to the Maildir bounces go to"
        )
    return Found(Status.PASS, f"maildir:{path} is a Maildir")
