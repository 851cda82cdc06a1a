"""Pages that do not get through, and acknowledgement by reply, as pure decisions."""

from __future__ import annotations

from dataclasses import replace

from dispatcher.core.enums import Audience, Info, Status
from dispatcher.core.kinds import NoticeKind
from dispatcher.core.lifecycle import decide
from dispatcher.core.model import Acknowledge, ChannelsExhausted, Notify, PageFailed
from tests.core.test_escalation import IBS, KHS, MIN, POLICY, T0, at, sent, signal


class TestChannelsExhausted:
    """Every channel to a person failed: the next level now, once; later only the timeline."""

    def test_escalates_at_once_after_the_first_page(self) -> None:
        incident = signal().incident
        decision = decide(incident, ChannelsExhausted(KHS), T0 + 2 * MIN, POLICY)
        assert sent(decision) == [(NoticeKind.PAGE, Audience.ESCALATION)]
        assert decision.incident.page_round == 2
        assert decision.incident.next_page_at == T0 + 2 * MIN + POLICY.page_interval
        assert decision.effects[0].kind == "channels_exhausted"  # type: ignore[union-attr]
        assert not at(decision.incident, 15).notices  # the 15-minute page is not doubled

    def test_after_the_escalation_only_records(self) -> None:
        escalated = decide(signal().incident, ChannelsExhausted(KHS), T0, POLICY).incident
        decision = decide(escalated, ChannelsExhausted(IBS), T0 + MIN, POLICY)
        assert sent(decision) == []
        assert decision.incident == escalated

    def test_acknowledged_only_records(self) -> None:
        owned = decide(signal().incident, Acknowledge(IBS), T0, POLICY).incident
        decision = decide(owned, ChannelsExhausted(KHS), T0 + MIN, POLICY)
        assert (sent(decision), decision.incident) == ([], owned)


class TestPageFailed:
    """A failed SMS page: on the timeline; the other on-call staff told while unacknowledged."""

    def test_tells_the_others(self) -> None:
        decision = decide(signal().incident, PageFailed(KHS, "400 bad number"), T0, POLICY)
        assert decision.notices == (
            Notify(
                NoticeKind.ONCALL_INFO,
                "400 bad number",
                audience=Audience.ONCALL,
                exclude=KHS,
                info=Info.PAGE_FAILED,
            ),
        )
        assert decision.incident == signal().incident

    def test_acknowledged_records_only(self) -> None:
        owned = replace(signal().incident, status=Status.ACKNOWLEDGED, owner=IBS)
        assert sent(decide(owned, PageFailed(KHS, "x"), T0, POLICY)) == []


class TestAcknowledgeByReply:
    """By reply, the owner also gets a receipt by SMS alone; the others 'taken by'."""

    def test_receipt(self) -> None:
        decision = decide(signal().incident, Acknowledge(IBS, by_reply=True), T0, POLICY)
        assert decision.effects[0].text == f"owner: {IBS} (by SMS reply)"  # type: ignore[union-attr]
        assert decision.notices == (
            Notify(NoticeKind.OWNER, audience=Audience.ONCALL, exclude=IBS),
            Notify(NoticeKind.OWNER, audience=Audience.ONCALL, only=IBS, sms_only=True),
        )

    def test_no_receipt_otherwise(self) -> None:
        decision = decide(signal().incident, Acknowledge(IBS), T0, POLICY)
        assert len(decision.notices) == 1
