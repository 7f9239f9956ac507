"""Presence authorization: what a watcher at each access level may see.

Each watcher of a user has an :class:`AccessLevel`; the NOTIFY it gets
carries ``filter_for(document, level)``, never the document itself.  The
whole policy is the table :data:`VISIBILITY`, which names for every piece of
information the lowest level that sees it; levels are ordered, so a level
sees everything the levels below it see.

=================================  =======  ======  =======  ====  ========
item                               Blocked  Public  Company  Team  Personal
=================================  =======  ======  =======  ====  ========
availability                                yes     yes      yes   yes
activities (on-the-phone, ...)                      yes      yes   yes
note                                                yes      yes   yes
job title                                           yes      yes   yes
work phone                                          yes      yes   yes
meeting, out-of-office, when                        yes      yes   yes
timestamp, tuple id                                 yes      yes   yes
meeting subject and location                                 yes   yes
mobile phone                                                 yes   yes
home phone                                                         yes
out-of-office message                                              yes
device id                                                          yes
=================================  =======  ======  =======  ====  ========

A Blocked watcher sees exactly what anyone sees of a user who is offline and
publishes nothing: ``Presence(entity)``.  It is a document, not an absence of
one, so that a blocked watcher cannot tell being blocked from the user being
offline.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import Enum, IntEnum
from types import MappingProxyType

from ._errors import PresenceUsageError
from ._pidf import DEFAULT_TUPLE_ID, Availability, Presence

__all__ = ["VISIBILITY", "AccessLevel", "PresenceItem", "filter_for", "visible_items"]


class AccessLevel(IntEnum):
    """A watcher's access level, ordered from least to most trusted."""

    BLOCKED = 0
    PUBLIC = 1
    COMPANY = 2
    TEAM = 3
    PERSONAL = 4


class PresenceItem(Enum):
    """One piece of presence information governed by :data:`VISIBILITY`."""

    AVAILABILITY = "availability"
    ACTIVITIES = "activities"
    NOTE = "note"
    TITLE = "title"
    WORK_PHONE = "work-phone"
    CALENDAR = "calendar"
    """Whether and when the user is in a meeting or out of the office."""
    TIMESTAMP = "timestamp"
    TUPLE_ID = "tuple-id"
    MEETING_DETAILS = "meeting-details"
    """A meeting's subject and location."""
    MOBILE_PHONE = "mobile-phone"
    HOME_PHONE = "home-phone"
    OUT_OF_OFFICE_MESSAGE = "out-of-office-message"
    DEVICE_ID = "device-id"


VISIBILITY: Mapping[PresenceItem, AccessLevel] = MappingProxyType(
    {
        PresenceItem.AVAILABILITY: AccessLevel.PUBLIC,
        PresenceItem.ACTIVITIES: AccessLevel.COMPANY,
        PresenceItem.NOTE: AccessLevel.COMPANY,
        PresenceItem.TITLE: AccessLevel.COMPANY,
        PresenceItem.WORK_PHONE: AccessLevel.COMPANY,
        PresenceItem.CALENDAR: AccessLevel.COMPANY,
        PresenceItem.TIMESTAMP: AccessLevel.COMPANY,
        PresenceItem.TUPLE_ID: AccessLevel.COMPANY,
        PresenceItem.MEETING_DETAILS: AccessLevel.TEAM,
        PresenceItem.MOBILE_PHONE: AccessLevel.TEAM,
        PresenceItem.HOME_PHONE: AccessLevel.PERSONAL,
        PresenceItem.OUT_OF_OFFICE_MESSAGE: AccessLevel.PERSONAL,
        PresenceItem.DEVICE_ID: AccessLevel.PERSONAL,
    }
)
"""For each item, the lowest access level allowed to see it."""


def visible_items(level: AccessLevel) -> frozenset[PresenceItem]:
    """The items a watcher at *level* sees (for showing a user what each
    level reveals)."""
    return frozenset(item for item, lowest in VISIBILITY.items() if level >= lowest)


def filter_for(doc: Presence, level: AccessLevel) -> Presence:
    """The document a watcher at *level* may receive.

    Never None: a Blocked watcher gets ``Presence(doc.entity)``, the same
    document an offline user with no details produces.
    """
    if not isinstance(doc, Presence):
        raise PresenceUsageError(f"filter_for() takes a Presence, not {type(doc).__name__}")
    try:
        level = AccessLevel(level)
    except ValueError:
        raise PresenceUsageError(f"unknown access level {level!r}") from None
    seen = visible_items(level)

    meeting = doc.meeting if PresenceItem.CALENDAR in seen else None
    if meeting is not None and PresenceItem.MEETING_DETAILS not in seen:
        meeting = dataclasses.replace(meeting, subject=None, location=None)
    ooo = doc.out_of_office if PresenceItem.CALENDAR in seen else None
    if ooo is not None and PresenceItem.OUT_OF_OFFICE_MESSAGE not in seen:
        ooo = dataclasses.replace(ooo, message=None)

    # Built field by field from nothing, rather than by removing fields from
    # the original: a field added to Presence later stays hidden until this
    # table says otherwise (fail closed).
    return Presence(
        entity=doc.entity,
        availability=(
            doc.availability if PresenceItem.AVAILABILITY in seen else Availability.OFFLINE
        ),
        activities=doc.activities if PresenceItem.ACTIVITIES in seen else (),
        note=doc.note if PresenceItem.NOTE in seen else None,
        note_lang=doc.note_lang if PresenceItem.NOTE in seen else None,
        title=doc.title if PresenceItem.TITLE in seen else None,
        work_phone=doc.work_phone if PresenceItem.WORK_PHONE in seen else None,
        mobile_phone=doc.mobile_phone if PresenceItem.MOBILE_PHONE in seen else None,
        home_phone=doc.home_phone if PresenceItem.HOME_PHONE in seen else None,
        meeting=meeting,
        out_of_office=ooo,
        timestamp=doc.timestamp if PresenceItem.TIMESTAMP in seen else None,
        tuple_id=doc.tuple_id if PresenceItem.TUPLE_ID in seen else DEFAULT_TUPLE_ID,
        device_id=doc.device_id if PresenceItem.DEVICE_ID in seen else None,
    )
