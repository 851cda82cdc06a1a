"""Phones and paging channels in escalation.csv: optional columns, E.164 through the
`phonenumbers` library, and a bad number refuses the registry naming file, line and person."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatcher.contacts.csvcheck import RegistryError
from dispatcher.contacts.model import Channel
from dispatcher.contacts.registry import load_registry
from tests.contacts.conftest import write_lines

SENDERS = [
    "sender,MedCom FMK-beredskab,fmk-beredskab@medcom.example",
    "reply_to,MedCom FMK-beredskab,fmk-beredskab@medcom.example",
]


def escalation(directory: Path, *rows: str) -> None:
    write_lines(directory / "escalation.csv", ["role,name,email,phone,channels", *rows])


class TestOptionalColumns:
    """A file without `phone,channels` loads as before: e-mail only, no phone."""

    def test_shipped_file_pages_by_mail(self, contacts_dir: Path) -> None:
        people = load_registry(contacts_dir).escalation.oncall
        assert [(p.phone, p.channels) for p in people] == [(None, (Channel.EMAIL,))] * 2

    def test_phones_and_ordered_channels(self, contacts_dir: Path) -> None:
        escalation(
            contacts_dir,
            "oncall,Karina Hasager Hedevang,khs@medcom.dk,+45 34 41 23 45,sms;email",
            "oncall,Iben Søgaard,ibs@medcom.dk,34412346,email; SMS",
            'fallback,"Poul Erik Kristensen, KL",prk@kl.dk,,',
            *[f"{line},," for line in SENDERS],
        )
        esc = load_registry(contacts_dir).escalation
        karina, iben = esc.oncall
        assert (karina.phone, karina.channels) == ("+4534412345", (Channel.SMS, Channel.EMAIL))
        assert (iben.phone, iben.channels) == ("+4534412346", (Channel.EMAIL, Channel.SMS))
        assert (esc.fallback[0].phone, esc.fallback[0].channels) == (None, (Channel.EMAIL,))


class TestRefused:
    """A wrong number or channel: a clear error, and no registry."""

    @pytest.mark.parametrize(
        ("phone", "channels", "message"),
        [
            (
                "+45 1234",
                "sms",
                "escalation.csv:2: Karina: telephone number '+45 1234' is not a valid number (DK)",
            ),
            (
                "tlf. hjem",
                "sms",
                "escalation.csv:2: Karina: telephone number 'tlf. hjem' cannot be read",
            ),
            ("", "sms", "escalation.csv:2: Karina: channel 'sms' needs a phone number"),
            ("+4534412345", "pager", "escalation.csv:2: Karina: unknown channel 'pager'"),
            ("+4534412345", "sms;sms", "escalation.csv:2: Karina: channel 'sms' is listed twice"),
        ],
    )
    def test_bad_phone_or_channel(
        self, contacts_dir: Path, phone: str, channels: str, message: str
    ) -> None:
        escalation(
            contacts_dir,
            f"oncall,Karina,khs@medcom.dk,{phone},{channels}",
            "fallback,Poul,prk@kl.dk,,",
            *[f"{line},," for line in SENDERS],
        )
        with pytest.raises(RegistryError) as caught:
            load_registry(contacts_dir)
        assert message in str(caught.value)

    def test_a_header_with_other_columns(self, contacts_dir: Path) -> None:
        write_lines(contacts_dir / "escalation.csv", ["role,name,email,phone"])
        with pytest.raises(RegistryError) as caught:
            load_registry(contacts_dir)
        assert "expected 'role,name,email' or 'role,name,email,phone,channels'" in str(caught.value)
