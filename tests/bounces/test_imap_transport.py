"""The bounce reader's connection to the IMAP server: a server that takes the connection and
then never answers costs at most DISPATCHER_BOUNCE_IMAP_TIMEOUT and changes nothing; over TLS
(implicit and STARTTLS) a certificate signed by the configured CA is read from, and one the
client cannot verify (another CA, or another name) is refused before the password is sent."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from dispatcher.bounces.reader import check_once
from dispatcher.config import ConfigError, load_settings
from dispatcher.runtime import Runtime
from tests.bounces.conftest import Told
from tests.bounces.test_reader import PROCESSED, address
from tests.support.clock import FakeClock
from tests.support.dovecot import Account, Dovecot, serve
from tests.support.tls import Pki, make_pki

TIMEOUT = 1.0


@contextmanager
def silent_server(*, greets: bool) -> Iterator[int]:
    """A server on loopback that accepts every connection and then never answers — or, with
    `greets`, greets and answers the client's CAPABILITY, and never answers again (not the
    login); its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def talk(conn: socket.socket) -> None:
        conn.sendall(b"* OK IMAP4rev1 ready\r\n")
        tag = conn.recv(1000).split(b" ", 1)[0]
        conn.sendall(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + b" OK done\r\n")

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(conn)
            if greets:
                talk(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def with_settings(told: Told, **update: Any) -> Runtime:
    return replace(told.runtime, settings=told.runtime.settings.model_copy(update=update))


class TestAServerThatNeverAnswers:
    """Connected, then silence — before the greeting, or after it at the login: the pass
    ends within the timeout with a message that says so, and no delivery changes."""

    @pytest.mark.parametrize(("greets", "where"), [(False, "cannot connect"), (True, "logging in")])
    def test_the_reader_gives_up_in_time(
        self, told: Told, clock: FakeClock, greets: bool, where: str
    ) -> None:
        state = told.statuses()
        with silent_server(greets=greets) as port:
            runtime = with_settings(
                told, bounce_imap_port=port, bounce_imap_timeout=timedelta(seconds=TIMEOUT)
            )
            started = time.monotonic()
            done = check_once(runtime, clock)
            took = time.monotonic() - started
        user = runtime.settings.bounce_imap_username
        assert done.problems == [
            f"imap://{user}@127.0.0.1:{port}: {where}: no answer within 1 s "
            "(DISPATCHER_BOUNCE_IMAP_TIMEOUT)"
        ]
        assert TIMEOUT <= took < TIMEOUT + 2, took
        assert done.handled == []
        assert told.statuses() == state

    def test_the_timeout_is_bounded_by_the_shutdown_grace(self) -> None:
        with pytest.raises(ConfigError, match=r"BOUNCE_IMAP_TIMEOUT: .* less than or equal to 20"):
            load_settings(None, bounce_imap_timeout="30s")


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("imap-pki"))


@pytest.fixture(scope="session")
def tls_dovecot(pki: Pki) -> Iterator[Dovecot]:
    """Dovecot presenting the test CA's certificate for the loopback names."""
    yield from serve(pki.loopback)


@pytest.fixture(scope="session")
def other_name_dovecot(pki: Pki) -> Iterator[Dovecot]:
    """Dovecot presenting a certificate from the test CA for another name (relay.medcom.dk)."""
    yield from serve(pki.other_name)


@pytest.fixture
def tls_mailbox(tls_dovecot: Dovecot) -> Account:
    return tls_dovecot.account()


def over_tls(told: Told, account: Account, server: Dovecot, mode: str, **update: Any) -> Runtime:
    """The reader of `told`, reading `account` on `server` with TLS `mode`."""
    return with_settings(
        told,
        bounce_imap_tls=mode,
        bounce_imap_port=server.tls_port if mode == "tls" else server.port,
        bounce_imap_username=account.username,
        bounce_imap_password=SecretStr(account.password),
        **update,
    )


class TestOverTls:
    """Implicit TLS and STARTTLS with the CA that signed the server's certificate read the
    bounce; without it (the system CAs) the certificate is refused, the login never sent,
    and nothing changes."""

    @pytest.mark.parametrize("mode", ["tls", "starttls"])
    def test_a_verified_certificate(
        self,
        told: Told,
        clock: FakeClock,
        pki: Pki,
        tls_dovecot: Dovecot,
        tls_mailbox: Account,
        mode: str,
    ) -> None:
        copenhagen = address(told, 101)
        tls_mailbox.append(told.bounce("postfix_rfc3464", copenhagen))
        runtime = over_tls(told, tls_mailbox, tls_dovecot, mode, bounce_imap_ca_file=pki.ca_file)

        done = check_once(runtime, clock)

        assert done.problems == []
        assert [h.verdict for h in done.handled] == ["bounce"]
        assert told.statuses()[copenhagen][:2] == ("bounced", "5.1.1")
        assert len(tls_mailbox.folder(PROCESSED)) == 1

    @pytest.mark.parametrize("mode", ["tls", "starttls"])
    def test_an_unverifiable_certificate_is_refused(
        self, told: Told, clock: FakeClock, tls_dovecot: Dovecot, tls_mailbox: Account, mode: str
    ) -> None:
        tls_mailbox.append(told.bounce("postfix_rfc3464", address(told, 101)))
        state, refused = told.statuses(), tls_dovecot.refused_handshakes()
        runtime = over_tls(told, tls_mailbox, tls_dovecot, mode)

        done = check_once(runtime, clock)

        [problem] = done.problems
        assert "certificate verify failed: unable to get local issuer certificate" in problem
        port = runtime.settings.bounce_imap_port
        assert problem.startswith(f"imap://{tls_mailbox.username}@127.0.0.1:{port}: ")
        assert told.statuses() == state
        assert len(tls_mailbox.folder("INBOX")) == 1
        # The server saw the client end the handshake, before any login.
        assert tls_dovecot.refused_handshakes(more_than=refused) == refused + 1

    def test_a_certificate_for_another_name_is_refused(
        self, told: Told, clock: FakeClock, pki: Pki, other_name_dovecot: Dovecot
    ) -> None:
        """Signed by the configured CA, but not for the host the reader connects to."""
        account = other_name_dovecot.account()
        account.append(told.bounce("postfix_rfc3464", address(told, 101)))
        state = told.statuses()
        runtime = over_tls(
            told, account, other_name_dovecot, "tls", bounce_imap_ca_file=pki.ca_file
        )

        done = check_once(runtime, clock)

        [problem] = done.problems
        assert "certificate verify failed: IP address mismatch" in problem
        assert told.statuses() == state
        assert len(account.folder("INBOX")) == 1
