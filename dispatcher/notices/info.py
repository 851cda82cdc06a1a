"""The wording of the informational notices to the on-call staff (kind `oncall_info`)."""

from __future__ import annotations

from dispatcher.core.model import Info

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
