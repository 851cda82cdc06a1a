"""Render a notice (subject, text and HTML body) from the Jinja2 templates."""

from __future__ import annotations

import traceback
import unicodedata
from dataclasses import dataclass, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
import structlog
from jinja2 import meta
from markupsafe import Markup, escape

from dispatcher.contacts.model import Escalation, Municipality, Person, Vendor
from dispatcher.core.kinds import NoticeKind
from dispatcher.notices.context import NoticeContext
from dispatcher.notices.timefmt import format_clock, format_duration, format_local

GUIDANCE_FILE = "guidance/standard.txt"
SUBJECT_LIMIT = 150
DRILL_PREFIX = "ØVELSE: "  # before the subject of every notice of a drill
PARTS = ("subject.txt.j2", "body.txt.j2", "body.html.j2")
HTML_SUFFIX = ".html.j2"
log = structlog.get_logger(__name__)
# Official names that are not simply "<name> Kommune", by municipality code.
OFFICIAL_NAMES = {101: "Københavns Kommune", 400: "Bornholms Regionskommune"}


class TemplateError(Exception):
    """A template cannot be compiled or rendered; the message names the file, line and problem."""


@dataclass(frozen=True)
class RenderedNotice:
    subject: str
    text: str
    html: str


def template_names(kind: NoticeKind) -> tuple[str, str, str]:
    """The subject, text and HTML template of `kind`, relative to the templates folder."""
    subject, text, html = (f"mail/{kind.value}/{part}" for part in PARTS)
    return subject, text, html


def single_line(text: str, limit: int | None = None) -> str:
    """Control characters and runs of whitespace become one space; cut to `limit` with "…"."""
    spaced = "".join(
        " " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char for char in text
    )
    line = " ".join(spaced.split())
    if limit is not None and len(line) > limit:
        return line[: limit - 1].rstrip() + "…"
    return line


def addressee(recipient: Municipality | Vendor | Person) -> str:
    """The official name of a municipality ("Aarhus Kommune"), or a vendor's or person's name."""
    if isinstance(recipient, Vendor | Person):
        return recipient.name
    return OFFICIAL_NAMES.get(recipient.code, f"{recipient.name} Kommune")


def one_line(text: str) -> str:
    """The `en_linje` filter: `single_line` that keeps HTML markup marked safe."""
    line = single_line(text)
    if isinstance(text, Markup):
        # Safe: markup in, the same markup out, with only whitespace and control characters
        # (which no escaping produces) replaced by spaces.
        return Markup(line)  # noqa: S704
    return line


def paragraphs(text: str) -> Markup:
    """Plain text as HTML: blank lines separate paragraphs, other line breaks become <br>."""
    blocks = [block.strip() for block in text.replace("\r\n", "\n").split("\n\n")]
    return Markup("\n").join(
        Markup("<p>{}</p>").format(
            Markup("<br>\n").join(escape(line) for line in block.split("\n"))
        )
        for block in blocks
        if block
    )


@jinja2.pass_context
def _clock(context: jinja2.runtime.Context, moment: datetime) -> str:
    reference: datetime = context["issued_at"]
    return format_clock(moment, reference)


def standard_guidance(templates_dir: Path) -> str:
    """The standard FMK-outage guidance that a new incident uses unless its owner replaces it."""
    path = templates_dir / GUIDANCE_FILE
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"{path}: cannot read the standard guidance: {exc}") from exc


