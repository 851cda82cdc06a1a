"""`dispatcher templates preview` and `check` against the repository's contacts and templates."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dispatcher.cli.app import app
from tests.notices.factories import CONTACTS, TEMPLATES

pytestmark = pytest.mark.skipif(
    not (CONTACTS / "municipalities.csv").is_file(), reason="the contact registry is not there"
)


def invoke(*args: str, templates: Path = TEMPLATES) -> tuple[int, str, str]:
    env: dict[str, str | None] = {
        "DISPATCHER_CONFIG": None,
        "DISPATCHER_CONTACTS_DIR": str(CONTACTS),
        "DISPATCHER_TEMPLATES_DIR": str(templates),
    }
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def squeezed(text: str) -> str:
    """`text` without any whitespace, so that the console's line wrapping does not matter."""
    return "".join(text.split())


def test_preview_defaults_to_copenhagen() -> None:
    code, out, _ = invoke("templates", "preview", "initial")
    assert code == 0
    assert out.startswith("Subject: [FMK-nedbrud #1] FMK er nede: ")
    assert "\n\nTil Københavns Kommune\n" in out
    assert "<html" not in out


def test_preview_for_a_municipality_as_html() -> None:
    code, out, _ = invoke("templates", "preview", "update", "--municipality", "400", "--html")
    assert code == 0
    assert "Subject: [FMK-nedbrud #1] Opdatering 2: FMK er fortsat nede\n" in out
    assert "Til Bornholms Regionskommune</p>" in out


def test_preview_for_a_vendor() -> None:
    code, out, _ = invoke("templates", "preview", "all_clear", "--vendor", "systematic")
    assert code == 0
    assert (
        "Kopi til Systematic (EOJ-leverandør): denne meddelelse er sendt til alle 98 kommuner."
        in out
    )


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["nope"], "initial, update, all_clear, correction"),
        (["initial", "--municipality", "999"], "no municipality with code 999"),
        (["initial", "--vendor", "nobody"], "no EOJ vendor with key 'nobody'"),
        (["initial", "--vendor", "kmd", "--municipality", "101"], "not both"),
    ],
)
def test_preview_refuses_bad_arguments(args: list[str], error: str) -> None:
    code, out, err = invoke("templates", "preview", *args)
    assert code == 1
    assert squeezed(error) in squeezed(err)
    assert out == ""


def test_preview_reports_a_template_error(tmp_path: Path) -> None:
    (tmp_path / "guidance").mkdir()
    (tmp_path / "guidance/standard.txt").write_text("Følg nødproceduren.\n", encoding="utf-8")
    (tmp_path / "mail/initial").mkdir(parents=True)
    (tmp_path / "mail/initial/subject.txt.j2").write_text("{{ oops }}\n", encoding="utf-8")
    code, _, err = invoke("templates", "preview", "initial", templates=tmp_path)
    assert code == 1
    assert squeezed("subject.txt.j2, line 1: undefined variable: 'oops' is undefined") in squeezed(
        err
    )


def test_check_passes_on_the_real_templates() -> None:
    code, out, _ = invoke("templates", "check")
    assert code == 0
    assert out.startswith("ok: ")


def test_check_fails_on_broken_templates(tmp_path: Path) -> None:
    code, out, err = invoke("templates", "check", templates=tmp_path)
    assert code == 1
    assert "missing template" in out
    assert "problem(s)" in err
