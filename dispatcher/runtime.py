"""Wiring: from settings to the engine, registry, renderer and dispatch services."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from dispatcher.config import Settings
from dispatcher.contacts.model import Municipality, Registry, Vendor, is_placeholder
from dispatcher.contacts.registry import load_registry
from dispatcher.core.model import Policy
from dispatcher.incidents.service import Dispatch
from dispatcher.notices.render import NoticeRenderer
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
            policy=Policy(update_interval=self.settings.update_interval),
        )


def build(settings: Settings, engine: Engine | None = None) -> Runtime:
    """Load contacts and templates (failing loudly on errors) and open the database."""
    registry = load_registry(settings.contacts_dir)
    renderer = NoticeRenderer(settings.templates_dir)
    return Runtime(settings, engine or make_engine(settings.database_url), registry, renderer)


def all_addresses(registry: Registry) -> set[str]:
    esc = registry.escalation
    people = (*esc.oncall, *esc.fallback, esc.sender, esc.reply_to)
    groups: tuple[Municipality | Vendor, ...] = (*registry.municipalities, *registry.vendors)
    return {e for g in groups for e in g.emails} | {p.email for p in people}


def refusals(settings: Settings, registry: Registry) -> list[str]:
    """Reasons the daemon must not start with this configuration."""
    problems = settings.smtp_problems()
    if settings.env == "production":
        placeholders = sorted(e for e in all_addresses(registry) if is_placeholder(e))
        if placeholders:
            problems.append(
                f"DISPATCHER_ENV=production but {len(placeholders)} placeholder addresses "
                f"(.example) remain in {settings.contacts_dir}, e.g. {placeholders[0]}; "
                "run `dispatcher contacts check`"
            )
    return problems