class NoticeRenderer:
    def __init__(self, templates_dir: Path) -> None:
        self.templates_dir = templates_dir
        self.loader = jinja2.FileSystemLoader(templates_dir)
        self.env = jinja2.Environment(
            loader=self.loader,
            undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(
                ["html", HTML_SUFFIX[1:]], default_for_string=False
            ),
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(
            lokal=format_local,
            klokken=_clock,
            varighed=format_duration,
            afsnit=paragraphs,
            en_linje=one_line,
        )

    def render(self, ctx: NoticeContext) -> RenderedNotice:
        # Autoescaping keeps a URL inside its href, but does not keep a javascript: link out.
        # A bad link must not stop a notice, though: it goes out without the link.
        if ctx.ack_url is not None and not is_web_url(ctx.ack_url):
            _dropped("ack_url", ctx.kind)
            ctx = replace(ctx, ack_url=None)
        if ctx.receipt_url is not None and not is_web_url(ctx.receipt_url):
            _dropped("receipt_url", ctx.kind)
            ctx = replace(ctx, receipt_url=None)
        subject, text, html = template_names(ctx.kind)
        variables = variables_for(ctx)
        drill = ctx.incident is not None and ctx.incident.drill
        return RenderedNotice(
            subject=single_line(
                (DRILL_PREFIX if drill else "") + self._render(subject, variables), SUBJECT_LIMIT
            ),
            text=self._render(text, variables),
            html=self._render(html, variables),
        )

    def check(self) -> list[str]:
        """Problems with the templates folder: missing or uncompilable templates, no guidance."""
        if not self.templates_dir.is_dir():
            return [f"templates folder {self.templates_dir} does not exist"]
        problems = [
            f"{self.templates_dir / name}: missing template"
            for kind in NoticeKind
            for name in template_names(kind)
            if not (self.templates_dir / name).is_file()
        ]
        for name in self.env.list_templates(extensions=["j2"]):
            problems.extend(self._problems_in(name))
        if not (self.templates_dir / GUIDANCE_FILE).is_file():
            problems.append(f"{self.templates_dir / GUIDANCE_FILE}: missing standard guidance")
        return problems

    def _problems_in(self, name: str) -> list[str]:
        """Syntax errors, and references across the HTML/text divide: a macro from a text
        template returns unescaped text that an HTML template would trust as markup."""
        try:
            self.env.get_template(name)
            source, filename, _ = self.loader.get_source(self.env, name)
            used = meta.find_referenced_templates(self.env.parse(source, name, filename))
        except Exception as exc:  # as in _render: report, whatever it is
            return [str(self._error(name, exc))]
        html = name.endswith(HTML_SUFFIX)
        return [
            f"{filename}: uses {other}, but HTML templates (*{HTML_SUFFIX}) may only use "
            "HTML templates and text templates only text templates, or escaping goes wrong"
            for other in used
            if other is not None and other.endswith(HTML_SUFFIX) != html
        ]

    def _render(self, name: str, variables: dict[str, Any]) -> str:
        try:
            return self.env.get_template(name).render(variables)
        except Exception as exc:  # a template may fail in any way; the caller gets one error type
            raise self._error(name, exc) from exc

    def _error(self, name: str, exc: Exception) -> TemplateError:
        if isinstance(exc, jinja2.TemplateSyntaxError):
            where = exc.filename or str(self.templates_dir / name)
            return TemplateError(f"{where}, line {exc.lineno}: syntax error: {exc.message}")
        where = self._failing_line(exc) or str(self.templates_dir / name)
        if isinstance(exc, jinja2.TemplateNotFound):
            return TemplateError(f"{where}: {exc.message}")
        if isinstance(exc, jinja2.UndefinedError):
            return TemplateError(f"{where}: undefined variable: {exc.message}")
        return TemplateError(f"{where}: {type(exc).__name__}: {exc}")

    def _failing_line(self, exc: Exception) -> str | None:
        """Where the innermost template frame of the traceback is, as "FILE, line N"."""
        root = self.templates_dir.resolve()
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if Path(frame.filename).resolve().is_relative_to(root):
                return f"{frame.filename}, line {frame.lineno}"
        return None


def _dropped(link: str, kind: NoticeKind) -> None:
    """Log a link left out of a notice (not the URL: it carries the link's token)."""
    log.error(
        f"notice.{link}_dropped",
        kind=str(kind),
        problem="not an absolute http(s) URL; check DISPATCHER_PUBLIC_URL",
    )


def is_web_url(url: str) -> bool:
    """An absolute http(s) URL without spaces or control characters: safe in an href."""
    if any(char.isspace() or unicodedata.category(char) == "Cc" for char in url):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def variables_for(ctx: NoticeContext) -> dict[str, Any]:
    """The template variables: the fields of `ctx` plus a few derived from them."""
    variables = {field.name: getattr(ctx, field.name) for field in fields(ctx)}
    incident = ctx.incident
    elapsed = None
    if incident is not None:
        elapsed = (incident.resolved_at or ctx.issued_at) - incident.down_since
    variables.update(
        addressee=addressee(ctx.recipient),
        is_vendor=isinstance(ctx.recipient, Vendor),
        elapsed=elapsed,
        also_paged=also_paged(ctx.contacts, ctx.page_round, ctx.recipient),
        owner_person=owner_person(ctx.contacts, incident.owner if incident else None),
    )
    return variables


def _same_address(one: str, other: str) -> bool:
    return one.strip().casefold() == other.strip().casefold()


def also_paged(
    contacts: Escalation, page_round: int, recipient: Municipality | Vendor | Person
) -> tuple[Person, ...]:
    """Who else is paged in round `page_round`: the on-call staff, from round 2 also the
    fallback; each once, the recipient left out."""
    paged = contacts.oncall + (contacts.fallback if page_round >= 2 else ())
    others: list[Person] = []
    for person in paged:
        if isinstance(recipient, Person) and _same_address(person.email, recipient.email):
            continue
        if not any(_same_address(person.email, seen.email) for seen in others):
            others.append(person)
    return tuple(others)


def owner_person(contacts: Escalation, owner: str | None) -> Person | None:
    """The escalation contact whose address is `owner` (the address the owner acknowledged
    with); someone not in the registry is shown by the address alone."""
    if owner is None or not owner.strip():
        return None
    known = contacts.staff + contacts.fallback + (contacts.reply_to,)
    found = next((p for p in known if _same_address(p.email, owner)), None)
    return found or Person(owner.strip(), owner.strip())
