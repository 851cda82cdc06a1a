"""Who a reminder goes to, and the "Bekræft modtagelse" link in municipal notices.

- A reminder goes to each municipality it names, alone (no vendors in Cc, no vendor copy), at
  its alternate addresses when the registry has them, else at its usual ones.
- Every municipal notice and reminder to a municipality carries its receipt link; the
  vendors' copies and the notices to people carry none.
"""

from __future__ import annotations

from collections.abc import Callable

from dispatcher.contacts.model import Municipality, Person, Registry, Vendor
from dispatcher.core.kinds import NoticeKind
from dispatcher.core.model import Notify
from dispatcher.notices.render import addressee


def reminded(
    registry: Registry, codes: tuple[int, ...]
) -> list[tuple[Municipality, tuple[Person, ...]]]:
    """Each municipality a reminder names, with the people (addresses) it goes to."""
    found = [m for code in codes if (m := registry.municipality(code)) is not None]
    return [
        (m, tuple(Person(addressee(m), e) for e in (m.alternate_emails or m.emails))) for m in found
    ]


def receipt_link(
    receipt_url: Callable[[int], str] | None,
    notify: Notify,
    recipient: Municipality | Vendor | Person,
) -> str | None:
    """The receipt link for `recipient`, if the notice is one a municipality confirms."""
    confirmable = notify.kind.municipal or notify.kind is NoticeKind.REMINDER
    if receipt_url is None or not confirmable or not isinstance(recipient, Municipality):
        return None
    return receipt_url(recipient.code)
