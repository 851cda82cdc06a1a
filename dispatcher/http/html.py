"""The Danish HTML pages that links in mails open (acknowledgement, receipt confirmation):
rendered from `templates/pages/`, autoescaped, with headers that keep the link's token out of
caches, Referer headers and indexes."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from fastapi.responses import HTMLResponse

from dispatcher.http.deps import HttpServices
from dispatcher.notices.timefmt import format_local

PAGES = "pages"
# The token in the URL is a capability: keep it out of caches, Referer headers and indexes,
# and the one-button form out of other sites' frames.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


def page(svc: HttpServices, template: str, code: int, /, **variables: Any) -> HTMLResponse:
    env = _environment(svc.runtime.settings.templates_dir.resolve())
    html = env.get_template(f"{PAGES}/{template}").render(variables)
    return HTMLResponse(html, status_code=code, headers=PAGE_HEADERS)


@lru_cache(maxsize=8)
def _environment(templates_dir: Path) -> jinja2.Environment:
    """Rooted at the templates folder (as `dispatcher templates check` sees it), autoescaped."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["lokal"] = format_local
    return env
