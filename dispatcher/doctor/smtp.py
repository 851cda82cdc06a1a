"""The doctor's SMTP probe: connect, EHLO, TLS as configured (certificates verified), AUTH if a
user name is set, QUIT. It never sends a message.

The client is the sender's (`dispatcher/outbox/smtp.py`): the same host, port, timeout, TLS mode
and TLS context. Only STARTTLS and AUTH are issued as separate steps instead of inside
`connect()`, so that each is reported on its own; the commands on the wire are the same.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass

import aiosmtplib
from aiosmtplib.protocol import SMTPProtocol

from dispatcher.config import Settings, SmtpTls
from dispatcher.doctor.result import CheckResult, failed, not_checked, passed, warned
from dispatcher.outbox.smtp import tls_context

RELAY, TLS, AUTH = "smtp", "smtp-tls", "smtp-auth"
RELAY_FIX = (
    "check DISPATCHER_SMTP_HOST and DISPATCHER_SMTP_PORT, that the relay runs, and that no "
    "firewall stops this host"
)
TRUST_FIX = (
    "set DISPATCHER_SMTP_CA_FILE to the CA bundle that signed the relay's certificate, and "
    "DISPATCHER_SMTP_HOST to a name the certificate is for"
)
LOGIN_FIX = "check DISPATCHER_SMTP_USERNAME and DISPATCHER_SMTP_PASSWORD with the relay's operator"


class Stop(Exception):
    """A step failed; the probe goes no further. `results` are the checks decided so far."""

    def __init__(self, *results: CheckResult) -> None:
        super().__init__(results[0].message)
        self.results = results


@dataclass(frozen=True)
class Target:
    settings: Settings

    @property
    def where(self) -> str:
        return f"{self.settings.smtp_host}:{self.settings.smtp_port}"

    @property
    def ca(self) -> str:
        ca_file = self.settings.smtp_ca_file
        return f"CA file {ca_file}" if ca_file else "the system CAs"


def smtp(settings: Settings) -> list[CheckResult]:
    """The relay, its TLS and the login, as three results."""
    return asyncio.run(probe(settings))


async def probe(settings: Settings) -> list[CheckResult]:
    """Talk to the relay as the sender would, up to (not including) MAIL FROM."""
    target = Target(settings)
    refused = settings.smtp_problems()
    if refused:
        because = "plaintext SMTP to this relay is refused (see smtp-tls)"
        return [
            not_checked(RELAY, because),
            failed(TLS, refused[0], "use TLS to a relay that is not on this host"),
            not_checked(AUTH, because),
        ]
    try:
        client = _client(settings)
    except (OSError, ssl.SSLError) as exc:
        because = "the CA certificates cannot be used (see smtp-tls)"
        fix = "set DISPATCHER_SMTP_CA_FILE to a readable PEM file of CA certificates"
        return [
            not_checked(RELAY, because),
            failed(TLS, f"the CA certificates ({target.ca}) cannot be used: {exc}", fix),
            not_checked(AUTH, because),
        ]
    results: list[CheckResult] = []
    try:
        results.append(await _connect(client, target))
        results.append(await _tls(client, target))
        results.append(await _login(client, target))
    except Stop as stop:
        results.extend(stop.results)
    finally:
        await _quit(client)
    return results


def _client(settings: Settings) -> aiosmtplib.SMTP:
    s = settings
    return aiosmtplib.SMTP(
        hostname=s.smtp_host,
        port=s.smtp_port,
        timeout=s.smtp_timeout,
        use_tls=s.smtp_tls is SmtpTls.TLS,
        start_tls=False,  # issued by `_tls` as its own step
        tls_context=tls_context(s) if s.smtp_tls is not SmtpTls.NONE else None,
    )


async def _connect(client: aiosmtplib.SMTP, target: Target) -> CheckResult:
    """TCP (and the handshake of implicit TLS), the greeting, EHLO."""
    s = target.settings
    try:
        greeting = await client.connect()
        await client.ehlo()
    except aiosmtplib.SMTPConnectTimeoutError as exc:
        message = f"no answer from {target.where} within {s.smtp_timeout:g} s: {exc}"
        raise Stop(failed(RELAY, message, RELAY_FIX), *_unreached()) from exc
    except aiosmtplib.SMTPConnectError as exc:
        cause = exc.__cause__
        if isinstance(cause, ssl.SSLError):
            fix = _tls_fix(cause)
            reached = passed(RELAY, f"{target.where} accepts connections")
            tls = failed(TLS, f"implicit TLS with {target.where}: {cause}", fix)
            raise Stop(reached, tls, not_checked(AUTH, "TLS failed (see smtp-tls)")) from exc
        message = f"cannot connect to {target.where}: {_connect_error(exc)}"
        raise Stop(failed(RELAY, message, RELAY_FIX), *_unreached()) from exc
    except (aiosmtplib.SMTPException, OSError) as exc:
        message = f"{target.where} did not complete the greeting and EHLO: {_reply(exc)}"
        raise Stop(failed(RELAY, message, RELAY_FIX), *_unreached()) from exc
    banner = greeting.message.splitlines()[0] if greeting.message else ""
    return passed(RELAY, f"{target.where} answers: {greeting.code} {banner}; EHLO accepted")


def _unreached() -> tuple[CheckResult, CheckResult]:
    because = "no connection to the relay (see smtp)"
    return not_checked(TLS, because), not_checked(AUTH, because)


def _connect_error(exc: aiosmtplib.SMTPConnectError) -> str:
    """What stopped the connection, without aiosmtplib's repetition of host and port."""
    cause = exc.__cause__
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused: nothing listens on that port"
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return str(exc)


