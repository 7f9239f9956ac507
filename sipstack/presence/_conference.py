"""Conference state (RFC 4575 event package ``conference``, body type
``application/conference-info+xml``): who takes part in a conversation.

Only what a chat conversation needs is modelled: the conference URI, its
subject, and each user with a display text and the status of one endpoint.
Everything else a focus may send (media, roles, host info, sidebars...) is
ignored on reading, so the RFC's own rich examples read fine.  Same safety
rules as PIDF.

The first notification of a subscription carries full state and later ones
usually only changes; :func:`apply_update` folds them into the full state a
subscriber keeps (RFC 4575 §4.6).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar
from xml.etree.ElementTree import Element

from ._errors import PresenceError, PresenceUsageError
from ._xml import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_ELEMENTS,
    DEFAULT_MAX_SIZE,
    Node,
    clean_text,
    parse_unsigned,
    parse_xml,
    require_text,
    serialize,
    strip_or_none,
)

__all__ = [
    "CONFERENCE_INFO_CONTENT_TYPE",
    "ConferenceInfo",
    "ConferenceInfoState",
    "ConferenceUser",
    "EndpointStatus",
    "apply_update",
    "decode_conference_info",
    "encode_conference_info",
]

CONFERENCE_INFO_CONTENT_TYPE = "application/conference-info+xml"
"""The media type of :func:`encode_conference_info`'s output."""

_NS = "urn:ietf:params:xml:ns:conference-info"
_LOCAL_ROOT = "conference-info"
_ROOT = f"{{{_NS}}}{_LOCAL_ROOT}"

# The schema types version as xs:unsignedInt.
_MAX_VERSION = 2**32 - 1


class ConferenceInfoState(StrEnum):
    """What an element (the document, or one user) carries: its full state,
    only what changed, or the news that it is gone."""

    FULL = "full"
    PARTIAL = "partial"
    DELETED = "deleted"


class EndpointStatus(StrEnum):
    """Where a user's endpoint stands in the conference (RFC 4575)."""

    PENDING = "pending"
    DIALING_OUT = "dialing-out"
    DIALING_IN = "dialing-in"
    ALERTING = "alerting"
    ON_HOLD = "on-hold"
    CONNECTED = "connected"
    MUTED_VIA_FOCUS = "muted-via-focus"
    DISCONNECTING = "disconnecting"
    DISCONNECTED = "disconnected"


_STATUSES = frozenset(s.value for s in EndpointStatus)


_E = TypeVar("_E", bound=StrEnum)


def _enum(kind: type[_E], value: str, what: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        raise PresenceUsageError(f"unknown {what} {value!r}") from None


@dataclass(frozen=True, slots=True)
class ConferenceUser:
    """One participant, identified by ``entity`` (their URI).

    ``status`` is the status of the user's endpoint (a chat participant has
    one).  In a partial document a user with state ``partial`` carries only
    what changed, and one with state ``deleted`` has left.  ``state`` and
    ``status`` take plain strings too and always hold
    :class:`ConferenceInfoState` and :class:`EndpointStatus` members.
    Validated and normalised on construction like :class:`Presence`.
    """

    entity: str
    state: str = ConferenceInfoState.FULL
    display_text: str | None = None
    status: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "entity", require_text(self.entity, "user entity"))
        object.__setattr__(self, "state", _enum(ConferenceInfoState, self.state, "user state"))
        object.__setattr__(self, "display_text", clean_text(self.display_text, "display_text"))
        if self.status is not None:
            object.__setattr__(self, "status", _enum(EndpointStatus, self.status, "status"))


@dataclass(frozen=True, slots=True)
class ConferenceInfo:
    """An ``application/conference-info+xml`` document.

    ``entity`` is the conference URI; ``version`` orders the documents of
    one subscription; ``state`` is ``"full"``, ``"partial"`` or
    ``"deleted"``, held as a :class:`ConferenceInfoState`.  Users are keyed
    by entity, so no entity may appear twice.
    """

    entity: str
    version: int
    state: str = ConferenceInfoState.FULL
    subject: str | None = None
    users: tuple[ConferenceUser, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "entity", require_text(self.entity, "conference entity"))
        version = self.version
        if (
            not isinstance(version, int)
            or isinstance(version, bool)
            or not 0 <= version <= _MAX_VERSION
        ):
            raise PresenceUsageError(f"version must be an int from 0 to {_MAX_VERSION}")
        object.__setattr__(self, "state", _enum(ConferenceInfoState, self.state, "state"))
        object.__setattr__(self, "subject", clean_text(self.subject, "subject"))
        users = tuple(self.users)
        if not all(isinstance(user, ConferenceUser) for user in users):
            raise PresenceUsageError("users must be ConferenceUser values")
        if len({user.entity for user in users}) != len(users):
            raise PresenceUsageError("users lists the same entity twice")
        object.__setattr__(self, "users", users)


def encode_conference_info(doc: ConferenceInfo) -> bytes:
    """Write *doc* as a UTF-8 ``application/conference-info+xml`` body."""
    if not isinstance(doc, ConferenceInfo):
        raise PresenceUsageError(
            f"encode_conference_info() takes a ConferenceInfo, not {type(doc).__name__}"
        )
    users = []
    for user in doc.users:
        # The schema's order: display-text before endpoint.
        parts = []
        if user.display_text is not None:
            parts.append(Node("display-text", text=user.display_text))
        if user.status is not None:
            status = Node("status", text=str(user.status))
            parts.append(Node("endpoint", [("entity", user.entity)], [status]))
        users.append(Node("user", [("entity", user.entity), ("state", str(user.state))], parts))
    children = []
    if doc.subject is not None:
        subject = Node("subject", text=doc.subject)
        children.append(Node("conference-description", children=[subject]))
    # <users> has its own state, "full" when absent: a partial document
    # must say so, or a strict reader takes the list as the whole roster.
    users_state = [("state", "partial")] if doc.state is ConferenceInfoState.PARTIAL else []
    children.append(Node("users", users_state, users))
    attrs = [
        ("xmlns", _NS),
        ("entity", doc.entity),
        ("state", str(doc.state)),
        ("version", str(doc.version)),
    ]
    return serialize(Node(_LOCAL_ROOT, attrs, children))


