"""Wiring: from settings to the engine, registry, renderer and dispatch services."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import Engine

from dispatcher.config import DEVELOPMENT_LINK_SECRET, MIN_SECRET_BYTES, Settings, secret_weakness
from dispatcher.contacts.model import Municipality, Registry, Vendor, is_placeholder
from dispatcher.contacts.registry import load_registry
from dispatcher.core.enums import Release
from dispatcher.core.maintenance import MaintenancePolicy
from dispatcher.core.model import Policy
from dispatcher.incidents.service import Dispatch
from dispatcher.notices.render import NoticeRenderer, standard_guidance
from dispatcher.paging.checks import sms_problems
from dispatcher.store.db import make_engine


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: Engine
    registry: Registry
    renderer: NoticeRenderer

    @property
    def dispatch(self) -> Dispatch:
        return Dispatch(
            engine=self.engine,
            registry=self.registry,
            renderer=self.renderer,
            policy=policy(self.settings),
            public_url=self.settings.public_url,
            link_secret=self.settings.link_secret.get_secret_value(),
            standard_guidance=standard_guidance(self.settings.templates_dir),
            maintenance=maintenance_policy(self.settings),
            release=Release(self.settings.municipal_release),
        )


def policy(settings: Settings) -> Policy:
    return Policy(
        update_interval=settings.update_interval,
        page_interval=settings.page_interval,
        failsafe_after=settings.failsafe_after,
        recovery_window=settings.recovery_window,
        auto_resolve=settings.auto_resolve,
        reminder_after=settings.reminder_after,
        call_list_after=settings.call_list_after,
        relay_alert_after=settings.relay_alert_after,
    )


def maintenance_policy(settings: Settings) -> MaintenancePolicy:
    return MaintenancePolicy(
        reminders=settings.maintenance_reminders,
        max_length=settings.maintenance_max_length,
        grace=settings.maintenance_grace,
    )


def build(settings: Settings, engine: Engine | None = None) -> Runtime:
    """Load contacts and templates (failing loudly on errors) and open the database."""
    registry = load_registry(settings.contacts_dir)
    renderer = NoticeRenderer(settings.templates_dir)
    standard_guidance(settings.templates_dir)  # fail now, not at the first SDS signal
    return Runtime(settings, engine or make_engine(settings.database_url), registry, renderer)


def all_addresses(registry: Registry) -> set[str]:
    esc = registry.escalation
    people = (*esc.staff, *esc.fallback, *esc.drill, esc.sender, esc.reply_to)
    groups: tuple[Municipality | Vendor, ...] = (*registry.municipalities, *registry.vendors)
    return {e for g in groups for e in g.emails} | {p.email for p in people}


def refusals(settings: Settings, registry: Registry) -> list[str]:
    """Reasons the daemon must not start with this configuration."""
    refused = settings_refusals(settings) + placeholder_refusals(settings, registry)
    return refused + sms_problems(settings, registry)


def placeholder_refusals(settings: Settings, registry: Registry) -> list[str]:
    """In production: the placeholder (.example) addresses left in the registry, if any."""
    if settings.env != "production":
        return []
    placeholders = sorted(e for e in all_addresses(registry) if is_placeholder(e))
    if not placeholders:
        return []
    return [
        f"DISPATCHER_ENV=production but {len(placeholders)} placeholder addresses "
        f"(.example) remain in {settings.contacts_dir}, e.g. {placeholders[0]}; "
        "run `dispatcher contacts check`"
    ]


def settings_refusals(settings: Settings) -> list[str]:
    """Reasons in the settings alone: plaintext SMTP off this host, and in production
    missing, weak or development secrets and a loopback public URL."""
    problems = settings.smtp_problems()
    if settings.env != "production":
        return problems
    problems += secret_problems(settings)
    if settings.link_secret.get_secret_value() == DEVELOPMENT_LINK_SECRET:
        problems.append(
            "DISPATCHER_LINK_SECRET is the development default: anyone could forge "
            "acknowledgement links; set a long random value"
        )
    host = urlsplit(settings.public_url).hostname or ""
    if host in {"localhost", "127.0.0.1", "::1"}:
        problems.append(
            f"DISPATCHER_PUBLIC_URL is {settings.public_url}: the links in pages must use an "
            "address the on-call staff can reach"
        )
    return problems


def settings_warnings(settings: Settings) -> list[str]:
    """In development, what production would refuse about a secret that was set: a blank or
    short webhook or link secret. The defaults (no webhook secret, the development link
    secret) are what development runs with, and are not warned about."""
    if settings.env == "production":
        return []
    return secret_problems(settings, unset_webhook=False)


STRONG_SECRET = f"use at least {MIN_SECRET_BYTES} random bytes, e.g. `openssl rand -hex 32`"


def secret_problems(settings: Settings, *, unset_webhook: bool = True) -> list[str]:
    """The webhook and link secrets that are blank or short (and the webhook secret if it is
    not set), each naming its variable. The development link secret is left to
    `settings_refusals`."""
    problems = []
    webhook = settings.webhook_secret
    weakness = secret_weakness(webhook) if webhook is not None or unset_webhook else None
    if weakness is not None:
        usable = webhook is not None and webhook.get_secret_value() != ""  # even if blank
        consequence = (
            "anyone who guesses it can send SDS signals"
            if usable
            else "the webhook refuses every SDS signal (503)"
        )
        problems.append(f"DISPATCHER_WEBHOOK_SECRET {weakness}: {consequence}; {STRONG_SECRET}")
    link = settings.link_secret
    weakness = secret_weakness(link)
    if weakness is not None and link.get_secret_value() != DEVELOPMENT_LINK_SECRET:
        problems.append(
            f"DISPATCHER_LINK_SECRET {weakness}: acknowledgement links could be forged by "
            f"guessing it; {STRONG_SECRET}"
        )
    return problems
