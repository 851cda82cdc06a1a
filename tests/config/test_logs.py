"""Logs are JSON lines off a terminal; secrets are blanked whatever the key's case."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from dispatcher.logs import REDACTED, configure


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure("INFO", stream)
    yield stream
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


def test_library_logs_are_json_too(stream: io.StringIO) -> None:
    logging.getLogger("uvicorn.error").warning("port %d busy", 8080)
    event = json.loads(stream.getvalue())
    assert event == {
        **event,
        "event": "port 8080 busy",
        "level": "warning",
        "logger": "uvicorn.error",
    }


def test_routine_library_lines_are_left_out(stream: io.StringIO) -> None:
    logging.getLogger("apscheduler.executors.default").info('Running job "tick"')
    logging.getLogger("uvicorn.error").info("Started server process")
    logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed")
    events = [json.loads(line)["event"] for line in stream.getvalue().splitlines()]
    assert events == ["Run time of job was missed"]


def test_verbose_shows_the_library_lines_too() -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    try:
        configure("INFO", stream, verbose=True)
        logging.getLogger("apscheduler.executors.default").info('Running job "tick"')
    finally:
        configure("INFO", io.StringIO())
        structlog.reset_defaults()
        root.handlers[:] = handlers
        root.setLevel(level)
    assert json.loads(stream.getvalue())["event"] == 'Running job "tick"'


def test_json_lines_with_danish_text_and_no_secrets(stream: io.StringIO) -> None:
    structlog.get_logger("t").info(
        "notice.queued", municipality="Ærø", smtp_password="hemmeligt", Signature="x"
    )
    structlog.get_logger("t").debug("hidden")
    [line] = stream.getvalue().splitlines()
    event = json.loads(line)
    assert event["event"] == "notice.queued"
    assert event["municipality"] == "Ærø"
    assert "Ærø" in line
    assert event["smtp_password"] == REDACTED
    assert event["Signature"] == REDACTED
    assert "hemmeligt" not in line
    assert event["level"] == "info"
    assert event["timestamp"].endswith("Z")
