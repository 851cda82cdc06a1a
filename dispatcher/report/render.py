"""The report as Markdown or as HTML that prints cleanly on A4, in Danish, with times in
Copenhagen time and minutes with a decimal comma."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from dispatcher.notices.timefmt import to_local
from dispatcher.report.figures import MUNICIPAL, Figures, compute
from dispatcher.report.records import Records
from dispatcher.report.timeline import STATUSES, lines
from dispatcher.report.wording import NOTICES

FORMATS = ("md", "html")
_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html.j2"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def _minutes(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}".replace(".", ",")


def _time(moment: datetime | None) -> str:
    return "–" if moment is None else f"{to_local(moment):%d.%m.%Y %H:%M}"


def _cell(text: str) -> str:
    """One Markdown table cell: no pipe or line break may end it early."""
    return " ".join(text.split()).replace("|", "\\|")


_ENV.filters.update(minutter=_minutes, tid=_time, celle=_cell)


def render(records: Records, fmt: str, now: datetime) -> str:
    """The report on `records`, made at `now`, as `fmt` ("md" or "html")."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use md or html")
    figures: Figures = compute(records)
    return _ENV.get_template(f"report.{fmt}.j2").render(
        r=records,
        f=figures,
        now=now,
        timeline=lines(records),
        notice_names=NOTICES,
        status_names=STATUSES,
        municipal=MUNICIPAL,
    )