async def _tls(client: aiosmtplib.SMTP, target: Target) -> CheckResult:
    """The transport security the configuration asks for, with the certificate verified."""
    s = target.settings
    if s.smtp_tls is SmtpTls.NONE:
        if s.smtp_is_loopback():
            return passed(TLS, f"no TLS (DISPATCHER_SMTP_TLS=none) to {s.smtp_host}, on this host")
        return warned(
            TLS,
            f"no TLS to {s.smtp_host} (DISPATCHER_SMTP_ALLOW_PLAINTEXT=true): mail and the "
            "SMTP password cross the network unencrypted",
            "set DISPATCHER_SMTP_TLS=starttls or tls if the relay offers it",
        )
    if s.smtp_tls is SmtpTls.STARTTLS:
        await _starttls(client, target)
    ssl_object = client.transport.get_extra_info("ssl_object") if client.transport else None
    version = ssl_object.version() if isinstance(ssl_object, ssl.SSLObject) else "TLS"
    mode = "STARTTLS" if s.smtp_tls is SmtpTls.STARTTLS else "implicit TLS"
    return passed(
        TLS, f"{mode}, {version}; the certificate for {s.smtp_host} is trusted by {target.ca}"
    )


async def _starttls(client: aiosmtplib.SMTP, target: Target) -> None:
    because = "STARTTLS failed (see smtp-tls); the password is never sent without TLS"
    try:
        await client.starttls()
    except ssl.SSLError as exc:
        fix = _tls_fix(exc)
        tls = failed(TLS, f"STARTTLS with {target.where}: {exc}", fix)
        raise Stop(tls, not_checked(AUTH, because)) from exc
    except (aiosmtplib.SMTPException, OSError) as exc:
        fix = (
            "ask the relay's operator to offer STARTTLS, or set DISPATCHER_SMTP_TLS=tls with the "
            "relay's implicit-TLS port (usually 465)"
        )
        tls = failed(TLS, f"STARTTLS with {target.where} failed: {_reply(exc)}", fix)
        raise Stop(tls, not_checked(AUTH, because)) from exc


def _tls_fix(exc: ssl.SSLError) -> str:
    """An untrusted certificate is fixed by trust settings; any other TLS error is most often
    a port that speaks another mode."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return TRUST_FIX
    return (
        "check that DISPATCHER_SMTP_TLS matches DISPATCHER_SMTP_PORT: `tls` for an implicit-TLS "
        "port (usually 465), `starttls` for a submission port (usually 587)"
    )


async def _login(client: aiosmtplib.SMTP, target: Target) -> CheckResult:
    """AUTH with the configured user name and password, if a user name is set."""
    s = target.settings
    offered = client.esmtp_extensions.get("auth", "").upper()
    if s.smtp_username is None:
        note = f"; the relay offers AUTH {offered}" if offered else ""
        return passed(AUTH, f"no login configured (DISPATCHER_SMTP_USERNAME is not set){note}")
    password = s.smtp_password.get_secret_value() if s.smtp_password else ""
    try:
        await client.login(s.smtp_username, password)
    except aiosmtplib.SMTPAuthenticationError as exc:
        message = f"{target.where} refused the login as {s.smtp_username}: {_reply(exc)}"
        return failed(AUTH, message, LOGIN_FIX)
    except (aiosmtplib.SMTPException, OSError) as exc:
        message = f"cannot log in to {target.where} as {s.smtp_username}: {_reply(exc)}"
        fix = (
            "unset DISPATCHER_SMTP_USERNAME if the relay takes mail from this host without a "
            "login; otherwise ask its operator which authentication it offers"
        )
        return failed(AUTH, message, fix)
    return passed(AUTH, f"logged in to {target.where} as {s.smtp_username}")


def _reply(exc: BaseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}".strip()
    return f"{type(exc).__name__}: {exc}"


async def _quit(client: aiosmtplib.SMTP) -> None:
    if not client.is_connected:
        return
    protocol = client.protocol
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError):
        client.close()
    await _closed(protocol, client.timeout)


async def _closed(protocol: SMTPProtocol | None, timeout: float | None) -> None:
    """Wait (within `timeout`) until the connection is closed. Over TLS that is after the
    relay's close_notify, some loop turns after QUIT: a loop that ends first (`asyncio.run`)
    leaves the socket open."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (timeout or 0)
    while protocol is not None and protocol.transport is not None and loop.time() < deadline:
        await asyncio.sleep(0.01)
