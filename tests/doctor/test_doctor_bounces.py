"""The `bounce-mailbox` check against a real Dovecot: a mailbox the reader can read passes;
a wrong password, a server that is down, a folder that does not exist and a certificate that
cannot be verified fail with the fix; folders the reader has yet to create warn; nothing
configured is a neutral line. The check moves and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dispatcher.mailcatcher import free_port
from tests.doctor.conftest import Doctor
from tests.doctor.test_doctor_cli import check_lines
from tests.support.databases import SqliteDatabases
from tests.support.dovecot import Account, Dovecot, serve
from tests.support.tls import Pki

NAME = "bounce-mailbox"
MOVED_TO = ("Dispatcher-processed", "Dispatcher-ignored")


@pytest.fixture(scope="module")
def dovecot(pki: Pki) -> Iterator[Dovecot]:
    """Dovecot with the test CA's certificate: plain IMAP and STARTTLS on `port`, implicit
    TLS on `tls_port`."""
    yield from serve(pki.loopback)


@pytest.fixture
def mailbox(dovecot: Dovecot) -> Account:
    """A mailbox with one message waiting and the folders the reader moves messages to."""
    account = dovecot.account()
    client = account.client()
    try:
        for folder in MOVED_TO:
            client.create_folder(folder)
    finally:
        client.logout()
    account.append(b"From: a@b.example\r\nSubject: hej\r\n\r\nhej\r\n")
    return account


@pytest.fixture
def doctor(healthy_env: dict[str, str | None], sqlite_databases: SqliteDatabases) -> Doctor:
    """SQLite only: these tests are about the mailbox."""
    return Doctor({**healthy_env, "DISPATCHER_DATABASE_URL": sqlite_databases.new()})


def imap(account: Account, **env: str) -> dict[str, str]:
    return {
        "DISPATCHER_BOUNCE_IMAP_HOST": account.host,
        "DISPATCHER_BOUNCE_IMAP_PORT": str(account.port),
        "DISPATCHER_BOUNCE_IMAP_TLS": "none",
        "DISPATCHER_BOUNCE_IMAP_USERNAME": account.username,
        "DISPATCHER_BOUNCE_IMAP_PASSWORD": account.password,
        "DISPATCHER_BOUNCE_IMAP_TIMEOUT": "5s",
        **env,
    }


def check(doctor: Doctor, **env: str | None) -> dict[str, Any]:
    return doctor.checks(**env)[NAME]


class TestAReadableMailbox:
    """Connected, logged in, the folder there with its messages counted, the folders the
    reader moves to there; nothing moved."""

    def test_plain_imap_on_this_host(self, doctor: Doctor, mailbox: Account) -> None:
        result = doctor(**imap(mailbox))

        assert result.exit_code == 0, result.output
        name = f"imap://{mailbox.username}@127.0.0.1:{mailbox.port}"
        assert check_lines(result.stdout)[NAME] == (
            f"✓ {NAME}: {name}: no TLS (DISPATCHER_BOUNCE_IMAP_TLS=none), on this host; "
            "logged in; INBOX has 1 message(s); Dispatcher-processed and Dispatcher-ignored exist"
        )
        assert len(mailbox.folder("INBOX")) == 1

    @pytest.mark.parametrize("mode", ["tls", "starttls"])
    def test_tls_with_the_ca_that_signed_the_certificate(
        self, doctor: Doctor, mailbox: Account, dovecot: Dovecot, pki: Pki, mode: str
    ) -> None:
        port = dovecot.tls_port if mode == "tls" else dovecot.port
        found = check(
            doctor,
            **imap(
                mailbox,
                DISPATCHER_BOUNCE_IMAP_TLS=mode,
                DISPATCHER_BOUNCE_IMAP_PORT=str(port),
                DISPATCHER_BOUNCE_IMAP_CA_FILE=str(pki.ca_file),
            ),
        )
        kind = "implicit TLS" if mode == "tls" else "STARTTLS"
        assert found["status"] == "pass", found
        assert (
            f": {kind}, the certificate trusted by CA file {pki.ca_file}; logged in"
            in (found["message"])
        )

    def test_folders_still_to_be_made_warn(self, doctor: Doctor, dovecot: Dovecot) -> None:
        found = check(doctor, **imap(dovecot.account()))
        assert found["status"] == "warn"
        assert found["message"].endswith(
            "INBOX has 0 message(s); Dispatcher-processed and Dispatcher-ignored do(es) not exist"
        )
        assert "the account must be allowed to create folders" in found["fix"]


class TestAMailboxThatCannotBeRead:
    """Each failure says what went wrong and names the settings to fix."""

    def test_a_wrong_password(self, doctor: Doctor, mailbox: Account) -> None:
        result = doctor(**imap(mailbox, DISPATCHER_BOUNCE_IMAP_PASSWORD="forkert"))

        assert result.exit_code == 1
        name = f"imap://{mailbox.username}@127.0.0.1:{mailbox.port}"
        assert check_lines(result.stdout)[NAME] == (
            f"✗ {NAME}: {name}: the login was refused: [AUTHENTICATIONFAILED] Authentication "
            "failed."
        )
        assert (
            "fix: check DISPATCHER_BOUNCE_IMAP_USERNAME and DISPATCHER_BOUNCE_IMAP_PASSWORD"
            in result.stdout
        )
        assert "forkert" not in result.stdout

    def test_the_server_is_down(self, doctor: Doctor, mailbox: Account) -> None:
        port = free_port()
        found = check(doctor, **imap(mailbox, DISPATCHER_BOUNCE_IMAP_PORT=str(port)))
        assert found["status"] == "fail"
        assert found["message"] == (
            f"imap://{mailbox.username}@127.0.0.1:{port}: cannot connect: Connection refused"
        )
        assert found["fix"].startswith(
            "check DISPATCHER_BOUNCE_IMAP_HOST and DISPATCHER_BOUNCE_IMAP_PORT"
        )

    def test_a_folder_that_does_not_exist(self, doctor: Doctor, mailbox: Account) -> None:
        found = check(doctor, **imap(mailbox, DISPATCHER_BOUNCE_IMAP_FOLDER="Bounces"))
        assert found["status"] == "fail"
        assert found["message"].endswith(
            "logged in, but there is no folder Bounces (the server has: Dispatcher-ignored, "
            "Dispatcher-processed, INBOX)"
        )
        assert found["fix"] == "set DISPATCHER_BOUNCE_IMAP_FOLDER to the folder bounces arrive in"
        assert len(mailbox.folder("INBOX")) == 1

    @pytest.mark.parametrize("mode", ["tls", "starttls"])
    def test_a_certificate_that_cannot_be_verified(
        self, doctor: Doctor, mailbox: Account, dovecot: Dovecot, mode: str
    ) -> None:
        port = dovecot.tls_port if mode == "tls" else dovecot.port
        found = check(
            doctor,
            **imap(mailbox, DISPATCHER_BOUNCE_IMAP_TLS=mode, DISPATCHER_BOUNCE_IMAP_PORT=str(port)),
        )
        assert found["status"] == "fail"
        assert (
            "certificate verify failed: unable to get local issuer certificate"
            in (found["message"])
        )
        assert found["fix"].startswith("set DISPATCHER_BOUNCE_IMAP_CA_FILE to the CA bundle")

    def test_a_ca_file_that_cannot_be_read(
        self, doctor: Doctor, mailbox: Account, dovecot: Dovecot, tmp_path: Path
    ) -> None:
        missing = tmp_path / "ca.pem"
        found = check(
            doctor,
            **imap(
                mailbox,
                DISPATCHER_BOUNCE_IMAP_TLS="tls",
                DISPATCHER_BOUNCE_IMAP_PORT=str(dovecot.tls_port),
                DISPATCHER_BOUNCE_IMAP_CA_FILE=str(missing),
            ),
        )
        assert found["status"] == "fail"
        assert f": the CA file {missing} cannot be used: " in found["message"]
        assert found["fix"] == (
            "set DISPATCHER_BOUNCE_IMAP_CA_FILE to a readable PEM file of CA certificates"
        )

    def test_implicit_tls_to_the_plain_port(
        self, doctor: Doctor, mailbox: Account, pki: Pki
    ) -> None:
        found = check(
            doctor,
            **imap(
                mailbox,
                DISPATCHER_BOUNCE_IMAP_TLS="tls",
                DISPATCHER_BOUNCE_IMAP_CA_FILE=str(pki.ca_file),
            ),
        )
        assert found["status"] == "fail"
        assert ": TLS: " in found["message"]
        assert found["fix"].startswith("check that DISPATCHER_BOUNCE_IMAP_TLS matches")

    def test_not_a_maildir(self, doctor: Doctor, tmp_path: Path) -> None:
        found = check(doctor, DISPATCHER_BOUNCE_MAILDIR=str(tmp_path))
        assert found["status"] == "fail"
        assert found["message"] == f"maildir:{tmp_path}: not a Maildir (no cur/ and new/ in it)"


class TestNothingConfigured:
    def test_a_neutral_line(self, doctor: Doctor) -> None:
        found = check(doctor)
        assert (found["status"], found["message"]) == (
            "pass",
            "not configured: bounces are not read (DISPATCHER_BOUNCE_IMAP_HOST or "
            "DISPATCHER_BOUNCE_MAILDIR; see Bounces in the README)",
        )

    def test_a_return_path_nobody_reads_warns(self, doctor: Doctor) -> None:
        found = check(doctor, DISPATCHER_BOUNCE_ADDRESS="bounces@medcom.dk")
        assert found["status"] == "warn"
        assert "nobody records them" in found["message"]
