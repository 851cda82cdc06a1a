"""The SMTP client's transport security, against a real aiosmtpd relay on loopback.

STARTTLS and implicit TLS with a certificate from a test CA; refusal of certificates the client
does not trust (unknown CA, wrong name); AUTH LOGIN and PLAIN; no silent fall-back to plaintext
when STARTTLS is missing or refused; the configuration's refusal of plaintext to a remote relay;
the password kept out of logs and reprs; and non-ASCII headers arriving byte for byte.
"""

from __future__ import annotations

import base64
import hmac
import io
import json
import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
import structlog
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from pydantic import SecretStr
from sqlalchemy import Engine

from dispatcher import logs
from dispatcher.config import Settings, SmtpTls
from dispatcher.contacts.model import Person, Registry
from dispatcher.core.model import Trigger
from dispatcher.incidents import service
from dispatcher.incidents.queries import incident_detail
from dispatcher.mailcatcher import LOOPBACK, CatcherHandler, free_port
from dispatcher.notices.message import as_bytes, build_message
from dispatcher.notices.render import RenderedNotice
from dispatcher.outbox.sender import Sender
from dispatcher.outbox.smtp import SendFailure, SmtpConnection
from tests.support.clock import FakeClock
from tests.support.drain import drain
from tests.support.mail import parse
from tests.support.tls import Pki, make_pki

FROM = "fmk-beredskab@medcom.dk"
TO = "fmk-beredskab@aarhus.kommune.example"
USER = "fmk-dispatcher"
PASSWORD = "Nytaarsaften-0300-Gr8!"
TLS_VERSIONS = {"TLSv1.2", "TLSv1.3"}


def plain_message() -> bytes:
    msg = EmailMessage()
    msg["From"] = FROM
    msg["To"] = TO
    msg["Subject"] = "FMK test"
    msg.set_content("Test.\n")
    return as_bytes(msg)  # CRLF line ends, as the dispatcher sends


RAW = plain_message()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """One test CA and its server certificates for the whole session."""
    return make_pki(tmp_path_factory.mktemp("pki"))


# --- the relay -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionSeen:
    """What the relay knew about the session when the client issued MAIL FROM."""

    tls_version: str | None  # of the transport the command arrived on; None for plaintext
    starttls: bool  # aiosmtpd sets session.ssl only after a STARTTLS handshake
    login: bytes | None  # the authenticated user, if any


