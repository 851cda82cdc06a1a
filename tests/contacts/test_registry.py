"""Loading and checking the contact registry: the shipped files, then every kind of problem."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from stdnum import ean

from dispatcher.contacts.csvcheck import Problem, RegistryError
from dispatcher.contacts.model import EojSystem, Person
from dispatcher.contacts.registry import check_registry, load_registry, production_problems
from tests.contacts.conftest import SHIPPED, append_line, line_of, set_line, write_lines

VALID_GLN = "579000012345" + ean.calc_check_digit("579000012345")
WRONG_GLN = VALID_GLN[:-1] + str((int(VALID_GLN[-1]) + 1) % 10)


def errors(directory: Path) -> list[str]:
    return [str(problem) for problem in check_registry(directory) if not problem.placeholder]


# The shipped registry


def test_shipped_registry_has_all_98_municipalities_by_region() -> None:
    registry = load_registry(SHIPPED)

    codes = [m.code for m in registry.municipalities]
    assert len(codes) == 98
    assert codes == sorted(codes)
    regions = Counter(m.region_name for m in registry.municipalities)
    assert regions == {
        "Region Hovedstaden": 29,
        "Region Sjælland": 17,
        "Region Syddanmark": 22,
        "Region Midtjylland": 19,
        "Region Nordjylland": 11,
    }
    aero = registry.municipality(492)
    assert aero is not None
    assert (aero.name, aero.region_code) == ("Ærø", 1083)
    assert aero.emails == ("fmk-beredskab@aeroe.kommune.example",)


def test_shipped_eoj_systems_are_only_the_known_cases() -> None:
    registry = load_registry(SHIPPED)

    known = {m.name: m.eoj for m in registry.municipalities if m.eoj is not EojSystem.UNKNOWN}
    assert known == {
        "Silkeborg": EojSystem.NEXUS,
        "Slagelse": EojSystem.NEXUS,
        "Favrskov": EojSystem.CURA,
        "Odsherred": EojSystem.CURA,
        "Ishøj": EojSystem.CURA,
        "Esbjerg": EojSystem.CURA,
    }
    assert all(m.sor_gln is None for m in registry.municipalities)


def test_shipped_vendors_and_escalation() -> None:
    registry = load_registry(SHIPPED)

    assert [(v.key, v.system) for v in registry.vendors] == [
        ("kmd", EojSystem.NEXUS),
        ("systematic", EojSystem.CURA),
        ("dedalus", EojSystem.VITAE),
    ]
    escalation = registry.escalation
    assert escalation.oncall == (
        Person("Karina Hasager Hedevang", "khs@medcom.dk"),
        Person("Iben Søgaard", "ibs@medcom.dk"),
    )
    assert escalation.fallback == (Person("Poul Erik Kristensen, KL", "prk@kl.dk"),)
    assert escalation.sender == Person("MedCom FMK-beredskab", "fmk-beredskab@medcom.example")
    assert escalation.reply_to == escalation.sender


def test_shipped_placeholders_are_reported_but_do_not_stop_loading() -> None:
    problems = check_registry(SHIPPED)

    assert all(problem.placeholder for problem in problems)
    assert Counter(problem.file for problem in problems) == {
        "municipalities.csv": 98,
        "vendors.csv": 3,
        "escalation.csv": 2,
    }
    assert str(problems[0]) == (
        "municipalities.csv:2: placeholder address "
        "fmk-beredskab@koebenhavn.kommune.example must be replaced"
    )
    assert [p.line for p in problems if p.file == "escalation.csv"] == [5, 6]


def test_production_problems_are_the_placeholders() -> None:
    problems = production_problems(SHIPPED)

    assert len(problems) == 103
    assert str(problems[-1]) == (
        "escalation.csv:6: placeholder address fmk-beredskab@medcom.example "
        "is not allowed in production"
    )


# Problems in municipalities.csv

MUNICIPALITY_PROBLEMS = [
    (
        "abc,København,,,a@kk.dk",
        "municipalities.csv:2: municipality code 'abc' is not an integer",
    ),
    (
        "101,Kobenhavn,,,a@kk.dk",
        "municipalities.csv:2: name 'Kobenhavn' is not 'København', the official name of 101",
    ),
    (
        "101,København,epic,,a@kk.dk",
        "municipalities.csv:2: unknown EOJ system 'epic'; "
        "expected one of nexus, cura, vitae, other, unknown",
    ),
    ("101,København,,,", "municipalities.csv:2: no e-mail address"),
    ("101,København,,, ; ", "municipalities.csv:2: no e-mail address"),
    (
        "101,København,,,a@kk.dk;not-an-address",
        "municipalities.csv:2: invalid e-mail address 'not-an-address': "
        "An email address must have an @-sign.",
    ),
    (
        "101,København,,,a@kk.dk; A@KK.DK",
        "municipalities.csv:2: duplicate e-mail address A@kk.dk in this row",
    ),
    (
        "101,København,,123456789012,a@kk.dk",
        "municipalities.csv:2: SOR GLN '123456789012' must be 13 digits",
    ),
    (
        f"101,København,,{WRONG_GLN},a@kk.dk",
        f"municipalities.csv:2: SOR GLN '{WRONG_GLN}' has a wrong check digit "
        f"(expected {VALID_GLN[-1]})",
    ),
    (
        "101,København,,,a@kk.dk,b@kk.dk",
        "municipalities.csv:2: 6 fields; expected 5 (code,name,eoj_system,sor_gln,emails)",
    ),
    (
        "101,København,a@kk.dk",
        "municipalities.csv:2: 3 fields; expected 5 (code,name,eoj_system,sor_gln,emails)",
    ),
]


@pytest.mark.parametrize(("row", "expected"), MUNICIPALITY_PROBLEMS)
def test_municipality_row_problem(contacts_dir: Path, row: str, expected: str) -> None:
    set_line(contacts_dir / "municipalities.csv", 2, row)

    found = errors(contacts_dir)

    assert expected in found
    with pytest.raises(RegistryError) as raised:
        load_registry(contacts_dir)
    assert expected in str(raised.value)


def test_unknown_and_duplicate_codes_name_their_lines(contacts_dir: Path) -> None:
    path = contacts_dir / "municipalities.csv"
    append_line(path, "999,Atlantis,,,a@atlantis.dk")
    append_line(path, "101,København,,,b@kk.dk")

    assert errors(contacts_dir) == [
        "municipalities.csv:100: unknown municipality code 999",
        "municipalities.csv:101: duplicate municipality code 101 (also on line 2)",
    ]


def test_missing_municipality_has_no_line(contacts_dir: Path) -> None:
    path = contacts_dir / "municipalities.csv"
    set_line(path, line_of(path, "492,"), None)

    problems = [p for p in check_registry(contacts_dir) if not p.placeholder]

    assert problems == [Problem("municipalities.csv", None, "municipality 492 Ærø is missing")]
    assert str(problems[0]) == "municipalities.csv: municipality 492 Ærø is missing"


def test_shifted_names_are_caught(contacts_dir: Path) -> None:
    path = contacts_dir / "municipalities.csv"
    set_line(path, 2, "101,Frederiksberg,,,a@kk.dk")
    set_line(path, 3, "147,København,,,b@frb.dk")

    found = errors(contacts_dir)

    assert found == [
        "municipalities.csv:2: name 'Frederiksberg' is not 'København', the official name of 101",
        "municipalities.csv:3: name 'København' is not 'Frederiksberg', the official name of 147",
    ]


def test_wrong_header(contacts_dir: Path) -> None:
    set_line(contacts_dir / "municipalities.csv", 1, "code,name,eoj,emails")

    assert errors(contacts_dir)[0] == (
        "municipalities.csv:1: header is 'code,name,eoj,emails'; "
        "expected 'code,name,eoj_system,sor_gln,emails' or "
        "'code,name,eoj_system,sor_gln,emails,phone,alternate_emails'"
    )


def test_missing_file(contacts_dir: Path) -> None:
    (contacts_dir / "vendors.csv").unlink()

    assert errors(contacts_dir) == ["vendors.csv: cannot read the file: No such file or directory"]


def test_not_utf8(contacts_dir: Path) -> None:
    path = contacts_dir / "vendors.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-8") + "ø\n".encode("latin-1"))

    assert errors(contacts_dir)[0].startswith("vendors.csv: not UTF-8")


def test_all_problems_are_reported_not_only_the_first(contacts_dir: Path) -> None:
    set_line(contacts_dir / "municipalities.csv", 5, "153,Brøndby,,,broken")
    set_line(contacts_dir / "vendors.csv", 3, "systematic,Systematic,columna,x@systematic.dk")
    set_line(contacts_dir / "escalation.csv", 2, "boss,Karina,khs@medcom.dk")

    assert [problem.split(":")[:2] for problem in errors(contacts_dir)] == [
        ["municipalities.csv", "5"],
        ["vendors.csv", "3"],
        ["escalation.csv", "2"],
    ]


def test_valid_gln_bom_crlf_and_whitespace_are_accepted(contacts_dir: Path) -> None:
    path = contacts_dir / "municipalities.csv"
    set_line(path, 2, f" 101 , København , Nexus , {VALID_GLN} , a@kk.dk ;b@kk.dk; ")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))

    kobenhavn = load_registry(contacts_dir).municipality(101)

    assert kobenhavn is not None
    assert (kobenhavn.eoj, kobenhavn.sor_gln) == (EojSystem.NEXUS, VALID_GLN)
    assert kobenhavn.emails == ("a@kk.dk", "b@kk.dk")


def test_empty_eoj_means_unknown_and_idn_domains_become_punycode(contacts_dir: Path) -> None:
    set_line(contacts_dir / "municipalities.csv", 2, "101,København,,,fmk@københavn.dk")

    kobenhavn = load_registry(contacts_dir).municipality(101)

    assert kobenhavn is not None
    assert kobenhavn.eoj is EojSystem.UNKNOWN
    assert kobenhavn.emails == ("fmk@xn--kbenhavn-54a.dk",)


def test_non_ascii_local_part_is_rejected(contacts_dir: Path) -> None:
    set_line(contacts_dir / "municipalities.csv", 2, "101,København,,,søren@kk.dk")

    assert errors(contacts_dir)[0].startswith(
        "municipalities.csv:2: invalid e-mail address 'søren@kk.dk': "
    )


# Problems in vendors.csv and escalation.csv


@pytest.mark.parametrize(
    ("line", "row", "expected"),
    [
        (
            3,
            "systematic,Systematic,columna,x@systematic.dk",
            "vendors.csv:3: unknown EOJ system 'columna'; "
            "expected one of nexus, cura, vitae, other, unknown",
        ),
        (
            3,
            "systematic,Systematic,unknown,x@systematic.dk",
            "vendors.csv:3: a vendor's system cannot be 'unknown'",
        ),
        (
            4,
            "kmd,Dedalus,vitae,x@dedalus.dk",
            "vendors.csv:4: duplicate vendor key 'kmd' (also on line 2)",
        ),
        (
            2,
            "kmd,KMD,nexus,kmd.dk",
            "vendors.csv:2: invalid e-mail address 'kmd.dk': An email address must have an @-sign.",
        ),
        (2, "kmd,,nexus,x@kmd.dk", "vendors.csv:2: empty vendor name"),
    ],
)
def test_vendor_problem(contacts_dir: Path, line: int, row: str, expected: str) -> None:
    set_line(contacts_dir / "vendors.csv", line, row)

    assert errors(contacts_dir) == [expected]


ESCALATION_HEADER = "role,name,email"
ONCALL = "oncall,Karina Hasager Hedevang,khs@medcom.dk"
FALLBACK = '"fallback","Poul Erik Kristensen, KL",prk@kl.dk'
SENDER = "sender,MedCom,fmk@medcom.dk"
REPLY_TO = "reply_to,MedCom,fmk@medcom.dk"


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            [ONCALL, "pager,Someone,x@medcom.dk", FALLBACK, SENDER, REPLY_TO],
            [
                "escalation.csv:3: unknown role 'pager'; "
                "expected one of oncall, fallback, sender, reply_to, drill"
            ],
        ),
        (
            [FALLBACK, SENDER, REPLY_TO],
            ["escalation.csv: no oncall row; at least one is required"],
        ),
        (
            [ONCALL, SENDER, REPLY_TO],
            ["escalation.csv: no fallback row; at least one is required"],
        ),
        (
            [ONCALL, FALLBACK, SENDER, SENDER, REPLY_TO],
            ["escalation.csv:5: sender on lines 4, 5; exactly one is required"],
        ),
        (
            [ONCALL, FALLBACK, SENDER],
            ["escalation.csv: no reply_to row; exactly one is required"],
        ),
        (
            [ONCALL, FALLBACK, "sender,MedCom,medcom", REPLY_TO],
            [
                "escalation.csv:4: invalid e-mail address 'medcom': "
                "An email address must have an @-sign."
            ],
        ),
    ],
)
def test_escalation_problem(contacts_dir: Path, rows: list[str], expected: list[str]) -> None:
    write_lines(contacts_dir / "escalation.csv", [ESCALATION_HEADER, *rows])

    assert errors(contacts_dir) == expected


def test_registry_error_lists_every_problem(contacts_dir: Path) -> None:
    set_line(contacts_dir / "municipalities.csv", 2, "101,København,,,")
    set_line(contacts_dir / "escalation.csv", 4, "fallback,,prk@kl.dk")

    with pytest.raises(RegistryError) as raised:
        load_registry(contacts_dir)

    assert [str(p) for p in raised.value.problems] == [
        "municipalities.csv:2: no e-mail address",
        "escalation.csv:4: empty name for fallback",
    ]
    assert str(raised.value).splitlines() == [
        "the contact registry has 2 problem(s):",
        "  municipalities.csv:2: no e-mail address",
        "  escalation.csv:4: empty name for fallback",
    ]


def with_optional(contacts_dir: Path, header: str, row_2: str) -> Path:
    """municipalities.csv with the optional columns `header` adds, every row empty in them
    except line 2 (København), which gets `row_2`."""
    path = contacts_dir / "municipalities.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    extra = header.count(",")
    body = [lines[1] + "," + row_2] + [line + "," * extra for line in lines[2:]]
    path.write_text("\n".join([lines[0] + header, *body]) + "\n", encoding="utf-8")
    return contacts_dir


class TestOptionalColumns:
    """municipalities.csv may add `phone` and `alternate_emails`; both are checked."""

    def test_phone_and_alternate_addresses_load(self, contacts_dir: Path) -> None:
        with_optional(
            contacts_dir, ",phone,alternate_emails", "33 66 33 66,vagt@kk.kommune.example"
        )
        kk = load_registry(contacts_dir).municipality(101)
        assert kk is not None
        assert (kk.phone, kk.alternate_emails) == ("+4533663366", ("vagt@kk.kommune.example",))
        assert load_registry(contacts_dir).municipality(147).phone is None  # type: ignore[union-attr]

    def test_empty_optional_fields_are_none(self, contacts_dir: Path) -> None:
        with_optional(contacts_dir, ",phone,alternate_emails", ",")
        kk = load_registry(contacts_dir).municipality(101)
        assert kk is not None
        assert (kk.phone, kk.alternate_emails) == (None, ())

    def test_a_bad_phone_number_names_file_and_line(self, contacts_dir: Path) -> None:
        with_optional(contacts_dir, ",phone,alternate_emails", "12 34,")
        assert errors(contacts_dir) == [
            "municipalities.csv:2: telephone number '12 34' is not a valid number (DK)"
        ]

    def test_text_is_not_a_phone_number(self, contacts_dir: Path) -> None:
        with_optional(contacts_dir, ",phone,alternate_emails", "ring til Jens,")
        [problem] = errors(contacts_dir)
        assert problem.startswith("municipalities.csv:2: telephone number 'ring til Jens' cannot")

    def test_a_bad_alternate_address_names_file_and_line(self, contacts_dir: Path) -> None:
        with_optional(contacts_dir, ",phone,alternate_emails", ",ikke-en-adresse")
        [problem] = errors(contacts_dir)
        assert problem.startswith("municipalities.csv:2: invalid e-mail address 'ikke-en-adresse'")

    def test_an_unknown_extra_column_is_refused(self, contacts_dir: Path) -> None:
        with_optional(contacts_dir, ",phone,fax", "33663366,12345678")
        assert errors(contacts_dir)[0].startswith("municipalities.csv:1: header is")
