"""The `sms-gateway` check: the SMS set-up is complete (a token, a webhook secret for the
callbacks, a gateway for everyone paged by SMS) and the gateway answers and takes the token.
It sends no SMS."""

from __future__ import annotations

import asyncio

from dispatcher.config import Settings
from dispatcher.contacts.model import Registry
from dispatcher.doctor.result import CheckResult, failed, passed
from dispatcher.paging import provider
from dispatcher.paging.checks import sms_people, sms_problems

NAME = "sms-gateway"


def sms_gateway(settings: Settings, registry: Registry | None) -> CheckResult:
    people = sms_people(registry) if registry is not None else []
    if not settings.sms_gateway_url and not people:
        return passed(NAME, "not configured: nobody pages by SMS (see docs/paging.md)")
    problems = sms_problems(settings, registry) if registry is not None else []
    gateway = provider.gateway(settings)
    if gateway is not None and settings.sms_token is not None:

        async def probe() -> str | None:
            try:
                return await gateway.reachable()
            finally:
                await gateway.close()

        answer = asyncio.run(probe())
        if answer is not None:
            problems.append(answer)
    if problems:
        return failed(
            NAME,
            f"{len(problems)} problem{'s' if len(problems) > 1 else ''} with paging by SMS",
            "fix each line below; docs/paging.md says how to set up the gateway",
            problems,
        )
    return passed(
        NAME,
        f"{settings.sms_gateway_url} answers and takes the token; {len(people)} people page by "
        f"SMS; callbacks at {provider.callback_url(settings)} and "
        f"{settings.public_url.rstrip('/')}{provider.INBOUND_PATH}",
    )
