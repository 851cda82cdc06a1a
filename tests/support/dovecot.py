"""A real IMAP server for the tests: Debian's Dovecot (`dovecot-imapd`, which `.ci/run`
installs), started on loopback on a free port with a throw-away configuration — its own
base_dir, users in a static passwd-file, mail in a temporary folder, no systemd. Without a
certificate it speaks plain IMAP only; with one (from tests/support/tls.py's test CA) it also
offers STARTTLS on that port and implicit TLS on `tls_port`.

Run as root (as CI is), Dovecot's login processes run as the package's `dovenull` user and the
mail as `dovecot`; otherwise everything runs as the current user.
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from imapclient import IMAPClient
from pydantic import SecretStr

from dispatcher.config import Settings
from dispatcher.mailcatcher import free_port
from tests.support.tls import ServerCert

DOVECOT = "/usr/sbin/dovecot"
START_TIMEOUT = 30.0
LOG_WAIT = 20.0  # seconds to wait for a line Dovecot has yet to log
ACCOUNTS = 200  # made before the server starts, for `Dovecot.account`

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = dispatcher-test-{port}
log_path = {root}/dovecot.log
listen = 127.0.0.1
protocols = imap
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {internal}
default_internal_group = {internal_group}
default_login_user = {login}
first_valid_uid = {uid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
"""


@dataclass(frozen=True)
class Account:
    """One mailbox on the server."""

    host: str
    port: int
    username: str
    password: str

    def passwd_line(self) -> str:
        return f"{self.username}:{{PLAIN}}{self.password}\n"

    def client(self) -> IMAPClient:
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        try:
            client.login(self.username, self.password)
        except BaseException:
            client.shutdown()
            raise
        return client

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        client = self.client()
        try:
            client.append(folder, raw)
        finally:
            client.logout()

    def folder(self, name: str) -> list[bytes]:
        """The messages in folder `name`, oldest first; empty if there is no such folder."""
        client = self.client()
        try:
            if not client.folder_exists(name):
                return []
            client.select_folder(name, readonly=True)
            uids = sorted(client.search(["NOT", "DELETED"]))
            fetched = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
            return [bytes(fetched[uid][b"BODY[]"]) for uid in uids]
        finally:
            client.logout()


class Dovecot:
    """The server, as a child process in the foreground (`-F`)."""

    def __init__(self, tls: ServerCert | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="dispatcher-dovecot-"))
        self.root.chmod(0o755)  # the login and mail users must reach the sockets and files
        self.port = free_port()
        self.tls_port = free_port() if tls is not None else 0
        ssl = f"ssl = yes\nssl_cert = <{tls.cert}\nssl_key = <{tls.key}" if tls else "ssl = no"
        self._unused = [self._new_account() for _ in range(ACCOUNTS)]
        passwd = "".join(a.passwd_line() for a in self._unused)
        (self.root / "passwd").write_text(passwd, encoding="utf-8")
        (self.root / "passwd").chmod(0o644)
        mail = self.root / "mail"
        mail.mkdir()
        if os.geteuid() == 0:
            internal, login = "dovecot", "dovenull"
            uid, gid = pwd.getpwnam(internal).pw_uid, grp.getgrnam(internal).gr_gid
            os.chown(mail, uid, gid)
        else:
            internal = login = pwd.getpwuid(os.getuid()).pw_name
            uid, gid = os.getuid(), os.getgid()
        internal_group = grp.getgrgid(gid).gr_name
        self.config = self.root / "dovecot.conf"
        self.config.write_text(
            CONFIG.format(
                root=self.root,
                port=self.port,
                tls_port=self.tls_port,
                ssl=ssl,
                internal=internal,
                internal_group=internal_group,
                login=login,
                uid=uid,
                gid=gid,
            ),
            encoding="utf-8",
        )
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.root / "stderr.log").open("wb") as stderr:
            self._process = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=stderr
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not self._greets():
            if self._process.poll() is not None:
                raise RuntimeError(f"dovecot did not start: {self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"dovecot did not answer within {START_TIMEOUT} s: {self.log()}")
            time.sleep(0.05)

    def _greets(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                return conn.recv(64).startswith(b"* OK")
        except OSError:
            return False

    def account(self) -> Account:
        """A new, empty mailbox with its own login: one of those written before the server
        started, while they last. A user added later is known only once Dovecot reloads the
        passwd-file, after a failed login that its authentication penalty makes cost seconds."""
        if self._unused:
            return self._unused.pop()
        account = self._new_account()
        with (self.root / "passwd").open("a", encoding="utf-8") as passwd:
            passwd.write(account.passwd_line())
        self._wait_for_login(account)
        return account

    def _new_account(self) -> Account:
        username = f"bounces-{uuid.uuid4().hex[:10]}@medcom.example"
        return Account("127.0.0.1", self.port, username, uuid.uuid4().hex)

    def _wait_for_login(self, account: Account) -> None:
        """Dovecot reloads the passwd-file when it changes; wait until it knows the user."""
        deadline = time.monotonic() + 10
        while True:
            try:
                account.client().logout()
                return
            except imaplib.IMAP4.error:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def log(self) -> str:
        paths = (self.root / "stderr.log", self.root / "dovecot.log")
        text = "".join(p.read_text(errors="replace") for p in paths if p.exists())
        return text[-2000:]

    def refused_handshakes(self, more_than: int = -1) -> int:
        """How many connections the client closed in the TLS handshake, refusing the server's
        certificate, before any login — waiting a moment for more than `more_than` to be
        logged (Dovecot writes its log from another process; under a loaded CI machine that took
        longer than 5 s once, so the wait is `LOG_WAIT`, and a count already reached returns at
        once)."""
        log = self.root / "dovecot.log"
        deadline = time.monotonic() + LOG_WAIT
        while True:
            text = log.read_text(errors="replace") if log.exists() else ""
            lines = text.splitlines()
            count = sum("alert unknown ca" in x and "no auth attempts" in x for x in lines)
            if count > more_than or time.monotonic() > deadline:
                return count
            time.sleep(0.05)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def serve(tls: ServerCert | None = None) -> Iterator[Dovecot]:
    """The body of a session fixture: a running server, or the test skipped (failed in CI)
    when Dovecot is not installed."""
    if shutil.which(DOVECOT) is None and not Path(DOVECOT).exists():
        if os.environ.get("CI"):
            pytest.fail("dovecot is not installed; .ci/run installs Debian's dovecot-imapd")
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd); CI runs these")
    server = Dovecot(tls)
    server.start()
    yield server
    server.stop()


def reading(settings: Settings, account: Account, bounce_address: str) -> Settings:
    """`settings` with `account` as the bounce mailbox (plain IMAP on loopback) and VERP
    return paths under `bounce_address`."""
    return settings.model_copy(update=imap_settings(account, bounce_address))


def imap_settings(account: Account, bounce_address: str) -> dict[str, object]:
    """The settings that make `account` the bounce mailbox and `bounce_address` the VERP
    return path, as a `Settings.model_copy` update."""
    return {
        "bounce_address": bounce_address,
        "bounce_imap_host": account.host,
        "bounce_imap_port": account.port,
        "bounce_imap_tls": "none",
        "bounce_imap_username": account.username,
        "bounce_imap_password": SecretStr(account.password),
    }