def _required(element: Element, name: str) -> str:
    value = strip_or_none(element.get(name))
    if value is None:
        raise PresenceError(f"conference-info <{element.tag.rpartition('}')[2]}> lacks {name}")
    return value


def _state(element: Element) -> ConferenceInfoState:
    text = strip_or_none(element.get("state"))
    if text is None:
        return ConferenceInfoState.FULL  # the schema's default
    try:
        return ConferenceInfoState(text)
    except ValueError:
        raise PresenceError(f"conference-info state {text[:40]!r} is not defined") from None


def _status(user: Element, ns: str) -> EndpointStatus | None:
    # The first endpoint still present with a status this package knows; a
    # status from a later revision of the schema reads as unknown.
    for endpoint in user.iterfind(ns + "endpoint"):
        if strip_or_none(endpoint.get("state")) == ConferenceInfoState.DELETED:
            continue
        status = endpoint.find(ns + "status")
        text = None if status is None else strip_or_none(status.text)
        if text in _STATUSES:
            return EndpointStatus(text)
    return None


def _user(element: Element, ns: str) -> ConferenceUser:
    display = element.find(ns + "display-text")
    return ConferenceUser(
        entity=_required(element, "entity"),
        state=_state(element),
        display_text=None if display is None else strip_or_none(display.text),
        status=_status(element, ns),
    )


def decode_conference_info(
    data: bytes,
    *,
    max_size: int = DEFAULT_MAX_SIZE,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> ConferenceInfo:
    """Read an ``application/conference-info+xml`` body.

    Unknown elements and attributes are ignored, and so is a missing
    namespace.  Raises :class:`PresenceError`, and nothing else, for any
    body it cannot accept.
    """
    root = parse_xml(
        data,
        what="conference-info",
        max_size=max_size,
        max_elements=max_elements,
        max_depth=max_depth,
    )
    if root.tag not in (_ROOT, _LOCAL_ROOT):
        raise PresenceError(f"conference-info root element is {root.tag[:80]!r}")
    ns = root.tag.removesuffix(_LOCAL_ROOT)
    description = root.find(ns + "conference-description")
    subject = None if description is None else description.find(ns + "subject")
    users = root.find(ns + "users")
    try:
        return ConferenceInfo(
            entity=_required(root, "entity"),
            version=parse_unsigned(
                _required(root, "version"), "conference-info version", maximum=_MAX_VERSION
            ),
            state=_state(root),
            subject=None if subject is None else strip_or_none(subject.text),
            users=() if users is None else tuple(_user(u, ns) for u in users.iterfind(ns + "user")),
        )
    except PresenceUsageError as exc:
        raise PresenceError(f"conference-info document not acceptable: {exc}") from None


def _settled(user: ConferenceUser) -> ConferenceUser:
    if user.state is ConferenceInfoState.FULL:
        return user
    return dataclasses.replace(user, state=ConferenceInfoState.FULL)


def apply_update(current: ConferenceInfo | None, update: ConferenceInfo) -> ConferenceInfo:
    """The conference state after *update*, given the state held before it
    (None before the first notification); RFC 4575 §4.6.

    A full (or deleted) document replaces everything.  A partial one is
    merged: a user with state ``deleted`` is removed, one with state
    ``full`` replaces or joins the roster, one with state ``partial``
    changes only what it carries, and a subject replaces the subject.
    The result always holds full state: no deleted users, every user
    ``full``, and the document ``full`` unless the conference was deleted.

    Raises :class:`PresenceError` for a version not newer than the current
    one (a stale or duplicate notification: keep *current*), for another
    conference's document, and for a partial document with no full state
    before it.  A version that skips numbers means a notification was lost;
    it is merged all the same, and RFC 4575 §4.6 has the subscriber refresh
    the subscription to get full state again.
    """
    if not isinstance(update, ConferenceInfo) or not isinstance(current, ConferenceInfo | None):
        raise PresenceUsageError("apply_update() takes ConferenceInfo values")
    if current is not None:
        if update.entity != current.entity:
            raise PresenceError(
                f"conference-info for {update.entity[:80]!r} cannot update {current.entity[:80]!r}"
            )
        if update.version <= current.version:
            raise PresenceError(
                f"conference-info version {update.version} is not newer than {current.version}"
            )
    if update.state is not ConferenceInfoState.PARTIAL:
        users = (u for u in update.users if u.state is not ConferenceInfoState.DELETED)
        return dataclasses.replace(update, users=tuple(_settled(u) for u in users))
    if current is None or current.state is ConferenceInfoState.DELETED:
        raise PresenceError("partial conference-info without full state before it")
    roster = {user.entity: user for user in current.users}
    for change in update.users:
        held = roster.get(change.entity)
        if change.state is ConferenceInfoState.DELETED:
            roster.pop(change.entity, None)
        elif change.state is ConferenceInfoState.FULL or held is None:
            roster[change.entity] = _settled(change)
        else:
            roster[change.entity] = ConferenceUser(
                change.entity,
                display_text=held.display_text
                if change.display_text is None
                else change.display_text,
                status=held.status if change.status is None else change.status,
            )
    return ConferenceInfo(
        update.entity,
        update.version,
        subject=current.subject if update.subject is None else update.subject,
        users=tuple(roster.values()),
    )
