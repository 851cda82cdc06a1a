"""`dispatcher templates preview` and `check` against the repository's contacts and templates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from dispatcher.cli.app import app
from dispatcher.core.enums import Release
from dispatcher.core.model import Confirm, Resolve, Trigger
from dispatcher.incidents import service
from dispatcher.notices.timefmt import format_clock, format_local
from dispatcher.store.db import transaction
from dispatcher.store.tables import MessageRow
from tests.notices.factories import CONTACTS, DOWN_SINCE, TEMPLATES

pytestmark = pytest.mark.skipif(
    not (CONTACTS / "municipalities.csv").is_file(), reason="the contact registry is not there"
)


def invoke(*args: str, templates: Path = TEMPLATES, **settings: str) -> tuple[int, str, str]:
    env: dict[str, str | None] = {
        "DISPATCHER_CONFIG": None,
        "DISPATCHER_CONTACTS_DIR": str(CONTACTS),
        "DISPATCHER_TEMPLATES_DIR": str(templates),
        **{f"DISPATCHER_{name.upper()}": value for name, value in settings.items()},
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


# --incident N: the next notice about a stored incident, as it would be queued now.

ACTOR = "khs@medcom.dk"


def open_incident(dispatch: service.Dispatch, summary: str) -> None:
    event = Trigger(
        actor=ACTOR,
        summary=summary,
        details="Driftsleverandøren genstarter databasen.",
        guidance="Brug den seneste udskrift af medicinlisten.",
        down_since=DOWN_SINCE,
        release=Release.AFTER_CONFIRM,
    )
    service.trigger(dispatch, event, DOWN_SINCE + timedelta(minutes=10))


def test_preview_of_a_stored_incident_is_its_next_notice(
    database_url: str, dispatch: service.Dispatch, engine: Engine
) -> None:
    open_incident(dispatch, "Ordinationer kan ikke ses – Ærø og Bornholm ramt")
    service.apply(dispatch, 1, Confirm(ACTOR), DOWN_SINCE + timedelta(minutes=20))
    with transaction(engine) as session:
        messages = session.scalar(select(func.count()).select_from(MessageRow))

    before = datetime.now(UTC)
    code, out, _ = invoke(
        "templates", "preview", "update", "--incident", "1", "--municipality", "492",
        database_url=database_url, update_interval="45m",
    )  # fmt: skip
    after = datetime.now(UTC)

    assert code == 0
    assert out.startswith("Subject: [FMK-nedbrud #1] Opdatering 1: FMK er fortsat nede\n")
    assert "\n\nTil Ærø Kommune\n" in out
    assert "FMK er fortsat nede: Ordinationer kan ikke ses – Ærø og Bornholm ramt\n" in out
    assert "FMK har været nede siden fredag 31. december 2021 kl. 03:00." in out
    assert "Brug den seneste udskrift af medicinlisten." in out
    assert any(
        f"Vi sender næste opdatering {format_clock(now + timedelta(minutes=45), now)} – " in out
        and f"Opdatering 1 om FMK-nedbrud #1, sendt {format_local(now)}." in out
        for now in (before, after)
    )
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(MessageRow)) == messages


def test_preview_of_a_held_incident_for_a_vendor_as_html(
    database_url: str, dispatch: service.Dispatch
) -> None:
    open_incident(dispatch, "Opslag fejler med <timeout>")
    code, out, _ = invoke(
        "templates", "preview", "initial", "--incident", "1", "--vendor", "kmd", "--html",
        database_url=database_url,
    )  # fmt: skip
    assert code == 0
    assert out.startswith("Subject: [FMK-nedbrud #1] FMK er nede: Opslag fejler med <timeout>\n")
    assert "Opslag fejler med &lt;timeout&gt;" in out
    assert "Kopi til KMD (EOJ-leverandør): denne meddelelse er sendt til alle 98 kommuner." in out
    assert "Første meddelelse om FMK-nedbrud #1" in out


def test_preview_of_the_all_clear_of_a_resolved_incident(
    database_url: str, dispatch: service.Dispatch
) -> None:
    open_incident(dispatch, "FMK er nede")
    up = DOWN_SINCE + timedelta(hours=3)
    service.apply(dispatch, 1, Resolve(ACTOR, fmk_up_since=up), up + timedelta(minutes=5))

    code, out, _ = invoke(
        "templates", "preview", "all_clear", "--incident", "1", database_url=database_url
    )

    assert code == 0
    assert out.startswith("Subject: [FMK-nedbrud #1] Løst: FMK kører igen\n")
    assert (
        "FMK har virket igen siden fredag 31. december 2021 kl. 06:00. Nedbruddet begyndte "
        "fredag 31. december 2021 kl. 03:00 og varede 3 timer." in out
    )
    assert "Til Københavns Kommune" in out


def test_preview_of_an_unknown_incident(database_url: str) -> None:
    code, out, err = invoke(
        "templates", "preview", "initial", "--incident", "7", database_url=database_url
    )
    assert (code, out) == (1, "")
    assert "there is no incident #7" in err
