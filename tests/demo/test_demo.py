"""`dispatcher demo` as a user runs it: a subprocess in an empty directory, then its mail folder
read back message by message."""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from dispatcher.contacts.model import Municipality, Registry
from tests.conftest import CONTACTS, TEMPLATES

# Among the first; one demo run (the module's fixture) for all (see tests/support/workers.py).
pytestmark = pytest.mark.slow

MUNICIPAL = ["initial", "update", "update", "all_clear"]
# The demo's municipalities confirm receipt from their link, except the last 8 by code: those
# get the reminder, in their thread after the initial notice, and are on the owner's call list.
SILENT = 8
SILENT_THREAD = [MUNICIPAL[0], "reminder", *MUNICIPAL[1:]]


def silent(registry: Registry) -> list[Municipality]:
    return sorted(registry.municipalities, key=lambda m: m.code)[-SILENT:]


@dataclass(frozen=True)
class Mail:
    path: Path
    message: EmailMessage

    @property
    def kind(self) -> str:
        return str(self.message["X-FMK-Notice"])

    @property
    def envelope(self) -> list[str]:
        return [a.strip() for a in str(self.message["X-Envelope-To"]).split(",")]

    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None, f"{self.path.name} has no text part"
        return str(part.get_content())


@dataclass(frozen=True)
class Run:
    returncode: int
    seconds: float
    stdout: str
    stderr: str
    mail: list[Mail]


def demo_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPATCHER_")}
    env["DISPATCHER_CONTACTS_DIR"] = str(CONTACTS)
    env["DISPATCHER_TEMPLATES_DIR"] = str(TEMPLATES)
    env["COLUMNS"] = "200"
    return env


def read_folder(folder: Path) -> list[Mail]:
    mail = []
    for path in sorted(folder.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        mail.append(Mail(path, message))
    return mail


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    cwd = tmp_path_factory.mktemp("demo")
    stale = cwd / "var" / "mail"
    stale.mkdir(parents=True)
    (stale / "00001.eml").write_bytes(b"Subject: left over from an earlier run\r\n\r\nold\r\n")
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "dispatcher", "demo"],
        cwd=cwd,
        env=demo_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    seconds = time.monotonic() - began
    return Run(done.returncode, seconds, done.stdout, done.stderr, read_folder(stale))


def municipal_addresses(registry: Registry) -> int:
    return sum(len(m.emails) for m in registry.municipalities)


def vendor_addresses(registry: Registry) -> list[str]:
    return [e for v in registry.vendors for e in v.emails]


class TestTheRun:
    """One command, under a minute, exit 0, with a summary that says where the mail is."""

    def test_it_succeeds_in_under_a_minute(self, run: Run) -> None:
        assert run.returncode == 0, run.stderr
        assert run.seconds < 60

    def test_the_summary_names_the_kinds_the_timing_and_the_mail_folder(self, run: Run) -> None:
        for word in ("page", "vendor_alert", "owner", "initial", "update", "all_clear"):
            assert word in run.stdout
        assert "all 98 municipalities informed" in run.stdout
        assert "Mail folder: var/mail/" in run.stdout
        assert "/status" in run.stdout

    def test_the_old_messages_were_removed_and_it_says_so(self, run: Run) -> None:
        assert "Removed 1 old messages from var/mail/" in run.stdout
        assert all("left over" not in str(m.message["Subject"]) for m in run.mail)

    def test_the_plan_ends_at_about_the_real_time(self, run: Run) -> None:
        """The demo clock starts as far behind as the plan is long: the database it leaves
        shows a recent outage, not one hours in the future."""
        [last] = [m for m in run.mail if m.message["X-FMK-Notice"] == "all_clear"][-1:]
        sent = parsedate_to_datetime(str(last.message["Date"]))
        written = datetime.fromtimestamp(last.path.stat().st_mtime, UTC)
        assert abs(sent - written) < timedelta(minutes=10)

    def test_each_step_is_shown_with_its_simulated_time(self, run: Run) -> None:
        lines = [line for line in run.stdout.splitlines() if "paged" in line]
        assert len(lines) == 2
        assert all(line[:2].isdigit() and line[2] == ":" for line in lines)


class TestTheMailFolder:
    """Every message of the plan is there once, as the registry says, and every one parses."""

    def test_the_number_of_messages_of_each_kind(self, run: Run, registry: Registry) -> None:
        copies = municipal_addresses(registry) + len(vendor_addresses(registry))
        pair, fallback = len(registry.escalation.oncall), len(registry.escalation.fallback)
        assert Counter(m.kind for m in run.mail) == {
            "page": pair + (pair + fallback),
            "vendor_alert": len(vendor_addresses(registry)),
            "owner": pair - 1 + fallback,
            "initial": copies,
            "update": 2 * copies,
            "all_clear": copies,
            # Only the 8 that did not confirm are reminded at +30 min after the initial notice;
            # the owner gets the list of those 8 to ring at +60.
            "reminder": sum(len(m.emails) for m in silent(registry)),
            "oncall_info": 1,
        }

    def test_every_message_parses_without_defects(self, run: Run) -> None:
        for mail in run.mail:
            assert not mail.message.defects, mail.path.name
            assert mail.message["Message-ID"], mail.path.name
            assert len(mail.envelope) == 1, mail.path.name
            mail.text()


