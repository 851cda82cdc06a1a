"""The doctor's SMTP probe against a real aiosmtpd relay with TLS from the test CA and AUTH:
trusted TLS and a right login pass; an untrusted certificate, a missing STARTTLS, a TLS mode
that does not fit the port and a wrong password fail, each with its fix. Nothing is sent."""

from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP

from dispatcher.mailcatcher import CatcherHandler
from tests.doctor.conftest import Doctor
from tests.outbox.test_smtp_security import (
    PASSWORD,
    USER,
    Accounts,
    RecordingHandler,
    auth_relay,
    relay,
)
from tests.support.databases import SqliteDatabases
from tests.support.tls import Pki

SMTP_CHECKS = ("smtp", "smtp-tls", "smtp-auth")


class SlowToClose(SMTP):
    """Answers QUIT, then is busy for a moment (its event loop blocked, as on a loaded
    machine) before it takes part in the TLS shutdown and closes the connection."""

    async def smtp_QUIT(self, arg: str) -> None:  # noqa: N802
        await self.push("221 Bye")
        time.sleep(0.3)
        assert self._handler_coroutine is not None
        assert self.transport is not None
        self._handler_coroutine.cancel()
        self.transport.close()


@pytest.fixture
def doctor(healthy_env: dict[str, str | None], sqlite_databases: SqliteDatabases) -> Doctor:
    """SQLite only: these tests are about the relay."""
    return Doctor({**healthy_env, "DISPATCHER_DATABASE_URL": sqlite_databases.new()})


def smtp_checks(doctor: Doctor, port: int, **env: str | None) -> dict[str, dict[str, Any]]:
    checks = doctor.checks(DISPATCHER_SMTP_PORT=str(port), **env)
    return {name: checks[name] for name in SMTP_CHECKS}


def statuses(checks: dict[str, dict[str, Any]]) -> list[str]:
    return [checks[name]["status"] for name in SMTP_CHECKS]


def login(pki: Pki, password: str = PASSWORD, **env: str) -> dict[str, str]:
    return {
        "DISPATCHER_SMTP_TLS": "starttls",
        "DISPATCHER_SMTP_CA_FILE": str(pki.ca_file),
        "DISPATCHER_SMTP_USERNAME": USER,
        "DISPATCHER_SMTP_PASSWORD": password,
        **env,
    }


class TestTrustedTlsAndLogin:
    """STARTTLS or implicit TLS with the configured CA and the right password pass; the probe
    logs in and quits without a MAIL command."""

    @pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
    def test_starttls_and_auth_pass(self, doctor: Doctor, pki: Pki, mechanism: str) -> None:
        handler, accounts = RecordingHandler(), Accounts(USER, PASSWORD)
        with auth_relay(pki, handler, accounts, mechanism) as port:
            checks = smtp_checks(doctor, port, **login(pki))

        assert statuses(checks) == ["pass", "pass", "pass"], checks
        tls = checks["smtp-tls"]["message"]
        assert tls.startswith("STARTTLS, TLSv1.")
        assert tls.endswith(f"the certificate for 127.0.0.1 is trusted by CA file {pki.ca_file}")
        assert checks["smtp-auth"]["message"] == f"logged in to 127.0.0.1:{port} as {USER}"
        assert accounts.attempts == [(mechanism, USER.encode())]
        assert handler.sessions == []
        assert handler.received == []

    def test_implicit_tls_passes(self, doctor: Doctor, pki: Pki) -> None:
        handler = RecordingHandler()
        with relay(handler, ssl_context=pki.loopback.server_context()) as port:
            checks = smtp_checks(
                doctor, port, DISPATCHER_SMTP_TLS="tls", DISPATCHER_SMTP_CA_FILE=str(pki.ca_file)
            )

        assert statuses(checks) == ["pass", "pass", "pass"], checks
        assert checks["smtp-tls"]["message"].startswith("implicit TLS, TLSv1.")
        assert checks["smtp-auth"]["message"].startswith("no login configured")
        assert handler.received == []

    def test_implicit_tls_leaves_no_socket_open_when_the_relay_closes_late(
        self, doctor: Doctor, pki: Pki
    ) -> None:
        """The probe waits for the relay to close after QUIT: when `asyncio.run` ended first,
        the socket under the TLS connection stayed open (a ResourceWarning, under the suite's
        filterwarnings an error, in whichever test the garbage collector ran)."""
        with relay(
            RecordingHandler(), smtp_class=SlowToClose, ssl_context=pki.loopback.server_context()
        ) as port:
            checks = smtp_checks(
                doctor, port, DISPATCHER_SMTP_TLS="tls", DISPATCHER_SMTP_CA_FILE=str(pki.ca_file)
            )
        gc.collect()
        assert statuses(checks) == ["pass", "pass", "pass"], checks


