"""The status as an Atom 1.0 feed (`/status.atom`): one entry per municipal notice.

Entry ids are tag URIs made of the incident's uid and the notice's stored sequence number, so
an entry keeps its id whatever the daemon's address or the incident numbering.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from xml.etree import ElementTree as ET

from dispatcher.status.maintenance_view import WindowView
from dispatcher.status.view import IncidentView, Moment

ATOM = "http://www.w3.org/2005/Atom"
CONTENT_TYPE = "application/atom+xml; charset=utf-8"
FEED_ID = "tag:medcom.dk,2021:fmk-status"
INCIDENTS = 10

ET.register_namespace("", ATOM)


def entry_id(incident: IncidentView, sequence: int) -> str:
    return f"{FEED_ID}:{incident.uid}:{sequence}"


def atom_feed(
    incidents: Sequence[IncidentView],
    base_url: str,
    now: Moment,
    windows: Sequence[WindowView] = (),
) -> bytes:
    """The feed of `incidents` (newest first) and of the upcoming and active maintenance
    `windows`; `updated` is the newest notice's or window's time, or `now` when none."""
    entries = [(incident, notice) for incident in incidents for notice in incident.notices]
    entries.sort(key=lambda pair: pair[1].sent_at.utc, reverse=True)
    times = [e[1].sent_at for e in entries[:1]] + [w.updated_at for w in windows]
    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "da"})
    _text(feed, "id", FEED_ID)
    _text(feed, "title", "Status for FMK (Fælles Medicinkort)")
    _text(feed, "subtitle", "MedComs meddelelser til kommunerne om nedbrud i FMK")
    _text(feed, "updated", max(times, key=lambda t: t.utc).utc_text if times else now.utc_text)
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "MedCom")
    _link(feed, f"{base_url}/status.atom", "self", "application/atom+xml")
    _link(feed, f"{base_url}/status", "alternate", "text/html")
    for window in windows:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "id", f"{FEED_ID}:vedligehold:{window.uid}:{window.sequence}")
        _text(entry, "title", f"{window.title} ({window.state.lower()})")
        _text(entry, "updated", window.updated_at.utc_text)
        _link(entry, f"{base_url}/status#vedligehold-{window.number}", "alternate", "text/html")
        _text(entry, "summary", f"Berører {window.scope_label}.")
        _text(entry, "content", window.text).set("type", "text")
    for incident, notice in entries:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "id", entry_id(incident, notice.sequence))
        _text(entry, "title", f"FMK-nedbrud #{incident.number} – {notice.title}")
        _text(entry, "published", notice.sent_at.utc_text)
        _text(entry, "updated", notice.sent_at.utc_text)
        url = f"{base_url}/status/incidents/{incident.number}#meddelelse-{notice.number}"
        _link(entry, url, "alternate", "text/html")
        _text(entry, "summary", incident.summary)
        body = "\n\n".join((*notice.paragraphs, f"Sendt {notice.sent_at.text}."))
        _text(entry, "content", body).set("type", "text")
    out = io.BytesIO()
    ET.ElementTree(feed).write(out, encoding="utf-8", xml_declaration=True)
    return out.getvalue()


def _text(parent: ET.Element, name: str, value: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{name}")
    element.text = value
    return element


def _link(parent: ET.Element, href: str, rel: str, kind: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}link", {"href": href, "rel": rel, "type": kind})
