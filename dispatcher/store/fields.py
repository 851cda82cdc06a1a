"""Column helpers shared by the table modules."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field

from dispatcher.store.types import UTCDateTime


def time_field(*, nullable: bool = False, index: bool = False) -> datetime:
    return Field(  # type: ignore[no-any-return]
        default=None, sa_column=Column(UTCDateTime(timezone=True), nullable=nullable, index=index)
    )


def text_field(*, nullable: bool = False) -> str:
    return Field(default="", sa_column=Column(Text, nullable=nullable))  # type: ignore[no-any-return]
