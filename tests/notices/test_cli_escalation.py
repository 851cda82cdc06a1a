"""`dispatcher templates preview` for the escalation notices, against the repository's registry."""

from __future__ import annotations

import pytest

from dispatcher.contacts.model import Person, Registry
from dispatcher.contacts.registry import load_registry
from tests.notices.factories import CONTACTS
from tests.notices.test_cli import invoke, squeezed

pytestmark = pytest.mark.skipif(
    not (CONTACTS / "escalation.csv").is_file(), reason="the contact registry is not there"
)


@pytest.fixture(scope="module")
def repo_registry() -> Registry:
    return load_registry(CONTACTS)


@pytest.fixture(scope="module")
def first_oncall(repo_registry: Registry) -> Person:
    return repo_registry.escalation.oncall[0]


def test_preview_page_defaults_to_the_first_oncall_person(first_oncall: Person) -> None:
    code, out, _ = invoke("templates", "preview", "page")
    assert code == 0
    assert out.startswith("Subject: [FMK-nedbrud #1] KVITTÉR: FMK er nede – ")
    assert "(påmindelse" not in out.splitlines()[0]
    assert f"\n\nTil {first_oncall.name}\n\n" in out
    assert "Kvittér og tag ansvaret: http://127.0.0.1:8080/ack/EKSEMPEL\n" in out
    assert f"dispatcher incident ack 1 --as {first_oncall.email}\n" in out
    assert "<html" not in out


def test_preview_page_for_a_person_in_a_later_round_as_html(repo_registry: Registry) -> None:
    person = repo_registry.escalation.oncall[-1]
    code, out, _ = invoke(
        "templates", "preview", "page", "--person", person.email.upper(), "--round", "3", "--html"
    )
    assert code == 0
    assert out.splitlines()[0].endswith(" (påmindelse 2)")
    assert '<a href="http://127.0.0.1:8080/ack/EKSEMPEL"' in out
    assert f"Til {person.name}</p>" in out
    assert "Kommunerne er allerede informeret uden kvittering (fail-safe)." in out
    for fallback in repo_registry.escalation.fallback:
        assert fallback.name in out


def test_preview_page_uses_the_public_url() -> None:
    code, out, _ = invoke(
        "templates", "preview", "page", public_url="https://fmk-beredskab.medcom.example/"
    )
    assert code == 0
    assert "Kvittér og tag ansvaret: https://fmk-beredskab.medcom.example/ack/EKSEMPEL\n" in out


def test_preview_owner_for_the_fallback(repo_registry: Registry) -> None:
    fallback = repo_registry.escalation.fallback[0]
    owner = repo_registry.escalation.oncall[0]
    code, out, _ = invoke("templates", "preview", "owner", "--person", fallback.email)
    assert code == 0
    assert out.startswith(f"Subject: [FMK-nedbrud #1] {owner.name} har taget ansvaret\n")
    assert f"Til {fallback.name}\n" in out
    assert "Du skal ikke gøre noget." in out


def test_preview_oncall_info_has_no_incident() -> None:
    code, out, _ = invoke("templates", "preview", "oncall_info")
    assert code == 0
    assert out.startswith("Subject: [FMK-beredskab] Ingen signal fra SDS i 10 minutter")
    assert "FMK-nedbrud" not in out


def test_preview_vendor_alert(repo_registry: Registry) -> None:
    code, out, _ = invoke("templates", "preview", "vendor_alert")
    assert code == 0
    assert out.startswith("Subject: [FMK-nedbrud #1] Til EOJ-leverandører: FMK er nede\n")
    assert f"\n\nTil {repo_registry.vendors[0].name}\n\n" in out
    assert "MedCom er alarmeret og informerer kommunerne." in out
    vendor = repo_registry.vendors[-1]
    code, out, _ = invoke("templates", "preview", "vendor_alert", "--vendor", vendor.key)
    assert code == 0
    assert f"\n\nTil {vendor.name}\n\n" in out


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["page", "--municipality", "101"], "page goes to a person: use --person EMAIL"),
        (["owner", "--vendor", "kmd"], "owner goes to a person"),
        (["page", "--person", "nobody@medcom.dk"], "nobody@medcom.dk is not an on-call"),
        (["initial", "--person", "khs@medcom.dk"], "initial does not go to a person"),
        (["vendor_alert", "--municipality", "101"], "use --vendor KEY, not --municipality"),
        (["vendor_alert", "--vendor", "nobody"], "no EOJ vendor with key 'nobody'"),
        (["update", "--round", "2"], "--round is for page, not update"),
        (["page", "--incident", "1"], "--incident previews the notices to the municipalities"),
        (["nope"], "vendor_alert, page, owner, oncall_info"),
    ],
)
def test_preview_refuses_bad_escalation_arguments(args: list[str], error: str) -> None:
    code, out, err = invoke("templates", "preview", *args)
    assert code == 1
    assert squeezed(error) in squeezed(err)
    assert out == ""


def test_preview_refuses_round_zero() -> None:
    code, out, _ = invoke("templates", "preview", "page", "--round", "0")
    assert code == 2  # a usage error, from the option's own check
    assert out == ""
