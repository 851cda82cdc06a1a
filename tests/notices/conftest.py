"""Fixtures for the notice tests: the real templates and a small hand-built registry."""

from __future__ import annotations

import pytest

from dispatcher.contacts.model import Registry
from dispatcher.notices.render import NoticeRenderer, standard_guidance
from tests.notices.factories import (
    AERO,
    BORNHOLM,
    COPENHAGEN,
    ESCALATION,
    LYNGBY,
    TEMPLATES,
    VENDOR,
)


@pytest.fixture(scope="session")
def notice_registry() -> Registry:
    return Registry(
        municipalities=(COPENHAGEN, LYNGBY, BORNHOLM, AERO),
        vendors=(VENDOR,),
        escalation=ESCALATION,
    )


@pytest.fixture(scope="session")
def notice_renderer() -> NoticeRenderer:
    return NoticeRenderer(TEMPLATES)


@pytest.fixture(scope="session")
def guidance() -> str:
    return standard_guidance(TEMPLATES)