class TestWrongPassword:
    """A login the relay refuses, or cannot take, fails the AUTH check with the relay's
    answer and the settings to fix; the password is not shown."""

    def test_fails_with_the_relays_535(self, doctor: Doctor, pki: Pki) -> None:
        wrong = "Forkert-Kodeord-1231"
        handler, accounts = RecordingHandler(), Accounts(USER, PASSWORD)
        with auth_relay(pki, handler, accounts, "PLAIN") as port:
            result = doctor(DISPATCHER_SMTP_PORT=str(port), **login(pki, wrong))

        assert result.exit_code == 1
        assert (
            f"✗ smtp-auth: 127.0.0.1:{port} refused the login as {USER}: "
            "535 5.7.8 Authentication credentials invalid"
        ) in result.stdout
        assert "fix: check DISPATCHER_SMTP_USERNAME and DISPATCHER_SMTP_PASSWORD" in result.stdout
        assert "✓ smtp-tls: STARTTLS" in result.stdout
        assert wrong not in result.output
        assert handler.received == []

    def test_a_relay_without_auth_fails_a_configured_login(self, doctor: Doctor) -> None:
        with relay(CatcherHandler()) as port:
            checks = smtp_checks(
                doctor, port, DISPATCHER_SMTP_USERNAME=USER, DISPATCHER_SMTP_PASSWORD=PASSWORD
            )

        assert statuses(checks) == ["pass", "pass", "fail"]
        auth = checks["smtp-auth"]
        assert "SMTP AUTH extension is not supported" in auth["message"]
        assert auth["fix"].startswith("unset DISPATCHER_SMTP_USERNAME if the relay takes mail")


class TestUntrustedTls:
    """A certificate the client does not trust fails the TLS check before any password is
    sent, and says which settings make it trusted."""

    @pytest.mark.parametrize("mode", ["starttls", "tls"])
    @pytest.mark.parametrize(
        ("certificate", "trust_test_ca", "why"),
        [
            ("loopback", False, "unable to get local issuer certificate"),
            ("other_name", True, "IP address mismatch"),
        ],
    )
    def test_fails_naming_the_ca_setting(
        self, doctor: Doctor, pki: Pki, mode: str, certificate: str, trust_test_ca: bool, why: str
    ) -> None:
        server_context = getattr(pki, certificate).server_context()
        accounts = Accounts(USER, PASSWORD)
        if mode == "starttls":
            server: dict[str, Any] = {"tls_context": server_context, "require_starttls": True}
        else:
            server = {"ssl_context": server_context}
        env = login(pki, DISPATCHER_SMTP_TLS=mode)
        if not trust_test_ca:
            env.pop("DISPATCHER_SMTP_CA_FILE")
        with relay(RecordingHandler(), authenticator=accounts, **server) as port:
            checks = smtp_checks(doctor, port, **env)

        assert statuses(checks) == ["pass", "fail", "fail"], checks
        tls = checks["smtp-tls"]
        assert "certificate verify failed" in tls["message"]
        assert why in tls["message"]
        assert tls["fix"].startswith("set DISPATCHER_SMTP_CA_FILE to the CA bundle")
        assert checks["smtp-auth"]["message"].startswith("not checked")
        assert accounts.attempts == []

    def test_a_relay_without_starttls_fails(self, doctor: Doctor, pki: Pki) -> None:
        with relay(CatcherHandler()) as port:
            checks = smtp_checks(doctor, port, **login(pki))

        assert statuses(checks) == ["pass", "fail", "fail"]
        tls = checks["smtp-tls"]
        assert tls["message"] == (
            f"STARTTLS with 127.0.0.1:{port} failed: SMTPException: "
            "SMTP STARTTLS extension not supported by server."
        )
        assert "DISPATCHER_SMTP_TLS=tls" in tls["fix"]

    def test_implicit_tls_to_a_plaintext_port_says_to_match_mode_and_port(
        self, doctor: Doctor, pki: Pki
    ) -> None:
        with relay(CatcherHandler()) as port:
            checks = smtp_checks(
                doctor, port, DISPATCHER_SMTP_TLS="tls", DISPATCHER_SMTP_CA_FILE=str(pki.ca_file)
            )

        assert statuses(checks) == ["pass", "fail", "fail"]
        assert checks["smtp-tls"]["message"].startswith(f"implicit TLS with 127.0.0.1:{port}: ")
        assert checks["smtp-tls"]["fix"].startswith("check that DISPATCHER_SMTP_TLS matches")

    def test_an_unreadable_ca_file_fails_without_connecting(
        self, doctor: Doctor, tmp_path: Path
    ) -> None:
        missing = tmp_path / "no-such-ca.pem"
        with relay(RecordingHandler()) as port:
            checks = smtp_checks(
                doctor, port, DISPATCHER_SMTP_TLS="starttls", DISPATCHER_SMTP_CA_FILE=str(missing)
            )

        assert statuses(checks) == ["fail", "fail", "fail"]
        assert checks["smtp-tls"]["message"].startswith(
            f"the CA certificates (CA file {missing}) cannot be used: "
        )
        assert checks["smtp"]["message"].startswith("not checked")
