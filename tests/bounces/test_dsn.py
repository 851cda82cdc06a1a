"""Reading one mail from the bounce mailbox: the formats met in the wild, and what is not a
bounce or cannot be trusted. Pure: bytes in, a report out."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatcher.bounces.dsn import Report, Verdict, read
from tests.support.dsn import sample

ORIGINAL = "<fmk.1-abcd1234.1.kommune-101@medcom.example>"
RECIPIENT = "fmk-beredskab@koebenhavn.kommune.example"
VERP = "bounces+17-0123456789ab@medcom.example"


def report_of(name: str) -> Report:
    return read(sample(name, message_id=ORIGINAL, recipient=RECIPIENT, return_path=VERP))


class TestBouncesInTheWild:
    """Each format gives the failed recipient, whether the failure is final, the status code,
    the remote server's words, the original Message-ID and the return path it came back to."""

    @pytest.mark.parametrize(
        ("name", "status", "words"),
        [
            ("postfix_rfc3464", "5.1.1", "smtp; 550 5.1.1 <" + RECIPIENT + ">: Recipient address"),
            ("exchange_online_ndr", "5.1.10", "RESOLVER.ADR.RecipientNotFound"),
            ("gmail", "5.1.1", "The email account that you tried to reach does not exist"),
            ("qmail", "5.2.1", "Remote host said: 550 5.2.1"),
            ("exchange_legacy_ndr", "5.0.0", "The recipient name is not recognized"),
        ],
    )
    def test_a_permanent_failure(self, name: str, status: str, words: str) -> None:
        report = report_of(name)
        assert report.verdict is Verdict.BOUNCE, report.reason
        [failure] = report.failures
        assert failure.recipient == RECIPIENT
        assert failure.permanent
        assert failure.status == status
        assert words in failure.diagnostic
        assert "\n" not in failure.diagnostic
        assert report.message_ids == (ORIGINAL,)
        assert VERP in report.sent_to

    def test_a_delayed_one_is_not_final(self) -> None:
        report = report_of("delayed")
        assert report.verdict is Verdict.BOUNCE
        [failure] = report.failures
        assert not failure.permanent
        assert failure.status == "4.4.1"
        assert "Connection timed out" in failure.diagnostic
        assert report.message_ids == (ORIGINAL,)

    def test_the_standard_and_the_heuristic_formats_are_told_apart(self) -> None:
        assert report_of("postfix_rfc3464").reason == "RFC 3464 delivery status notification"
        assert report_of("qmail").reason == "non-standard bounce"


class TestWhatIsNoBounce:
    """Mail that is not a bounce, and a bounce that cannot be trusted, changes nothing: the
    report says which and why."""

    def test_an_out_of_office_reply(self) -> None:
        report = report_of("out_of_office")
        assert report.verdict is Verdict.NOT_BOUNCE
        assert report.failures == ()

    def test_a_person_quoting_a_bounce(self) -> None:
        quoted = report_of("qmail")
        assert quoted.verdict is Verdict.BOUNCE
        raw = sample("qmail", message_id=ORIGINAL, recipient=RECIPIENT, return_path=VERP)
        forwarded = raw.replace(b"Return-Path: <>", b"Return-Path: <it@kommune.example>")
        forwarded = forwarded.replace(b"From: MAILER-DAEMON@", b"From: it-support@")
        report = read(forwarded)
        assert report.verdict is Verdict.NOT_BOUNCE
        assert "not from a mail system" in report.reason

    def test_a_delivery_report_that_only_says_delivered(self) -> None:
        raw = sample("postfix_rfc3464", message_id=ORIGINAL, recipient=RECIPIENT, return_path=VERP)
        report = read(raw.replace(b"Action: failed", b"Action: delivered"))
        assert report.verdict is Verdict.NOT_BOUNCE

    def test_a_truncated_dsn(self) -> None:
        report = report_of("truncated")
        assert report.verdict is Verdict.MALFORMED
        assert "CloseBoundaryNotFoundDefect" in report.reason
        assert report.failures == ()

    def test_a_dsn_whose_status_is_missing(self) -> None:
        raw = sample("postfix_rfc3464", message_id=ORIGINAL, recipient=RECIPIENT, return_path=VERP)
        report = read(raw.replace(b"Status: 5.1.1\r\n", b""))
        assert report.verdict is Verdict.MALFORMED
        assert report.reason == "recipient block 1 of the delivery report lacks a valid Status"

    def test_a_dsn_without_a_recipient(self) -> None:
        raw = sample("postfix_rfc3464", message_id=ORIGINAL, recipient=RECIPIENT, return_path=VERP)
        cut = raw.replace(b"Final-Recipient: rfc822; " + RECIPIENT.encode() + b"\r\n", b"")
        report = read(
            cut.replace(b"Original-Recipient: rfc822;" + RECIPIENT.encode() + b"\r\n", b"")
        )
        assert report.verdict is Verdict.MALFORMED
        assert "lacks Final-Recipient" in report.reason

    @pytest.mark.parametrize(
        ("raw", "reason"),
        [
            (b"", "the message is empty"),
            (b"\r\n\r\n", "the message is empty"),
            (b"no headers at all, just text\r\n", "the message has no headers"),
        ],
    )
    def test_what_is_no_mail(self, raw: bytes, reason: str) -> None:
        report = read(raw)
        assert report.verdict is Verdict.MALFORMED
        assert report.reason == reason

    @settings(max_examples=200, deadline=None)
    @given(st.binary(max_size=2000))
    def test_nothing_makes_the_reader_raise(self, raw: bytes) -> None:
        assert read(raw).verdict in set(Verdict)

    @settings(max_examples=100, deadline=None)
    @given(st.integers(min_value=0, max_value=4000))
    def test_a_bounce_cut_anywhere_is_never_half_read(self, cut: int) -> None:
        """A cut-off report is either recognised as whole or refused, never misread: any
        failure it gives is the recipient's, with a status code."""
        raw = sample("postfix_rfc3464", message_id=ORIGINAL, recipient=RECIPIENT, return_path=VERP)
        report = read(raw[:cut])
        for failure in report.failures:
            assert failure.recipient == RECIPIENT
            assert failure.status.startswith(("4.", "5."))
