"""The SMS gateway's settings, part of the one `config.Settings` (which inherits them)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings


class SmsSettings(BaseSettings):
    sms_provider: Literal["gatewayapi"] = Field(
        "gatewayapi", description="Whose API the SMS gateway speaks (see docs/paging.md)."
    )
    sms_gateway_url: str | None = Field(
        None,
        description="Base URL of the SMS gateway, e.g. `https://gatewayapi.com`; unset, no SMS "
        "is sent (and `serve` refuses a registry that pages someone by SMS).",
    )
    sms_token: SecretStr | None = Field(None, description="The gateway's API token (never logged).")
    sms_webhook_secret: SecretStr | None = Field(
        None,
        description="The authentication token set on the gateway's webhooks: it signs every "
        "delivery report and inbound SMS (`X-Gwapi-Signature`); without it both answer 503.",
    )
    sms_sender: str = Field(
        "MedCom",
        pattern=r"^([A-Za-z0-9 ]{1,11}|\+?[0-9]{1,15})$",
        description="Sender shown on the phone: up to 11 letters and digits, or a number.",
    )
    sms_class: str = Field("standard", description="The gateway's message class for pages.")
    sms_priority: Literal["BULK", "NORMAL", "URGENT", "VERY_URGENT"] = Field(
        "NORMAL", description="The gateway's priority for pages (URGENT may need another class)."
    )
    sms_timeout: float = Field(10.0, gt=0, description="Seconds for each request to the gateway.")
    sms_max_body: int = Field(
        16384, ge=1024, description="Largest body of a gateway callback, in bytes."
    )
