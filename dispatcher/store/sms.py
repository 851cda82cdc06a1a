"""The SMS paging tables: reply codes and short links, the gateway's callbacks, and the pages
whose every channel failed. Re-exported by `store.tables`, which registers them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from dispatcher.store.fields import text_field as _text
from dispatcher.store.fields import time_field as _time


class PageCodeRow(SQLModel, table=True):
    """The reply code and short link of one page by SMS to one person. A reply with the code
    from that phone, or the short link, acknowledges as the person; a code works once, and
    only while its incident is open."""

    __tablename__ = "page_code"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    notice_id: int = Field(foreign_key="notice.id")
    person: str = Field(max_length=320)
    phone: str = Field(max_length=20, index=True)
    code: str = Field(max_length=12)
    link_key: str = Field(unique=True, max_length=32)
    ack_url: str = _text()
    created_at: datetime = _time()
    used_at: datetime | None = _time(nullable=True)


class SmsCallbackRow(SQLModel, table=True):
    """Every accepted gateway callback by the gateway's id (and status, for delivery reports):
    a repeat is recognised and changes nothing."""

    __tablename__ = "sms_callback"
    __table_args__ = (UniqueConstraint("kind", "provider_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)  # "report" or "inbound"
    provider_id: str = Field(max_length=64)
    status: str = Field(max_length=20)
    received_at: datetime = _time()


class PageExhaustionRow(SQLModel, table=True):
    """Every channel of a page to a person failed, and the incident was told so (once)."""

    __tablename__ = "page_exhaustion"

    notice_id: int = Field(foreign_key="notice.id", primary_key=True)
    person: str = Field(primary_key=True, max_length=320)
    at: datetime = _time()
