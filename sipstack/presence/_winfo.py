"""Watcher information: who watches a resource (RFC 3857 event package,
RFC 3858 ``application/watcherinfo+xml`` format).

A user subscribes to ``presence.winfo`` to learn who watches their presence
and in what state each subscription is; the server sends these documents.
Same safety rules as PIDF.  Unknown elements and attributes are ignored;
required attributes (``version``, ``state``, ``resource``, ``package``, a
watcher's ``id``, ``status`` and ``event``) and the watcher URI must be
present.  A watcher ``event`` outside RFC 3858's list is kept as text, since
the list is extensible.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from xml.etree.ElementTree import Element

from ._errors import PresenceError, PresenceUsageError
from ._xml import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_ELEMENTS,
    DEFAULT_MAX_SIZE,
    XML_LANG,
    Node,
    clean_text,
    is_language,
    parse_unsigned,
    parse_xml,
    require_text,
    serialize,
    strip_or_none,
)

__all__ = [
    "WATCHERINFO_CONTENT_TYPE",
    "Watcher",
    "WatcherEvent",
    "WatcherInfo",
    "WatcherInfoState",
    "WatcherList",
    "WatcherStatus",
    "decode_watcherinfo",
    "encode_watcherinfo",
]

WATCHERINFO_CONTENT_TYPE = "application/watcherinfo+xml"
"""The media type of :func:`encode_watcherinfo`'s output."""

_NS = "urn:ietf:params:xml:ns:watcherinfo"
_ROOT = f"{{{_NS}}}watcherinfo"
_LIST = f"{{{_NS}}}watcher-list"
_WATCHER = f"{{{_NS}}}watcher"

_UNSIGNED_LONG = 2**64 - 1


class WatcherInfoState(StrEnum):
    """Whether a document lists every watcher or only the changes."""

    FULL = "full"
    PARTIAL = "partial"


class WatcherStatus(StrEnum):
    """The state of one watcher's subscription (RFC 3857)."""

    PENDING = "pending"
    ACTIVE = "active"
    WAITING = "waiting"
    TERMINATED = "terminated"


class WatcherEvent(StrEnum):
    """The event that moved a subscription into its status (RFC 3857).

    :attr:`Watcher.event` is a plain ``str`` because the list is extensible;
    these are the values RFC 3857 defines.
    """

    SUBSCRIBE = "subscribe"
    APPROVED = "approved"
    DEACTIVATED = "deactivated"
    PROBATION = "probation"
    REJECTED = "rejected"
    TIMEOUT = "timeout"
    GIVEUP = "giveup"
    NORESOURCE = "noresource"


_KNOWN_EVENTS = frozenset(e.value for e in WatcherEvent)


def _unsigned(value: object, what: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _UNSIGNED_LONG:
        raise PresenceUsageError(f"{what} must be an int from 0 to 2**64-1")
    return value


@dataclass(frozen=True, slots=True)
class Watcher:
    """One subscription to the watched resource.

    Validated and normalised on construction like :class:`Presence`.
    ``expiration`` and ``duration_subscribed`` are seconds.
    """

    uri: str
    id: str
    status: WatcherStatus
    event: str = WatcherEvent.SUBSCRIBE
    display_name: str | None = None
    lang: str | None = None
    expiration: int | None = None
    duration_subscribed: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "uri", require_text(self.uri, "watcher uri"))
        object.__setattr__(self, "id", require_text(self.id, "watcher id"))
        try:
            object.__setattr__(self, "status", WatcherStatus(self.status))
        except ValueError:
            raise PresenceUsageError(f"unknown watcher status {self.status!r}") from None
        event = require_text(self.event, "watcher event")
        if event in _KNOWN_EVENTS:
            event = WatcherEvent(event)
        object.__setattr__(self, "event", event)
        name = clean_text(self.display_name, "display_name")
        object.__setattr__(self, "display_name", name)
        lang = clean_text(self.lang, "lang")
        if lang is not None and not is_language(lang):
            raise PresenceUsageError(f"lang {lang!r} is not a language tag")
        object.__setattr__(self, "lang", lang)
        _unsigned(self.expiration, "expiration")
        _unsigned(self.duration_subscribed, "duration_subscribed")


@dataclass(frozen=True, slots=True)
class WatcherList:
    """The watchers of one resource for one event package."""

    resource: str
    package: str
    watchers: tuple[Watcher, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "resource", require_text(self.resource, "resource"))
        object.__setattr__(self, "package", require_text(self.package, "package"))
        watchers = tuple(self.watchers)
        if not all(isinstance(w, Watcher) for w in watchers):
            raise PresenceUsageError("watchers must be Watcher values")
        object.__setattr__(self, "watchers", watchers)


