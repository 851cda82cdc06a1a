"""The SMS gateway the settings name, or None when none is configured."""

from __future__ import annotations

from pydantic import SecretStr

from dispatcher.config import Settings
from dispatcher.paging.gateway import SmsCallbacks, SmsGateway

REPORTS_PATH = "/api/sms/reports"
INBOUND_PATH = "/api/sms/inbound"


def callback_url(settings: Settings) -> str:
    return settings.public_url.rstrip("/") + REPORTS_PATH


def gateway(settings: Settings) -> SmsGateway | None:
    if not settings.sms_gateway_url:
        return None
    from dispatcher.paging.gatewayapi import GatewayApi  # httpx and PyJWT: only with SMS

    return GatewayApi(
        base_url=settings.sms_gateway_url,
        token=_secret(settings.sms_token),
        sender=settings.sms_sender,
        callback_url=callback_url(settings),
        message_class=settings.sms_class,
        priority=settings.sms_priority,
        timeout=settings.sms_timeout,
    )


def callbacks(settings: Settings) -> SmsCallbacks | None:
    """The reader of the gateway's callbacks, or None without a webhook secret."""
    secret = _secret(settings.sms_webhook_secret).strip()
    if not secret:
        return None
    from dispatcher.paging.gatewayapi import GatewayApiCallbacks

    return GatewayApiCallbacks(secret)


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""
