"""What is wrong with the SMS set-up, one sentence per problem, for `serve` (which refuses to
start on any of them) and `dispatcher doctor` (one line each)."""

from __future__ import annotations

from dispatcher.config import Settings, secret_weakness
from dispatcher.contacts.model import Channel, Person, Registry


def sms_people(registry: Registry) -> list[Person]:
    esc = registry.escalation
    people = {p.email.lower(): p for p in (*esc.staff, *esc.fallback, *esc.drill)}
    return [p for p in people.values() if p.pages_by(Channel.SMS)]


def sms_problems(settings: Settings, registry: Registry) -> list[str]:
    """Pages by SMS that could not go out or be acknowledged, or a half-configured gateway."""
    people = sms_people(registry)
    if not people and not settings.sms_gateway_url:
        return []
    problems = []
    if not settings.sms_gateway_url:
        names = ", ".join(p.name for p in people)
        problems.append(
            f"{names} page{'s' if len(people) == 1 else ''} by SMS, but DISPATCHER_SMS_GATEWAY_URL "
            "is not set: set it (and DISPATCHER_SMS_TOKEN), or remove 'sms' from their channels"
        )
    token = settings.sms_token
    if settings.sms_gateway_url and (token is None or not token.get_secret_value().strip()):
        problems.append(
            "DISPATCHER_SMS_TOKEN is not set: the gateway refuses every SMS without its API token"
        )
    weakness = secret_weakness(settings.sms_webhook_secret)
    if weakness is not None:
        problems.append(
            f"DISPATCHER_SMS_WEBHOOK_SECRET {weakness}: delivery reports and replies to pages "
            "cannot be told from forgeries, so they are refused (503); set the same long random "
            "value as the authentication token of both webhooks at the gateway"
        )
    return problems