@dataclass(frozen=True, slots=True)
class WatcherInfo:
    """An ``application/watcherinfo+xml`` document."""

    version: int
    state: WatcherInfoState = WatcherInfoState.FULL
    lists: tuple[WatcherList, ...] = ()

    def __post_init__(self) -> None:
        if _unsigned(self.version, "version") is None:
            raise PresenceUsageError("version is required")
        try:
            object.__setattr__(self, "state", WatcherInfoState(self.state))
        except ValueError:
            raise PresenceUsageError(f"unknown watcherinfo state {self.state!r}") from None
        lists = tuple(self.lists)
        if not all(isinstance(item, WatcherList) for item in lists):
            raise PresenceUsageError("lists must be WatcherList values")
        object.__setattr__(self, "lists", lists)


def encode_watcherinfo(doc: WatcherInfo) -> bytes:
    """Write *doc* as a UTF-8 ``application/watcherinfo+xml`` body."""
    if not isinstance(doc, WatcherInfo):
        raise PresenceUsageError(
            f"encode_watcherinfo() takes a WatcherInfo, not {type(doc).__name__}"
        )
    lists = []
    for watcher_list in doc.lists:
        watchers = []
        for w in watcher_list.watchers:
            attrs = [("id", w.id), ("status", w.status.value), ("event", str(w.event))]
            if w.display_name is not None:
                attrs.append(("display-name", w.display_name))
            if w.lang is not None:
                attrs.append(("xml:lang", w.lang))
            if w.expiration is not None:
                attrs.append(("expiration", str(w.expiration)))
            if w.duration_subscribed is not None:
                attrs.append(("duration-subscribed", str(w.duration_subscribed)))
            watchers.append(Node("watcher", attrs, text=w.uri))
        lists.append(
            Node(
                "watcher-list",
                [("resource", watcher_list.resource), ("package", watcher_list.package)],
                watchers,
            )
        )
    root = Node(
        "watcherinfo",
        [("xmlns", _NS), ("version", str(doc.version)), ("state", doc.state.value)],
        lists,
    )
    return serialize(root)


def _required(element: Element, name: str) -> str:
    value = strip_or_none(element.get(name))
    if value is None:
        raise PresenceError(f"watcherinfo <{element.tag.rpartition('}')[2]}> lacks {name}")
    return value


def _watcher(element: Element) -> Watcher:
    status_text = _required(element, "status")
    try:
        status = WatcherStatus(status_text)
    except ValueError:
        raise PresenceError(f"watcher status {status_text[:40]!r} is not defined") from None
    uri = strip_or_none(element.text)
    if uri is None:
        raise PresenceError("watcherinfo <watcher> has no URI")
    lang = strip_or_none(element.get(XML_LANG))
    expiration = element.get("expiration")
    duration = element.get("duration-subscribed")
    return Watcher(
        uri=uri,
        id=_required(element, "id"),
        status=status,
        event=_required(element, "event"),
        display_name=strip_or_none(element.get("display-name")),
        lang=lang if lang is not None and is_language(lang) else None,
        expiration=None if expiration is None else parse_unsigned(expiration, "expiration"),
        duration_subscribed=(
            None if duration is None else parse_unsigned(duration, "duration-subscribed")
        ),
    )


def decode_watcherinfo(
    data: bytes,
    *,
    max_size: int = DEFAULT_MAX_SIZE,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> WatcherInfo:
    """Read an ``application/watcherinfo+xml`` body.

    Raises :class:`PresenceError`, and nothing else, for any body it cannot
    accept.
    """
    root = parse_xml(
        data,
        what="watcherinfo",
        max_size=max_size,
        max_elements=max_elements,
        max_depth=max_depth,
    )
    if root.tag != _ROOT:
        raise PresenceError(f"watcherinfo root element is {root.tag[:80]!r}")
    version = parse_unsigned(_required(root, "version"), "watcherinfo version")
    state_text = _required(root, "state")
    try:
        state = WatcherInfoState(state_text)
    except ValueError:
        raise PresenceError(
            f"watcherinfo state {state_text[:40]!r} is not full or partial"
        ) from None
    try:
        lists = tuple(
            WatcherList(
                resource=_required(element, "resource"),
                package=_required(element, "package"),
                watchers=tuple(_watcher(w) for w in element if w.tag == _WATCHER),
            )
            for element in root
            if element.tag == _LIST
        )
        return WatcherInfo(version=version, state=state, lists=lists)
    except PresenceUsageError as exc:
        raise PresenceError(f"watcherinfo document not acceptable: {exc}") from None
