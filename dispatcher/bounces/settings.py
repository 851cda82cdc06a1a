"""The bounce reader's settings, part of `dispatcher.config.Settings` (`DISPATCHER_BOUNCE_*`)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator

from dispatcher.durations import Duration

# A plain local part and domain: the VERP token is added to the local part after a "+".
_BOUNCE_ADDRESS = re.compile(r"[A-Za-z0-9._-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


class BounceSettings(BaseModel):
    bounce_address: str | None = Field(
        None,
        description="Return path for VERP: each delivery goes out with MAIL FROM "
        "`LOCAL+TOKEN@DOMAIN` of this address, so that its bounce names it (unset: the "
        "sender's address, and bounces are matched by Message-ID alone).",
    )
    bounce_imap_host: str | None = Field(
        None, description="IMAP server of the bounce mailbox (unset: no IMAP reading)."
    )
    bounce_imap_port: int = Field(993, ge=1, le=65535, description="Its port.")
    bounce_imap_tls: Literal["tls", "starttls", "none"] = Field(
        "tls", description="`tls` (implicit TLS), `starttls`, or `none` (loopback only)."
    )
    bounce_imap_ca_file: Path | None = Field(
        None,
        description="CA bundle to verify the IMAP server's certificate (default: the system CAs).",
    )
    bounce_imap_timeout: Duration = Field(
        timedelta(seconds=15),
        gt=timedelta(0),
        le=timedelta(seconds=20),
        description="How long the IMAP server may take to answer: to connect, greet, and each "
        "command (at most 20 s, the daemon's shutdown grace).",
    )
    bounce_imap_username: str | None = Field(None, description="The bounce mailbox's login.")
    bounce_imap_password: SecretStr | None = Field(None, description="Its password (never logged).")
    bounce_imap_folder: str = Field("INBOX", description="The folder bounces arrive in.")
    bounce_maildir: Path | None = Field(
        None, description="A local Maildir to read bounces from as well (unset: none)."
    )
    bounce_processed_folder: str = Field(
        "Dispatcher-processed", description="Where a bounce goes once it has been recorded."
    )
    bounce_ignored_folder: str = Field(
        "Dispatcher-ignored",
        description="Where mail goes that is no bounce, is malformed or matches no delivery.",
    )
    bounce_check_interval: Duration = Field(
        timedelta(minutes=1), gt=timedelta(0), description="How often the daemon reads them."
    )

    @field_validator("bounce_address")
    @classmethod
    def _plain_address(cls, value: str | None) -> str | None:
        if value is not None and not _BOUNCE_ADDRESS.fullmatch(value.strip()):
            raise ValueError(
                f"{value!r} is not a plain address such as bounces@medcom.dk (ASCII, no '+': "
                "the dispatcher adds +TOKEN to the local part)"
            )
        return value.strip() if value is not None else None

    @property
    def bounces_configured(self) -> bool:
        """Whether there is a mailbox to read bounces from."""
        return self.bounce_imap_host is not None or self.bounce_maildir is not None