class RecordingHandler(CatcherHandler):
    """Keeps the messages (as `CatcherHandler` does) and, for every MAIL, the session's state."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions: list[SessionSeen] = []

    async def handle_MAIL(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        ssl_object = server.transport.get_extra_info("ssl_object")
        self.sessions.append(
            SessionSeen(
                tls_version=None if ssl_object is None else ssl_object.version(),
                starttls=session.ssl is not None,
                login=session.auth_data.login if session.authenticated else None,
            )
        )
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"


class Accounts:
    """aiosmtpd authenticator with one account; records every attempt (mechanism, login)."""

    def __init__(self, login: str, password: str) -> None:
        self._login = login.encode()
        self._password = password.encode()
        self.attempts: list[tuple[str, bytes]] = []

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.attempts.append((mechanism, auth_data.login))
        ok = auth_data.login == self._login and hmac.compare_digest(
            auth_data.password, self._password
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


class StartTlsRefused(SMTP):
    """Advertises STARTTLS, then refuses it, as a relay with a broken TLS set-up (or a
    man in the middle stripping TLS) might."""

    async def smtp_STARTTLS(self, arg: str) -> None:  # noqa: N802
        await self.push("454 4.7.0 TLS not available due to temporary reason")


class RelayController(Controller):
    def __init__(self, handler: Any, *, smtp_class: type[Any], **kwargs: Any) -> None:
        self.smtp_class = smtp_class
        super().__init__(handler, **kwargs)

    def factory(self) -> Any:
        return self.smtp_class(self.handler, **self.SMTP_kwargs)


@contextmanager
def relay(handler: CatcherHandler, *, smtp_class: type[Any] = SMTP, **kwargs: Any) -> Iterator[int]:
    """Run aiosmtpd on 127.0.0.1 with `kwargs` for the Controller / SMTP; yield its port."""
    port = free_port()
    controller = RelayController(
        handler,
        smtp_class=smtp_class,
        hostname=LOOPBACK,
        port=port,
        server_hostname="relay.test",
        **kwargs,
    )
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def client(port: int, **overrides: Any) -> Settings:
    return Settings(smtp_host=LOOPBACK, smtp_port=port, smtp_timeout=5, **overrides)


async def send_once(settings: Settings, raw: bytes = RAW) -> str:
    connection = SmtpConnection(settings)
    try:
        return await connection.send(FROM, TO, raw)
    finally:
        await connection.close()


# --- 1, 2: TLS with a trusted certificate ------------------------------------------------------


async def test_starttls_with_the_configured_ca_delivers_over_tls(pki: Pki) -> None:
    handler = RecordingHandler()
    with relay(handler, tls_context=pki.loopback.server_context(), require_starttls=True) as port:
        reply = await send_once(client(port, smtp_tls="starttls", smtp_ca_file=pki.ca_file))

    assert reply == "250 2.0.0 Message accepted for delivery"
    [seen] = handler.sessions
    assert seen.starttls is True
    assert seen.tls_version in TLS_VERSIONS
    [item] = handler.received
    assert (item.envelope_from, item.recipients, item.data) == (FROM, (TO,), RAW)


async def test_implicit_tls_delivers(pki: Pki) -> None:
    handler = RecordingHandler()
    with relay(handler, ssl_context=pki.loopback.server_context()) as port:
        await send_once(client(port, smtp_tls="tls", smtp_ca_file=pki.ca_file))

    [seen] = handler.sessions
    assert seen.tls_version in TLS_VERSIONS
    assert seen.starttls is False  # TLS from the first byte, no upgrade
    [item] = handler.received
    assert item.data == RAW


# --- 3: certificates the client must not trust -------------------------------------------------


@pytest.mark.parametrize("mode", ["starttls", "tls"])
@pytest.mark.parametrize(
    ("certificate", "trust_test_ca", "why"),
    [
        # Signed by the test CA, which the system store does not contain.
        ("loopback", False, "unable to get local issuer certificate"),
        # Signed by a trusted CA, but for relay.medcom.dk, not for 127.0.0.1.
        ("other_name", True, "IP address mismatch"),
    ],
)
async def test_untrusted_certificate_is_a_transient_failure_and_nothing_is_sent(
    pki: Pki, mode: str, certificate: str, trust_test_ca: bool, why: str
) -> None:
    server_context = getattr(pki, certificate).server_context()
    handler = RecordingHandler()
    accounts = Accounts(USER, PASSWORD)
    if mode == "starttls":
        server: dict[str, Any] = {"tls_context": server_context, "require_starttls": True}
    else:
        server = {"ssl_context": server_context}
    with relay(handler, authenticator=accounts, **server) as port:
        settings = client(
            port,
            smtp_tls=mode,
            smtp_ca_file=pki.ca_file if trust_test_ca else None,
            smtp_username=USER,
            smtp_password=PASSWORD,
        )
        with pytest.raises(SendFailure) as caught:
            await send_once(settings)

    failure = caught.value
    assert failure.permanent is False
    assert failure.reply.startswith("connection: ")
    assert "certificate verify failed" in failure.reply
    assert why in failure.reply
    assert accounts.attempts == []  # the password never reached the untrusted server
    assert handler.sessions == []
    assert handler.received == []


# --- 4: AUTH -----------------------------------------------------------------------------------


def auth_relay(
    pki: Pki, handler: CatcherHandler, accounts: Accounts, mechanism: str
) -> AbstractContextManager[int]:
    """A relay that demands STARTTLS and then AUTH, offering only `mechanism`."""
    other = {"LOGIN": "PLAIN", "PLAIN": "LOGIN"}[mechanism]
    return relay(
        handler,
        tls_context=pki.loopback.server_context(),
        require_starttls=True,
        authenticator=accounts,
        auth_required=True,
        auth_exclude_mechanism=[other],
    )


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
async def test_auth_with_the_right_password_delivers(pki: Pki, mechanism: str) -> None:
    handler, accounts = RecordingHandler(), Accounts(USER, PASSWORD)
    with auth_relay(pki, handler, accounts, mechanism) as port:
        await send_once(
            client(
                port,
                smtp_tls="starttls",
                smtp_ca_file=pki.ca_file,
                smtp_username=USER,
                smtp_password=PASSWORD,
            )
        )

    assert accounts.attempts == [(mechanism, USER.encode())]
    [seen] = handler.sessions
    assert (seen.starttls, seen.login) == (True, USER.encode())
    assert [item.data for item in handler.received] == [RAW]


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
async def test_auth_with_a_wrong_password_fails_with_the_relays_535(
    pki: Pki, mechanism: str
) -> None:
    handler, accounts = RecordingHandler(), Accounts(USER, PASSWORD)
    with auth_relay(pki, handler, accounts, mechanism) as port:
        settings = client(
            port,
            smtp_tls="starttls",
            smtp_ca_file=pki.ca_file,
            smtp_username=USER,
            smtp_password="not-the-password",
        )
        with pytest.raises(SendFailure) as caught:
            await send_once(settings)

    failure = caught.value
    assert failure.reply == "authentication: 535 5.7.8 Authentication credentials invalid"
    # A wrong password is the same for every recipient and is fixed by the duty staff, not by
    # the recipient: it is retried until the deadline instead of failing all 101 deliveries.
    assert failure.permanent is False
    assert "not-the-password" not in f"{failure.reply} {failure!r} {failure.__cause__!r}"
    assert accounts.attempts == [(mechanism, USER.encode())]
    assert handler.sessions == []
    assert handler.received == []


async def test_a_wrong_password_holds_the_notices_until_it_is_fixed(
    pki: Pki, dispatch: service.Dispatch, engine: Engine, clock: FakeClock, registry: Registry
) -> None:
    """Through the sender: with a wrong password nothing is failed for good; with the password
    corrected (a restart with new settings) every municipality and vendor gets the notice."""
    handler, accounts = RecordingHandler(), Accounts(USER, PASSWORD)
    trigger = Trigger(actor="khs@medcom.dk", summary="FMK er nede", details="", guidance="Papir.")
    number, _ = service.trigger(dispatch, trigger, clock.now())
    with auth_relay(pki, handler, accounts, "PLAIN") as port:
        settings = client(
            port,
            smtp_tls="starttls",
            smtp_ca_file=pki.ca_file,
            smtp_username=USER,
            smtp_password="not-the-password",
        )
        wrong = Sender(engine, settings, clock)
        try:
            assert await wrong.run_once() > 0
        finally:
            await wrong.close()
        detail = incident_detail(engine, number)
        assert detail is not None
        assert detail.failures == []
        assert handler.received == []
        assert len(accounts.attempts) > 0

        right = Sender(
            engine, settings.model_copy(update={"smtp_password": SecretStr(PASSWORD)}), clock
        )
        try:
            await drain(right, engine, clock)
        finally:
            await right.close()

    recipients = {r for item in handler.received for r in item.recipients}
    groups = (*registry.municipalities, *registry.vendors)
    assert recipients == {e for g in groups for e in g.emails}
    detail = incident_detail(engine, number)
    assert detail is not None
    assert detail.failures == []


# --- 5: no fall-back to plaintext --------------------------------------------------------------


@pytest.mark.parametrize(
    ("offers_starttls", "expected"),
    [
        (False, "STARTTLS extension not supported by server"),
        (True, "454 4.7.0 TLS not available"),
    ],
)
async def test_required_starttls_missing_or_refused_sends_nothing_in_plaintext(
    pki: Pki, offers_starttls: bool, expected: str
) -> None:
    handler, accounts = RecordingHandler(), Accounts(USER, PASSWORD)
    server: dict[str, Any] = {"authenticator": accounts, "auth_require_tls": False}
    if offers_starttls:
        server |= {"smtp_class": StartTlsRefused, "tls_context": pki.loopback.server_context()}
    with relay(handler, **server) as port:
        settings = client(
            port,
            smtp_tls="starttls",
            smtp_ca_file=pki.ca_file,
            smtp_username=USER,
            smtp_password=PASSWORD,
        )
        with pytest.raises(SendFailure) as caught:
            await send_once(settings)

    assert caught.value.permanent is False
    assert expected in caught.value.reply
    # The relay would have taken AUTH and mail in plaintext; the client offered neither.
    assert accounts.attempts == []
    assert handler.sessions == []
    assert handler.received == []


# --- 6: plaintext to a remote relay is refused by configuration --------------------------------


class TestPlaintextRefusal:
    def test_plaintext_to_a_remote_relay_names_what_to_set(self) -> None:
        settings = Settings(smtp_host="relay.medcom.dk", smtp_tls="none")
        [problem] = settings.smtp_problems()
        assert "relay.medcom.dk" in problem
        assert "DISPATCHER_SMTP_TLS=starttls" in problem
        assert "DISPATCHER_SMTP_ALLOW_PLAINTEXT=true" in problem

    @pytest.mark.parametrize("host", ["relay.medcom.dk", "10.20.30.40", "2001:db8::25"])
    def test_allowed_when_asked_for(self, host: str) -> None:
        settings = Settings(smtp_host=host, smtp_tls="none", smtp_allow_plaintext=True)
        assert settings.smtp_problems() == []

    def test_allowed_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DISPATCHER_SMTP_HOST", "relay.medcom.dk")
        monkeypatch.setenv("DISPATCHER_SMTP_TLS", "none")
        assert len(Settings().smtp_problems()) == 1
        monkeypatch.setenv("DISPATCHER_SMTP_ALLOW_PLAINTEXT", "true")
        assert Settings().smtp_problems() == []

    @pytest.mark.parametrize("tls", ["starttls", "tls"])
    def test_tls_to_a_remote_relay_is_fine(self, tls: str) -> None:
        assert Settings(smtp_host="relay.medcom.dk", smtp_tls=tls).smtp_problems() == []

    @pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1", "127.0.0.53"])
    def test_loopback_is_always_allowed(self, host: str) -> None:
        settings = Settings(smtp_host=host, smtp_tls="none")
        assert settings.smtp_tls is SmtpTls.NONE
        assert settings.smtp_is_loopback()
        assert settings.smtp_problems() == []

    @pytest.mark.parametrize(
        "host", ["localhost.medcom.dk", "127.0.0.1.nip.io", "0.0.0.0", "::", "192.168.1.25"]
    )
    def test_names_that_only_look_local_are_not_loopback(self, host: str) -> None:
        settings = Settings(smtp_host=host, smtp_tls="none")
        assert not settings.smtp_is_loopback()
        assert len(settings.smtp_problems()) == 1


# --- 7: the password stays out of logs ---------------------------------------------------------


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Logging configured by `dispatcher.logs` at DEBUG into a buffer; the old set-up (structlog
    and the root logger, which `configure` takes over) is put back afterwards."""
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    logs.configure("DEBUG", stream)
    try:
        yield stream
    finally:
        structlog.configure(**saved)
        root.handlers[:] = handlers
        root.setLevel(level)


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


