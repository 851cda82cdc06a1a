"""Importing municipality contacts: checking, the differences, and the atomic write."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

import pytest

from dispatcher.contacts import importer
from dispatcher.contacts.csvcheck import RegistryError
from dispatcher.contacts.importer import Change, apply_import, plan_import, write_atomic
from dispatcher.contacts.model import EojSystem, Municipality
from dispatcher.contacts.registry import load_registry
from tests.contacts.conftest import read_lines, write_lines

HEADER = "code,name,eoj_system,sor_gln,emails"
GLN = "5790000123452"


def import_file(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "update.csv"
    write_lines(path, [HEADER, *rows])
    return path


def test_plan_lists_changes_and_writes_nothing(contacts_dir: Path, tmp_path: Path) -> None:
    target = contacts_dir / "municipalities.csv"
    before = target.read_bytes()
    update = import_file(
        tmp_path,
        f"492,Ærø,vitae,{GLN},fmk@aeroe.dk;fmk-beredskab@aeroe.kommune.example",
        "101,København,nexus,,fmk@kk.dk",
        "169,Høje-Taastrup,unknown,,fmk-beredskab@hoeje-taastrup.kommune.example",
    )

    plan = plan_import(contacts_dir, update)

    assert plan.changes == (
        Change(
            101,
            "København",
            added=("fmk@kk.dk",),
            removed=("fmk-beredskab@koebenhavn.kommune.example",),
            eoj=(EojSystem.UNKNOWN, EojSystem.NEXUS),
            gln=None,
        ),
        Change(
            492,
            "Ærø",
            added=("fmk@aeroe.dk",),
            removed=(),
            eoj=(EojSystem.UNKNOWN, EojSystem.VITAE),
            gln=(None, GLN),
        ),
    )
    assert target.read_bytes() == before


def test_apply_replaces_only_the_imported_rows(contacts_dir: Path, tmp_path: Path) -> None:
    target = contacts_dir / "municipalities.csv"
    before = read_lines(target)
    update = import_file(tmp_path, "492,Ærø,,,fmk@aeroe.dk", "101,København,cura,,fmk@kk.dk")

    apply_import(plan_import(contacts_dir, update))

    after = read_lines(target)
    assert after[0] == HEADER
    assert after[1] == "101,København,cura,,fmk@kk.dk"
    assert after[56] == "492,Ærø,unknown,,fmk@aeroe.dk"
    unchanged = [n for n in range(len(before)) if n not in (1, 56)]
    assert [after[n] for n in unchanged] == [before[n] for n in unchanged]
    registry = load_registry(contacts_dir)
    aero = registry.municipality(492)
    assert aero is not None
    assert aero.emails == ("fmk@aeroe.dk",)


def test_same_contacts_are_no_change(contacts_dir: Path, tmp_path: Path) -> None:
    target = contacts_dir / "municipalities.csv"
    before = target.stat()
    update = import_file(
        tmp_path, "101, København ,UNKNOWN,,FMK-beredskab@Koebenhavn.Kommune.example"
    )

    plan = plan_import(contacts_dir, update)
    apply_import(plan)

    assert plan.changes == ()
    assert (target.stat().st_ino, target.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_one_broken_row_rejects_the_whole_file(contacts_dir: Path, tmp_path: Path) -> None:
    target = contacts_dir / "municipalities.csv"
    before = target.read_bytes()
    update = import_file(
        tmp_path,
        "101,København,nexus,,fmk@kk.dk",
        "147,Frederiksberg,,,fmk@frb.dk;broken",
        "999,Atlantis,,,fmk@atlantis.dk",
    )

    with pytest.raises(RegistryError) as raised:
        plan_import(contacts_dir, update)

    assert [str(problem) for problem in raised.value.problems] == [
        f"{update}:3: invalid e-mail address 'broken': An email address must have an @-sign.",
        f"{update}:4: unknown municipality code 999",
    ]
    assert target.read_bytes() == before


def test_import_file_must_exist(contacts_dir: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"

    with pytest.raises(RegistryError) as raised:
        plan_import(contacts_dir, missing)

    assert [str(p) for p in raised.value.problems] == [
        f"{missing}: cannot read the file: No such file or directory"
    ]


def test_broken_current_registry_blocks_the_import(contacts_dir: Path, tmp_path: Path) -> None:
    target = contacts_dir / "municipalities.csv"
    write_lines(target, read_lines(target)[:-1])
    update = import_file(tmp_path, "101,København,nexus,,fmk@kk.dk")

    with pytest.raises(RegistryError) as raised:
        plan_import(contacts_dir, update)

    assert [str(p) for p in raised.value.problems] == [
        "municipalities.csv: municipality 860 Hjørring is missing"
    ]


def test_merged_result_is_checked_again(
    contacts_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    render = importer.render_municipalities

    def drop_last_row(municipalities: Iterable[Municipality]) -> str:
        return "".join(render(municipalities).splitlines(keepends=True)[:-1])

    monkeypatch.setattr(importer, "render_municipalities", drop_last_row)
    update = import_file(tmp_path, "101,København,nexus,,fmk@kk.dk")

    with pytest.raises(RegistryError) as raised:
        plan_import(contacts_dir, update)

    assert [str(p) for p in raised.value.problems] == [
        "municipalities.csv (after import): municipality 860 Hjørring is missing"
    ]


def test_write_atomic_keeps_mode_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "municipalities.csv"
    target.write_text("old\n", encoding="utf-8")
    target.chmod(0o640)

    write_atomic(target, "ny æøå\n")

    assert target.read_bytes() == "ny æøå\n".encode()
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["municipalities.csv"]


def test_write_atomic_failure_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "municipalities.csv"
    target.write_text("old\n", encoding="utf-8")

    def refuse(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, "new\n")

    assert target.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["municipalities.csv"]


def test_phone_and_alternate_addresses_are_imported_kept_and_shown(
    contacts_dir: Path, tmp_path: Path
) -> None:
    update = tmp_path / "update.csv"
    write_lines(
        update,
        [
            HEADER + ",phone,alternate_emails",
            "101,København,unknown,,fmk-beredskab@koebenhavn.kommune.example,"
            "33 66 33 66,vagt@kk.kommune.example",
        ],
    )

    plan = plan_import(contacts_dir, update)
    apply_import(plan)

    [change] = plan.changes
    assert (change.phone, change.alternate) == (
        (None, "+4533663366"),
        ("", "vagt@kk.kommune.example"),
    )
    kk = load_registry(contacts_dir).municipality(101)
    assert kk is not None
    assert (kk.phone, kk.alternate_emails) == ("+4533663366", ("vagt@kk.kommune.example",))
    assert read_lines(contacts_dir / "municipalities.csv")[0] == HEADER + ",phone,alternate_emails"
