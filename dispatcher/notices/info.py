"""The wording of the informational notices to the on-call staff (kind `oncall_info`)."""

from __future__ import annotations

from dispatcher.core.enums import Info

_TEXTS: dict[Info, tuple[str, str]] = {
    Info.RESOLVED_UNACKNOWLEDGED: (
        "FMK kører igen – ingen handling nødvendig",
        "FMK-nedbrud #{number} er afsluttet, før nogen kvitterede. Du behøver ikke gøre noget.",
    ),
    Info.CANCELLED_UNACKNOWLEDGED: (
        "Falsk alarm – ingen handling nødvendig",
        "FMK-nedbrud #{number} er annulleret som falsk alarm, før nogen kvitterede. "
        "Du behøver ikke gøre noget.",
    ),
    Info.SDS_RESOLVED_CONFIRM: (
        "SDS melder, at FMK kører igen – send afmeldingen",
        "SDS melder, at FMK kører igen. Kommunerne får først afmeldingen, når du sender den:\n"
        "dispatcher incident resolve {number}",
    ),
    Info.HEARTBEAT_LOST: (
        "Intet signal fra SDS – nedbrud kan gå ubemærket hen",
        "Dispatcheren har ikke fået et livstegn fra SDS' overvågning i det aftalte tidsrum. "
        "Et nedbrud af FMK bliver måske ikke meldt automatisk. Kontakt SDS, og hold selv øje "
        "med FMK, til signalet er tilbage.",
    ),
    Info.HEARTBEAT_BACK: (
        "Signal fra SDS igen",
        "Dispatcheren får igen livstegn fra SDS' overvågning. Nedbrud meldes automatisk igen.",
    ),
    Info.PAGE_FAILED: (
        "En SMS-opkaldelse nåede ikke frem",
        "En SMS-opkaldelse om FMK-nedbrud #{number} til en anden vagthavende kunne ikke "
        "sendes. Kvittér selv, hvis du kan tage hændelsen:\ndispatcher incident ack {number}",
    ),
    Info.NOT_REACHED: (
        "Ikke nået – beskeden kom retur",
        "Modtagerens mailserver har sendt beskeden om FMK-nedbrud #{number} retur. Disse har "
        "altså ikke fået den. Ring til dem, og ret adressen i kontaktregistret; "
        "`dispatcher incident show {number}` viser alle leverancer.",
    ),
    Info.RELAY_FAILING: (
        "Mailrelæet fejler – kommunerne får ikke besked",
        "Mailrelæet tager ikke imod dispatcherens mails, så meddelelserne om FMK-nedbrud "
        "#{number} venter. De sendes af sig selv, når relæet virker igen. Ring til de "
        "kommuner, der skal have besked nu (dispatcher incident receipts {number}), og få "
        "relæet undersøgt (dispatcher status).",
    ),
    Info.CALL_LIST: (
        "Ring til disse kommuner",
        "Disse kommuner har ikke bekræftet, at de har fået besked om FMK-nedbrud #{number}.",
    ),
    Info.HELD_WAITING: (
        "Den første meddelelse venter på dig",
        "Kommunerne har ikke fået besked om FMK-nedbrud #{number}: den første meddelelse er "
        "holdt tilbage. Send den med dispatcher incident confirm {number}, eller luk "
        "nedbruddet med dispatcher incident cancel {number}.",
    ),
    Info.HELD_OVERDUE: (
        "Kommunerne har stadig ikke fået besked",
        "Den første meddelelse om FMK-nedbrud #{number} er holdt tilbage og er endnu ikke "
        "sendt. Kontakt den, der oprettede nedbruddet, eller send den selv med dispatcher "
        "incident confirm {number}.",
    ),
}


def describe(
    info: Info | None, number: int | None, message: str | None
) -> tuple[str | None, str | None]:
    """The title and the text of an informational notice; other notices keep their message."""
    if info is None:
        return None, message
    title, text = _TEXTS[info]
    body = text.format(number=number)
    if message:
        body = f"{body}\n\n{message}"
    return title, body
