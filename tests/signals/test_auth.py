"""The webhook signature, as a pure function of secret, timestamp, body and the receiver's time."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from dispatcher.signals import auth
from dispatcher.signals.auth import SignatureError, sign, verify

SECRET = b"sds-shared-secret-for-tests"
BODY = b'{"event_id":"e-1","service":"FMK","kind":"heartbeat"}'
NOW = datetime(2021, 12, 31, 2, 0, tzinfo=UTC)
TS = int(NOW.timestamp())
TOLERANCE = timedelta(minutes=5)


def check(
    *,
    timestamp: str | None = str(TS),
    signature: str | None = None,
    body: bytes = BODY,
    secret: bytes = SECRET,
    now: datetime = NOW,
) -> None:
    verify(
        secret,
        timestamp_header=timestamp,
        signature_header=sign(SECRET, TS, BODY) if signature is None else signature,
        body=body,
        now=now,
        tolerance=TOLERANCE,
    )


def code_of(**kwargs: object) -> str:
    with pytest.raises(SignatureError) as caught:
        check(**kwargs)  # type: ignore[arg-type]
    return caught.value.code


def test_sign_is_the_documented_recipe() -> None:
    expected = hmac.new(SECRET, f"{TS}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, TS, BODY) == f"v1={expected}"
    assert expected == expected.lower()
    assert len(expected) == 64


def test_a_known_vector_so_other_implementations_can_compare() -> None:
    # printf '%s' '1640916000.{}' | openssl dgst -sha256 -hmac 'secret'
    assert sign(b"secret", 1640916000, b"{}") == (
        "v1=1c950c38ed69db1c27b9afd7bb881d4bd2ae7e2da8fb0857040f7705aa388f4e"
    )


def test_a_correct_signature_is_accepted() -> None:
    check()


def test_uppercase_hex_is_accepted_too() -> None:
    check(signature=sign(SECRET, TS, BODY).upper().replace("V1=", "v1="))


def test_surrounding_whitespace_in_headers_is_ignored() -> None:
    check(timestamp=f" {TS} ", signature=f" {sign(SECRET, TS, BODY)} ")


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [(None, None), ("", "x"), (str(TS), ""), (None, "v1=" + "0" * 64), ("  ", "  ")],
)
def test_missing_headers(timestamp: str | None, signature: str | None) -> None:
    sig = signature if signature != "x" else sign(SECRET, TS, BODY)
    with pytest.raises(SignatureError) as caught:
        verify(
            SECRET,
            timestamp_header=timestamp,
            signature_header=sig,
            body=BODY,
            now=NOW,
            tolerance=TOLERANCE,
        )
    assert caught.value.code == "missing_signature"
    assert "X-SDS-" in caught.value.detail


def test_missing_names_both_headers() -> None:
    with pytest.raises(SignatureError) as caught:
        verify(
            SECRET, timestamp_header=None, signature_header=None, body=BODY, now=NOW,
            tolerance=TOLERANCE,
        )  # fmt: skip
    assert "X-SDS-Timestamp" in caught.value.detail
    assert "X-SDS-Signature" in caught.value.detail


@pytest.mark.parametrize(
    "timestamp", ["abc", "-1640916000", "1640916000.5", "1e9", "2021-12-31T02:00:00Z", "9" * 13]
)
def test_a_timestamp_that_is_not_unix_seconds_is_malformed(timestamp: str) -> None:
    assert code_of(timestamp=timestamp) == "malformed_signature"


@pytest.mark.parametrize(
    "signature",
    [
        "abc",
        "0" * 64,  # no version
        "v2=" + "0" * 64,
        "v1=" + "0" * 63,
        "v1=" + "0" * 65,
        "v1=" + "g" * 64,
        "v1=" + "0" * 64 + ",v1=" + "0" * 64,
        "sha256=" + "0" * 64,
    ],
)
def test_a_signature_header_of_the_wrong_shape_is_malformed(signature: str) -> None:
    assert code_of(signature=signature) == "malformed_signature"


def test_a_wrong_signature_is_bad() -> None:
    assert code_of(signature="v1=" + "0" * 64) == "bad_signature"


def test_a_signature_made_with_another_secret_is_bad() -> None:
    assert code_of(signature=sign(b"another secret", TS, BODY)) == "bad_signature"


def test_a_changed_body_is_bad() -> None:
    assert code_of(body=BODY.replace(b"heartbeat", b"outage")) == "bad_signature"


def test_a_body_with_a_trailing_newline_is_a_different_body() -> None:
    assert code_of(body=BODY + b"\n") == "bad_signature"


def test_the_timestamp_is_covered_by_the_signature() -> None:
    """Replaying an old body with a fresh timestamp does not work."""
    assert code_of(timestamp=str(TS + 1)) == "bad_signature"


def test_a_timestamp_with_leading_zeros_is_verified_as_sent() -> None:
    padded = f"0{TS}"
    signature = "v1=" + hmac.new(SECRET, f"{padded}.".encode() + BODY, hashlib.sha256).hexdigest()
    check(timestamp=padded, signature=signature)


@pytest.mark.parametrize("offset", [0, 1, 299, 300, -1, -299, -300])
def test_timestamps_within_the_tolerance_are_accepted(offset: int) -> None:
    ts = TS + offset
    check(timestamp=str(ts), signature=sign(SECRET, ts, BODY))


@pytest.mark.parametrize("offset", [301, -301, 3600, -86400, -TS])
def test_timestamps_outside_the_tolerance_are_stale(offset: int) -> None:
    ts = TS + offset
    assert code_of(timestamp=str(ts), signature=sign(SECRET, ts, BODY)) == "stale_timestamp"


def test_the_boundary_is_exact_to_the_microsecond() -> None:
    ts = TS - 300
    signature = sign(SECRET, ts, BODY)
    check(timestamp=str(ts), signature=signature, now=NOW)
    late = NOW + timedelta(microseconds=1)
    assert code_of(timestamp=str(ts), signature=signature, now=late) == "stale_timestamp"


def test_stale_says_which_way_the_clock_is_off() -> None:
    with pytest.raises(SignatureError) as past:
        check(timestamp=str(TS - 600), signature=sign(SECRET, TS - 600, BODY))
    with pytest.raises(SignatureError) as future:
        check(timestamp=str(TS + 600), signature=sign(SECRET, TS + 600, BODY))
    assert "600 s behind" in past.value.detail
    assert "600 s ahead of" in future.value.detail


def test_a_stale_request_is_refused_even_with_a_bad_signature() -> None:
    """Freshness is checked first: no HMAC is computed for an old request."""
    assert code_of(timestamp=str(TS - 3600), signature="v1=" + "0" * 64) == "stale_timestamp"


def test_the_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every signature that reaches the comparison goes through hmac.compare_digest, with both
    sides the same length, whether it differs in its first or its last digit."""
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    good = sign(SECRET, TS, BODY)
    hex_digits = good.removeprefix("v1=")
    first_wrong = "v1=" + ("0" if hex_digits[0] != "0" else "1") + hex_digits[1:]
    last_wrong = "v1=" + hex_digits[:-1] + ("0" if hex_digits[-1] != "0" else "1")
    check(signature=good)
    assert code_of(signature=first_wrong) == "bad_signature"
    assert code_of(signature=last_wrong) == "bad_signature"
    assert len(calls) == 3
    assert all(len(a) == len(b) == 64 for a, b in calls)


def test_errors_never_contain_the_secret_or_a_signature() -> None:
    good = sign(SECRET, TS, BODY)
    bad = "v1=" + "ab" * 32
    for kwargs in (
        {"signature": bad},
        {"signature": good, "body": b"{}"},
        {"timestamp": str(TS - 999), "signature": good},
        {"signature": "v1=zz"},
    ):
        with pytest.raises(SignatureError) as caught:
            check(**kwargs)  # type: ignore[arg-type]
        text = str(caught.value) + caught.value.detail
        assert SECRET.decode() not in text
        assert good.removeprefix("v1=") not in text
        assert "ab" * 32 not in text


def test_an_empty_secret_is_refused_outright() -> None:
    with pytest.raises(ValueError, match="empty"):
        sign(b"", TS, BODY)
    with pytest.raises(ValueError, match="empty"):
        check(secret=b"")


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone"):
        check(now=datetime(2021, 12, 31, 3, 0))
