"""The e-mail built from a rendered notice: encoding, threading and no header injection."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import EmailMessage
from typing import ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatcher.contacts.model import Person, Registry
from dispatcher.core.kinds import NoticeKind
from dispatcher.notices.message import as_bytes, build_message, make_message_id
from dispatcher.notices.render import NoticeRenderer, RenderedNotice, single_line
from dispatcher.notices.sample import sample_context
from tests.notices.factories import ESCALATION, LYNGBY

DATE = datetime(2021, 12, 31, 2, 20, tzinfo=UTC)
MESSAGE_ID = "<fmk.abc123.2.kommune-173@medcom.example>"
EARLIER = "<fmk.abc123.1.kommune-173@medcom.example>"


def build(rendered: RenderedNotice, **overrides: object) -> EmailMessage:
    arguments: dict[str, object] = {
        "sender": ESCALATION.sender,
        "reply_to": ESCALATION.reply_to,
        "to": ["fmk@173.kommune.example"],
        "cc": [Person("Ærlige Åse Øbro", "aase@leverandoer.example"), "cc@x.example"],
        "message_id": MESSAGE_ID,
        "references": [EARLIER],
        "date": DATE,
    }
    arguments.update(overrides)
    return build_message(rendered, **arguments)  # type: ignore[arg-type]


def round_trip(msg: EmailMessage) -> EmailMessage:
    parsed = email.message_from_bytes(as_bytes(msg), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def body(msg: EmailMessage, subtype: str) -> str:
    part = msg.get_body(preferencelist=(subtype,))
    assert isinstance(part, EmailMessage)
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")  # SMTP line ends, as sent


def test_danish_text_survives_the_round_trip(
    notice_renderer: NoticeRenderer, notice_registry: Registry, guidance: str
) -> None:
    rendered = notice_renderer.render(
        sample_context(NoticeKind.ALL_CLEAR, LYNGBY, notice_registry, guidance)
    )
    data = as_bytes(build(rendered))
    assert data.isascii()  # RFC 2047 headers, quoted-printable bodies
    assert b"\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Subject"] == "[FMK-nedbrud #1] Løst: FMK kører igen"
    assert parsed.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in parsed.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    assert all(part.get_content_charset() == "utf-8" for part in parsed.iter_parts())
    assert body(parsed, "plain") == rendered.text
    assert body(parsed, "html") == rendered.html
    assert "Til Lyngby-Taarbæk Kommune" in body(parsed, "plain")
    cc = parsed["Cc"].addresses
    assert cc[0].display_name == "Ærlige Åse Øbro"
    assert cc[0].addr_spec == "aase@leverandoer.example"
    assert cc[1].addr_spec == "cc@x.example"
    assert parsed["Reply-To"].addresses[0].display_name == "MedComs vagt – FMK"
    assert parsed["From"].addresses[0].display_name == "MedCom FMK-beredskab"


def test_standard_headers() -> None:
    parsed = round_trip(build(RenderedNotice("Emne", "tekst\n", "<p>tekst</p>\n")))
    assert parsed["To"] == "fmk@173.kommune.example"
    assert parsed["Date"] == "Fri, 31 Dec 2021 02:20:00 +0000"
    assert parsed["Message-ID"] == MESSAGE_ID
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["X-Auto-Response-Suppress"] == "All"
    assert parsed["Content-Language"] == "da"
    assert parsed["MIME-Version"] == "1.0"


def test_display_name_with_comma_is_quoted() -> None:
    fallback = ESCALATION.fallback[0]
    parsed = round_trip(build(RenderedNotice("Emne", "t\n", "h\n"), to=[fallback]))
    (address,) = parsed["To"].addresses
    assert address.display_name == "Poul Erik Kristensen, KL"
    assert address.addr_spec == "pek@kl.example"


def test_threading_headers() -> None:
    first = "<fmk.abc123.1.kommune-173@medcom.example>"
    second = "<fmk.abc123.2.kommune-173@medcom.example>"
    parsed = round_trip(build(RenderedNotice("Emne", "t\n", "h\n"), references=[first, second]))
    assert parsed["In-Reply-To"] == second
    assert parsed["References"] == f"{first} {second}"


def test_first_notice_has_no_threading_and_no_empty_cc() -> None:
    parsed = round_trip(build(RenderedNotice("Emne", "t\n", "h\n"), references=[], cc=[]))
    assert "In-Reply-To" not in parsed
    assert "References" not in parsed
    assert "Cc" not in parsed


def test_header_injection_is_neutralised() -> None:
    msg = build(
        RenderedNotice("Hej\r\nBcc: evil@x.example", "t\n", "h\n"),
        sender=Person("MedCom\r\nBcc: evil@x.example", "fmk@medcom.example"),
        headers={"X-FMK-Incident": "12\nBcc: evil@x.example"},
    )
    data = as_bytes(msg)
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert "Bcc" not in parsed
    assert b"\r\nBcc:" not in data
    assert parsed["Subject"] == "Hej Bcc: evil@x.example"
    assert parsed["From"].addresses[0].display_name == "MedCom Bcc: evil@x.example"
    assert parsed["X-FMK-Incident"] == "12 Bcc: evil@x.example"


def test_injection_through_an_address_is_refused() -> None:
    with pytest.raises(ValueError, match="CR or LF"):
        build(RenderedNotice("Emne", "t\n", "h\n"), to=["a@x.example\r\nBcc: evil@x.example"])


def test_non_ascii_address_is_refused() -> None:
    with pytest.raises(ValueError, match="not an ASCII address"):
        build(RenderedNotice("Emne", "t\n", "h\n"), to=["post@ærø.example"])


def test_extra_headers() -> None:
    parsed = round_trip(
        build(RenderedNotice("Emne", "t\n", "h\n"), headers={"X-FMK-Incident": "12"})
    )
    assert parsed["X-FMK-Incident"] == "12"


@pytest.mark.parametrize("name", ["Bad Name", "X-Colon:", "Subject", "content-type", ""])
def test_bad_or_duplicate_extra_header_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="header"):
        build(RenderedNotice("Emne", "t\n", "h\n"), headers={name: "x"})


def test_naive_date_and_empty_to_are_refused() -> None:
    rendered = RenderedNotice("Emne", "t\n", "h\n")
    with pytest.raises(ValueError, match="timezone-aware"):
        build(rendered, date=datetime(2021, 12, 31, 3, 0))
    with pytest.raises(ValueError, match="To"):
        build(rendered, to=[])


def test_message_id() -> None:
    assert (
        make_message_id("abc123", 2, "kommune-101", "medcom.example")
        == "<fmk.abc123.2.kommune-101@medcom.example>"
    )
    with pytest.raises(ValueError, match="Message-ID"):
        make_message_id("abc>\r\n", 2, "kommune-101", "medcom.example")


# Issue #10: folded by the email package, this read back "FMK svarer langsomt  – opslag".
LONG_SUBJECT = (
    "[FMK-nedbrud #12] Opdatering fra SDS: FMK svarer langsomt – opslag i medicinkortet "
    "tager op til flere minutter"
)
WORDS = (
    "[FMK-nedbrud", "#12]", "ØVELSE:", "Opdatering:", "Løst:", "FMK", "svarer", "langsomt",
    "ikke", "–", "—", "opslag", "i", "medicinkortet", "tager", "flere", "minutter", "for",
    "kommunerne", "på", "Ærø", "Søgaard", "«kørsel»", "genstart", "åbner", "kl.", "03:00",
    "a_b", "=?x?=", "x" * 30,
)  # fmt: skip
SUBJECTS = st.one_of(
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=30).map(" ".join),
    st.text(
        alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyzæøåÆØÅFMK0123456789 –—#[]:=?_«»")),
        min_size=1,
        max_size=250,
    ).filter(str.strip),
)


def subject_as_read(subject: str) -> tuple[str, str, list[bytes]]:
    """The Subject as Python's parser reads it, as a plain RFC 5322 + RFC 2047 reader reads
    it (unfold, then decode), and the header's lines as sent."""
    data = as_bytes(build(RenderedNotice(subject, "Tekst", "<p>Tekst</p>")))
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    raw = email.message_from_bytes(data, policy=email.policy.compat32)["Subject"]
    plain = str(make_header(decode_header(raw.replace("\r\n", "").lstrip())))
    head = data.split(b"\r\n\r\n")[0].split(b"\r\n")
    start = next(i for i, line in enumerate(head) if line.startswith(b"Subject:"))
    end = next((i for i in range(start + 1, len(head)) if not head[i].startswith(b" ")), len(head))
    return str(parsed["Subject"]), plain, head[start:end]