class TestSecretsInLogs:
    def test_redact_blanks_keys_that_name_a_secret(self, log_lines: io.StringIO) -> None:
        structlog.get_logger("test").info(
            "smtp.configured",
            smtp_password=PASSWORD,
            SMTP_PASSWORD=PASSWORD,
            api_token="tok-81c2",
            client_secret="sec-5ab9",
            authorization="Basic Zm1rOnB3",
            smtp_username=USER,
            smtp_host="relay.medcom.dk",
        )
        [record] = records(log_lines)
        for key in ("smtp_password", "SMTP_PASSWORD", "api_token", "client_secret"):
            assert record[key] == logs.REDACTED, key
        assert record["authorization"] == logs.REDACTED
        assert (record["smtp_username"], record["smtp_host"]) == (USER, "relay.medcom.dk")
        assert record["event"] == "smtp.configured"
        text = log_lines.getvalue()
        for secret in (PASSWORD, "tok-81c2", "sec-5ab9", "Zm1rOnB3"):
            assert secret not in text

    def test_settings_never_show_the_password(self, log_lines: io.StringIO) -> None:
        settings = Settings(smtp_host="relay.medcom.dk", smtp_tls="tls", smtp_password=PASSWORD)
        assert settings.smtp_password is not None
        assert settings.smtp_password.get_secret_value() == PASSWORD  # it is there…
        for shown in (repr(settings), str(settings), settings.model_dump_json()):
            assert PASSWORD not in shown  # …but never shown
        assert "smtp_password=SecretStr('**********')" in repr(settings)

        log = structlog.get_logger("test")
        log.info("settings.object", settings=settings)
        log.info("settings.fields", **settings.model_dump(mode="json"))
        assert len(records(log_lines)) == 2
        assert PASSWORD not in log_lines.getvalue()

    @pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
    async def test_logging_in_at_debug_level_logs_no_password(
        self, pki: Pki, log_lines: io.StringIO, mechanism: str
    ) -> None:
        """Everything logged in this process (client, and the in-process relay too) while one
        login fails and one succeeds, plus the failure logged the way the sender logs it."""
        wrong = "Forkert-Kodeord-1231"
        handler, accounts = RecordingHandler(), Accounts(USER, PASSWORD)
        log = structlog.get_logger("test")
        with auth_relay(pki, handler, accounts, mechanism) as port:
            for password in (wrong, PASSWORD):
                settings = client(
                    port,
                    smtp_tls="starttls",
                    smtp_ca_file=pki.ca_file,
                    smtp_username=USER,
                    smtp_password=password,
                )
                log.debug("smtp.settings", settings=settings, **settings.model_dump(mode="json"))
                try:
                    reply = await send_once(settings)
                except SendFailure as failure:
                    log.warning("delivery.retry", reply=failure.reply, error=repr(failure))
                else:
                    log.info("delivery.sent", reply=reply)

        assert len(handler.received) == 1
        text = log_lines.getvalue()
        assert [r["event"] for r in records(log_lines) if r.get("logger") is None] == [
            "smtp.settings",
            "delivery.retry",
            "smtp.settings",
            "delivery.sent",
        ]
        for password in (wrong, PASSWORD):
            for shown in (
                password,
                base64.b64encode(password.encode()).decode(),  # AUTH LOGIN
                base64.b64encode(f"\0{USER}\0{password}".encode()).decode(),  # AUTH PLAIN
            ):
                assert shown not in text


