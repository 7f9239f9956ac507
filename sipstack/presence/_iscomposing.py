"""Message composition indication (RFC 3994, ``application/im-iscomposing+xml``):
"the other party is typing".

Same safety rules as PIDF.  Elements may come in any order (the first of each
counts) and unknown ones are ignored.  A ``<state>`` other than ``active``
reads as ``idle``: RFC 3994 defines only these two, and idle is the reading
that can never leave a stale "is typing" indicator on the screen.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from enum import StrEnum
from xml.etree.ElementTree import Element

from ._errors import PresenceError, PresenceUsageError
from ._xml import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_ELEMENTS,
    DEFAULT_MAX_SIZE,
    Node,
    check_datetime,
    clean_text,
    format_datetime,
    parse_datetime,
    parse_unsigned,
    parse_xml,
    serialize,
    strip_or_none,
)

__all__ = [
    "ISCOMPOSING_CONTENT_TYPE",
    "ComposingState",
    "IsComposing",
    "decode_iscomposing",
    "encode_iscomposing",
]

ISCOMPOSING_CONTENT_TYPE = "application/im-iscomposing+xml"
"""The media type of :func:`encode_iscomposing`'s output."""

_NS = "urn:ietf:params:xml:ns:im-iscomposing"
_ROOT = f"{{{_NS}}}isComposing"
_STATE = f"{{{_NS}}}state"
_LASTACTIVE = f"{{{_NS}}}lastactive"
_CONTENTTYPE = f"{{{_NS}}}contenttype"
_REFRESH = f"{{{_NS}}}refresh"

_MAX_REFRESH = 2**31 - 1


class ComposingState(StrEnum):
    """Whether the sender is composing a message."""

    ACTIVE = "active"
    IDLE = "idle"


@dataclass(frozen=True, slots=True)
class IsComposing:
    """An is-composing status message.

    ``last_active`` is when the sender last typed (timezone-aware);
    ``content_type`` the type of message being composed (``text/plain``,
    ``audio``...); ``refresh`` the seconds within which the sender promises
    another status message while active.
    """

    state: ComposingState = ComposingState.IDLE
    last_active: _dt.datetime | None = None
    content_type: str | None = None
    refresh: int | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "state", ComposingState(self.state))
        except ValueError:
            raise PresenceUsageError(f"unknown composing state {self.state!r}") from None
        if self.last_active is not None:
            check_datetime(self.last_active, "last_active")
        object.__setattr__(self, "content_type", clean_text(self.content_type, "content_type"))
        refresh = self.refresh
        if refresh is not None and (
            not isinstance(refresh, int)
            or isinstance(refresh, bool)
            or not 0 < refresh <= _MAX_REFRESH
        ):
            raise PresenceUsageError(f"refresh must be an int from 1 to {_MAX_REFRESH}")


def encode_iscomposing(doc: IsComposing) -> bytes:
    """Write *doc* as a UTF-8 ``application/im-iscomposing+xml`` body."""
    if not isinstance(doc, IsComposing):
        raise PresenceUsageError(
            f"encode_iscomposing() takes an IsComposing, not {type(doc).__name__}"
        )
    # RFC 3994's schema fixes this order.
    children = [Node("state", text=doc.state.value)]
    if doc.last_active is not None:
        children.append(Node("lastactive", text=format_datetime(doc.last_active)))
    if doc.content_type is not None:
        children.append(Node("contenttype", text=doc.content_type))
    if doc.refresh is not None:
        children.append(Node("refresh", text=str(doc.refresh)))
    return serialize(Node("isComposing", [("xmlns", _NS)], children))


def _first(root: Element, tag: str) -> Element | None:
    for child in root:
        if child.tag == tag:
            return child
    return None


def decode_iscomposing(
    data: bytes,
    *,
    max_size: int = DEFAULT_MAX_SIZE,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> IsComposing:
    """Read an ``application/im-iscomposing+xml`` body.

    Raises :class:`PresenceError`, and nothing else, for any body it cannot
    accept.
    """
    root = parse_xml(
        data,
        what="is-composing",
        max_size=max_size,
        max_elements=max_elements,
        max_depth=max_depth,
    )
    if root.tag != _ROOT:
        raise PresenceError(f"is-composing root element is {root.tag[:80]!r}")
    state_element = _first(root, _STATE)
    if state_element is None:
        raise PresenceError("is-composing document has no <state>")
    state = strip_or_none(state_element.text)
    last_active_element = _first(root, _LASTACTIVE)
    refresh_element = _first(root, _REFRESH)
    content_type_element = _first(root, _CONTENTTYPE)
    refresh = None
    if refresh_element is not None:
        refresh = parse_unsigned(refresh_element.text or "", "refresh", maximum=_MAX_REFRESH)
        if refresh == 0:
            raise PresenceError("is-composing refresh must be positive")
    try:
        return IsComposing(
            state=ComposingState.ACTIVE if state == "active" else ComposingState.IDLE,
            last_active=(
                None
                if last_active_element is None
                else parse_datetime(last_active_element.text or "", "lastactive")
            ),
            content_type=(
                None if content_type_element is None else strip_or_none(content_type_element.text)
            ),
            refresh=refresh,
        )
    except PresenceUsageError as exc:
        raise PresenceError(f"is-composing document not acceptable: {exc}") from None