class TestThreading:
    """Each municipality's notices form one thread, in order."""

    def test_in_reply_to_and_references_per_municipality(
        self, run: Run, registry: Registry
    ) -> None:
        owner = {e: m.code for m in registry.municipalities for e in m.emails}
        threads: dict[int, list[EmailMessage]] = defaultdict(list)
        for mail in run.mail:
            code = owner.get(mail.envelope[0])
            ids = [str(t["Message-ID"]) for t in threads[code]] if code is not None else []
            if code is not None and str(mail.message["Message-ID"]) not in ids:
                threads[code].append(mail.message)
        assert len(threads) == len(registry.municipalities) == 98
        reminded = {m.code for m in silent(registry)}
        for code, thread in threads.items():
            expected = SILENT_THREAD if code in reminded else MUNICIPAL
            assert [str(t["X-FMK-Notice"]) for t in thread] == expected, code
            assert thread[0]["In-Reply-To"] is None
            for index, later in enumerate(thread[1:], start=1):
                earlier = [str(t["Message-ID"]) for t in thread[:index]]
                assert str(later["In-Reply-To"]) == earlier[-1], code
                assert str(later["References"]).split() == earlier, code


class TestReceipts:
    """The municipalities confirm from the link in their notice; the call list names the rest."""

    def test_the_owner_is_told_whom_to_ring(self, run: Run, registry: Registry) -> None:
        [call_list] = [m for m in run.mail if "Ring til disse" in str(m.message["Subject"])]
        text = call_list.text()
        assert f"Ring til disse {SILENT} kommuner" in text
        listed = [m for m in registry.municipalities if f"({m.code})" in text]
        assert listed == silent(registry)

    def test_the_summary_says_where_to_see_the_receipts(self, run: Run) -> None:
        assert "dispatcher incident receipts 1" in run.stdout


class TestVendors:
    """Each vendor address gets one alert and exactly one copy of each municipal notice."""

    def test_one_copy_of_each_notice(self, run: Run, registry: Registry) -> None:
        for address in vendor_addresses(registry):
            kinds = [m.kind for m in run.mail if address in m.envelope]
            assert kinds == ["vendor_alert", *MUNICIPAL], address

    def test_the_vendors_are_in_cc_of_the_municipal_notices(
        self, run: Run, registry: Registry
    ) -> None:
        for mail in run.mail:
            if mail.kind in MUNICIPAL and mail.envelope[0] not in vendor_addresses(registry):
                cc = {a.addr_spec for a in mail.message["Cc"].addresses}
                assert cc == set(vendor_addresses(registry)), mail.path.name


class TestDanish:
    """æøå survive in names, subjects and bodies."""

    @pytest.mark.parametrize("name", ["Brøndby", "Ærø", "Læsø"])
    def test_municipality_names_in_to(self, run: Run, name: str) -> None:
        to_them = [m for m in run.mail if m.kind == "initial" and name in str(m.message["To"])]
        assert len(to_them) == 1
        assert f"Til {name}" in to_them[0].text()

    def test_subjects_and_bodies(self, run: Run) -> None:
        initial = next(m for m in run.mail if m.kind == "initial")
        assert str(initial.message["Subject"]).startswith("[FMK-nedbrud #1]")
        assert "Fælles Medicinkort" in initial.text()
        assert "Medicinkortet kan hverken ses eller ændres" in initial.text()
        first_update = next(m for m in run.mail if m.kind == "update")
        assert "SDS har fundet årsagen" in first_update.text()
        page = next(m for m in run.mail if m.kind == "page")
        assert "KVITTÉR" in str(page.message["Subject"])


class TestPages:
    """The pages go to the on-call pair, then to KL too, by name, each with its own link."""

    def test_the_pages_carry_the_on_call_names(self, run: Run, registry: Registry) -> None:
        pages = [m for m in run.mail if m.kind == "page"]
        esc = registry.escalation
        people = {p.email: p.name for p in (*esc.oncall, *esc.fallback)}
        assert Counter(m.envelope[0] for m in pages) == {
            **{p.email: 2 for p in esc.oncall},
            **{p.email: 1 for p in esc.fallback},
        }
        for page in pages:
            name = people[page.envelope[0]]
            assert name in str(page.message["To"])
            assert f"Til {name}" in page.text()
            assert "/ack/" in page.text()
        assert "Iben Søgaard" in {people[p.envelope[0]] for p in pages}

    def test_the_owner_is_not_told_about_their_own_acknowledgement(
        self, run: Run, registry: Registry
    ) -> None:
        owner = registry.escalation.oncall[0].email
        told = {m.envelope[0] for m in run.mail if m.kind == "owner"}
        assert owner not in told
        assert len(told) == 2
