"""The status as Danish HTML from `templates/pages/status*.html.j2`.

Every value is escaped (autoescape on, never `|safe`), undefined variables are errors, and the
templates use no filters: the view hands them words and times ready to show, so
`dispatcher templates check` compiles them like the other pages.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from dispatcher.status.view import IncidentView, StatusView

PAGES = "pages"


def status_html(templates_dir: Path, view: StatusView, *, stale: str | None = None) -> str:
    """The status page; `stale`, if given, says the page shows an older status and since when."""
    return _render(templates_dir, "status.html.j2", view=view, stale=stale)


def incident_html(templates_dir: Path, incident: IncidentView, view: StatusView) -> str:
    """One incident's page; `view` gives the current status, named in the footer."""
    return _render(templates_dir, "status_incident.html.j2", incident=incident, view=view)


def not_found_html(templates_dir: Path, number: str) -> str:
    """The Danish 404 page for `number`, as the request gave it."""
    return _render(templates_dir, "status_not_found.html.j2", number=number)


def unavailable_html(templates_dir: Path) -> str:
    """The Danish 503 page: the database fails and there is no status to show."""
    return _render(templates_dir, "status_unavailable.html.j2")


def _render(templates_dir: Path, name: str, **variables: Any) -> str:
    env = _environment(templates_dir.resolve())
    return env.get_template(f"{PAGES}/{name}").render(variables)


@lru_cache(maxsize=8)
def _environment(templates_dir: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