def test_a_long_danish_subject_folds_without_a_double_space() -> None:
    parsed, plain, lines = subject_as_read(LONG_SUBJECT)
    assert parsed == LONG_SUBJECT
    assert plain == LONG_SUBJECT
    assert len(lines) > 1
    assert all(len(line) <= 76 for line in lines), lines


@settings(max_examples=300, deadline=None)
@given(SUBJECTS)
def test_any_subject_reads_back_as_written(subject: str) -> None:
    expected = single_line(subject)
    parsed, plain, lines = subject_as_read(subject)
    assert parsed == expected
    assert plain == expected
    assert all(len(line) <= 78 for line in lines), lines


class TestALongAddressList:
    """A municipality with a hundred contacts: every address and name reads back as written,
    and no header line is longer than 78 characters."""

    PEOPLE: ClassVar[list[Person | str]] = [
        Person(f"Ærø Kommune, beredskab {i}", f"fmk-{i:03d}@aeroe.dk") for i in range(100)
    ]

    def test_every_address_reads_back(self) -> None:
        others = [Person("Lyngby-Taarbæk Kommune", "fmk@ltk.dk"), "plain@x.example"]
        parsed = round_trip(build(RenderedNotice("Emne", "t\n", "h\n"), to=self.PEOPLE + others))
        got = [(a.display_name, a.addr_spec) for a in parsed["To"].addresses]
        assert got == [(p.name, p.email) for p in self.PEOPLE] + [
            ("Lyngby-Taarbæk Kommune", "fmk@ltk.dk"),
            ("", "plain@x.example"),
        ]

    def test_one_address_a_line(self) -> None:
        """Written as formataddr lines, never parsed and folded again (that costs ~90 µs an
        address, a second for the 9,800 recipients of a large send)."""
        data = as_bytes(build(RenderedNotice("E", "t\n", "h\n"), to=self.PEOPLE))
        head = data.split(b"\r\n\r\n")[0].decode().split("\r\n")
        start = next(i for i, line in enumerate(head) if line.startswith("To: "))
        lines = head[start : start + 100]
        assert lines[0].startswith("To: =?utf-8?q?=C3=86r=C3=B8_Kommune=2C_beredskab_0?=")
        assert all(line.endswith(f"<fmk-{i:03d}@aeroe.dk>,") for i, line in enumerate(lines[:99]))
        assert lines[99].endswith("<fmk-099@aeroe.dk>")

    def test_no_line_is_too_long(self) -> None:
        """A name and address too long for one line go on two."""
        long = Person("Ærø Kommunes beredskab", "fmk-beredskab-medicinkort@aeroe.kommune.example")
        data = as_bytes(build(RenderedNotice("E", "t\n", "h\n"), to=[*self.PEOPLE, long]))
        head = data.split(b"\r\n\r\n")[0]
        assert max(len(line) for line in head.split(b"\r\n")) <= 78
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        last = parsed["To"].addresses[-1]
        assert (last.display_name, last.addr_spec) == (long.name, long.email)

    def test_a_name_too_long_for_a_line_is_folded_by_the_email_package(self) -> None:
        name = "Ærø Kommunes beredskab for det fælles medicinkort og alle dets tilhørende systemer"
        to = [*self.PEOPLE, Person(name, "a@b.dk")]
        data = as_bytes(build(RenderedNotice("E", "t\n", "h\n"), to=to))
        head = data.split(b"\r\n\r\n")[0]
        assert max(len(line) for line in head.split(b"\r\n")) <= 78
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        assert [a.addr_spec for a in parsed["To"].addresses] == [
            p.email if isinstance(p, Person) else p for p in to
        ]

    def test_injection_through_an_address_is_refused(self) -> None:
        with pytest.raises(ValueError, match="not an e-mail address"):
            build(RenderedNotice("E", "t\n", "h\n"), to=[*self.PEOPLE, "a@x.example\r\nBcc: e@x"])

    def test_non_ascii_address_is_refused(self) -> None:
        with pytest.raises(ValueError, match="not an ASCII address"):
            build(RenderedNotice("Emne", "t\n", "h\n"), to=[*self.PEOPLE, "post@ærø.example"])
