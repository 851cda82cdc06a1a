"""One SMTP connection that sends one message to one recipient at a time (MAIL, RCPT, DATA),
and says whether a failure is worth retrying or final.

Final (permanent) is only a 5xx that speaks of this recipient or this message: the answer to
RCPT or to the end of DATA. Everything else — 4xx, a lost connection, TLS trouble, and 5xx
answers about the session (greeting, EHLO, AUTH, MAIL FROM) — fails every delivery alike, is
fixed at the relay or in our configuration, and is retried until the deadline.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable

import aiosmtplib

from dispatcher.config import Settings, SmtpTls


class SendFailure(Exception):
    """The relay did not take the message. `permanent` failures are not retried."""

    def __init__(self, reply: str, *, permanent: bool) -> None:
        super().__init__(reply)
        self.reply = reply
        self.permanent = permanent


def tls_context(settings: Settings) -> ssl.SSLContext:
    context = ssl.create_default_context(
        cafile=str(settings.smtp_ca_file) if settings.smtp_ca_file else None
    )
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class SmtpConnection:
    """A lazily opened, reused connection to the relay. Not shared between tasks."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: aiosmtplib.SMTP | None = None

    async def send(
        self,
        envelope_from: str,
        recipient: str,
        raw: bytes,
        ready: Callable[[], Awaitable[object]] | None = None,
    ) -> str:
        """Send `raw` to `recipient`; return the relay's reply or raise `SendFailure`. `ready`,
        if given, is awaited after RCPT and before DATA, so the relay cannot take the message
        before it has returned (the sender waits there for its previous record)."""
        try:
            client = await self._connected()
            size = [f"SIZE={len(raw)}"] if client.supports_extension("size") else []
            await client.mail(envelope_from, options=size)
            await client.rcpt(recipient)
            if ready is not None:
                await ready()
            response = await client.data(raw)
        except aiosmtplib.SMTPRecipientRefused as exc:
            await self.close()
            raise _failure(exc.code, exc.message) from exc
        except aiosmtplib.SMTPDataError as exc:
            await self.close()
            raise _failure(exc.code, exc.message) from exc
        except aiosmtplib.SMTPAuthenticationError as exc:
            await self.close()
            reply = f"authentication: {exc.code} {exc.message}".strip()
            raise SendFailure(reply, permanent=False) from exc
        except aiosmtplib.SMTPResponseException as exc:
            await self.close()
            reply = f"relay: {exc.code} {exc.message}".strip()
            raise SendFailure(reply, permanent=False) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self.close()
            raise SendFailure(f"connection: {type(exc).__name__}: {exc}", permanent=False) from exc
        except Exception:  # `ready` failed (the database): the SMTP transaction is half done
            await self.close()
            raise
        return f"250 {response.message}"

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        s = self._settings
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            timeout=s.smtp_timeout,
            use_tls=s.smtp_tls is SmtpTls.TLS,
            start_tls=s.smtp_tls is SmtpTls.STARTTLS,
            tls_context=tls_context(s) if s.smtp_tls is not SmtpTls.NONE else None,
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
        )
        await client.connect()
        if client.is_ehlo_or_helo_needed:  # as sendmail would, for the extensions
            try:
                await client.ehlo()
            except aiosmtplib.SMTPHeloError:
                await client.helo()
        self._client = client
        return client


def _failure(code: int, message: str) -> SendFailure:
    return SendFailure(f"{code} {message}".strip(), permanent=500 <= code < 600)
