"""Alertmanager-style label matchers (`service="FMK"`, `severity=~"critical|page"`,
`env!="test"`, `team!~"x.*"`), comma-separated; an alert matches when every matcher does.
Pure: parsing and matching, no I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*')


class MatcherError(ValueError):
    """The matcher text cannot be parsed; the message says where."""


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        found = re.fullmatch(self.value, actual) is not None
        return found if self.op == "=~" else not found


def parse(text: str) -> tuple[Matcher, ...]:
    """`name="value", name=~"regex"` → matchers; MatcherError naming the bad part."""
    matchers: list[Matcher] = []
    position = 0
    text = text.strip().removeprefix("{").removesuffix("}")
    while position < len(text):
        found = _MATCHER.match(text, position)
        if found is None:
            raise MatcherError(
                f"cannot read a matcher at character {position + 1} of {text!r}; write "
                'name="value", name!="value", name=~"regex" or name!~"regex"'
            )
        name, op, raw = found.groups()
        value = re.sub(r"\\(.)", r"\1", raw)
        if op in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as exc:
                raise MatcherError(
                    f"{name}{op}: {value!r} is not a regular expression: {exc}"
                ) from exc
        matchers.append(Matcher(name, op, value))
        position = found.end()
        if position < len(text):
            if text[position] != ",":
                raise MatcherError(f"expected a comma at character {position + 1} of {text!r}")
            position += 1
    if not matchers:
        raise MatcherError('no matcher given; e.g. service="FMK"')
    return tuple(matchers)


def matches(matchers: tuple[Matcher, ...], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)