# --- 8: non-ASCII headers arrive byte for byte -------------------------------------------------


def danish_message() -> tuple[EmailMessage, bytes]:
    notice = RenderedNotice(
        subject="[FMK-nedbrud #12] Fælles Medicinkort er nede – Ærø, Høje-Taastrup og Åbenrå",
        text="Kære Århus Kommune\n\nFMK svarer ikke.\n.\n..prik først\nMed venlig hilsen\n",
        html="<p>Kære Århus Kommune</p><p>FMK svarer ikke.</p>",
    )
    msg = build_message(
        notice,
        sender=Person("MedCom FMK-beredskab – Søren Ærbø", FROM),
        reply_to=Person("MedCom Vagttelefon (Østerbro)", "vagt@medcom.dk"),
        to=[Person("Aarhus Kommune – Sundhed og Omsorg, Åby", TO)],
        cc=[Person("Systematic – Columna Cura, Århus", "fmk@systematic.example")],
        message_id="<fmk.01hx.1.kommune-751@medcom.dk>",
        references=[],
        date=datetime(2021, 12, 31, 2, 5, tzinfo=UTC),
    )
    return msg, as_bytes(msg)


async def test_danish_headers_arrive_byte_identical_over_starttls(pki: Pki) -> None:
    sent, raw = danish_message()
    assert raw.isascii()  # RFC 2047 words and quoted-printable: no SMTPUTF8 needed
    handler = RecordingHandler()
    with relay(handler, tls_context=pki.loopback.server_context(), require_starttls=True) as port:
        await send_once(client(port, smtp_tls="starttls", smtp_ca_file=pki.ca_file), raw)

    [seen] = handler.sessions
    assert seen.starttls is True
    [item] = handler.received
    assert item.data == raw
    got = parse(item)
    assert got["Subject"] == sent["Subject"]
    assert got["Subject"] == (
        "[FMK-nedbrud #12] Fælles Medicinkort er nede – Ærø, Høje-Taastrup og Åbenrå"
    )
    assert got["From"].addresses[0].display_name == "MedCom FMK-beredskab – Søren Ærbø"
    assert got["To"].addresses[0].display_name == "Aarhus Kommune – Sundhed og Omsorg, Åby"
    assert got["Cc"].addresses[0].display_name == "Systematic – Columna Cura, Århus"
    assert got["Reply-To"].addresses[0].display_name == "MedCom Vagttelefon (Østerbro)"
