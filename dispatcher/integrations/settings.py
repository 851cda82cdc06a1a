"""Alertmanager's and PagerDuty's settings, part of `dispatcher.config.Settings`."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, field_validator

from dispatcher.integrations.matchers import parse


class IntegrationSettings(BaseModel):
    alertmanager_matchers: str = Field(
        'service="FMK"',
        description="Which Alertmanager alerts mean FMK down: label matchers, comma-separated.",
    )
    alertmanager_token: SecretStr | None = Field(
        None, description="The bearer token Alertmanager's http_config sends."
    )
    alertmanager_username: str | None = Field(None, description="Or basic auth: the user name.")
    alertmanager_password: SecretStr | None = Field(None, description="... and its password.")
    pagerduty_routing_key: SecretStr | None = Field(
        None, description="The routing key of /v2/enqueue (PagerDuty's Events API v2)."
    )
    pagerduty_rate_limit: int = Field(
        120, ge=1, description="Events a minute per routing key before /v2/enqueue answers 429."
    )

    @field_validator("alertmanager_matchers")
    @classmethod
    def _matchers(cls, value: str) -> str:
        parse(value)  # a MatcherError is a ValueError: named in the settings error
        return value
