"""The Danish text speaks with one voice wherever it is written: the mail and page templates,
the Danish strings in the code and the runbook. Each rule names a wording that was found and
replaced; the rendered notices have their own tests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT, TEMPLATES

# (pattern, why it is wrong). One word per action: "kvittere" is to acknowledge (take the
# incident), "bekræfte" to confirm the held first notice (`incident confirm`); the all-clear is
# "afmelding" (`incident resolve`); a false alarm is "annulleret" (`incident cancel`).
RULES = (
    (r"har kørt igen", "'har virket igen siden' (or 'kører igen' in the present)"),
    (r"Kørte igen", "'Virker igen siden', as 'har virket igen siden' in the mails"),
    (r"Meddelelse nr\.", "one numbering: the notice's name, as its subject says it"),
    (r"kvitterer/bekræfter|bekræfter/kvitterer", "one word for one action"),
    (r"aflyst som falsk alarm", "a false alarm is annulleret (a maintenance window is aflyst)"),
    (
        r"bekræft\w*[^\n]*\n?[^\n]*incident resolve",
        "resolve sends the all-clear; 'bekræfte' is confirm",
    ),
    (r"\b(du|dig|din|dit|dine)\b", "the municipalities are addressed as 'I'/'jer'"),
)
MUNICIPAL_ONLY = r"\b(du|dig|din|dit|dine)\b"


def danish_sources() -> list[Path]:
    code = [
        ROOT / "dispatcher" / "notices" / "info.py",
        ROOT / "dispatcher" / "status" / "wording.py",
        ROOT / "dispatcher" / "status" / "view.py",
    ]
    return sorted(TEMPLATES.rglob("*.j2")) + code + [ROOT / "docs" / "runbook.da.md"]


def municipal(path: Path) -> bool:
    """Text the municipalities read: their notices, the layouts and the status page."""
    relative = path.relative_to(ROOT).as_posix()
    kinds = ("initial", "update", "all_clear", "correction")
    return (
        any(f"/mail/{kind}/" in relative for kind in kinds)
        or relative.endswith(("mail/_base.txt.j2", "mail/_base.html.j2"))
        or "/pages/status" in relative
        or relative.startswith("dispatcher/status/")
        or relative == "templates/guidance/standard.txt"
    )


@pytest.mark.parametrize("path", danish_sources(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_one_voice(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    found = []
    for pattern, why in RULES:
        if pattern == MUNICIPAL_ONLY and not municipal(path):
            continue  # on-call mails, the acknowledgement pages and the runbook say "du"
        flags = re.IGNORECASE if pattern == MUNICIPAL_ONLY else 0
        found += [f"{m.group(0)!r}: {why}" for m in re.finditer(pattern, text, flags)]
    assert found == []


def test_the_rules_see_the_wordings_they_name() -> None:
    samples = {
        "FMK har kørt igen siden kl. 05": 0,
        "Kørte igen fra": 1,
        "Meddelelse nr. 2": 2,
        "hvis ingen kvitterer/bekræfter før": 3,
        "aflyst som falsk alarm": 4,
        "når du bekræfter:\ndispatcher incident resolve 7": 5,
        "Har du spørgsmål": 6,
    }
    for sample, rule in samples.items():
        pattern = RULES[rule][0]
        flags = re.IGNORECASE if pattern == MUNICIPAL_ONLY else 0
        assert re.search(pattern, sample, flags), sample
