"""PIDF (RFC 3863) documents with RPID (RFC 4480) rich presence.

Theory of operation
===================

A :class:`Presence` is what one user publishes about themselves.  It is a
flat, frozen value; :func:`encode` writes it as ``application/pidf+xml`` and
:func:`decode` reads any PIDF document, ours or another client's, back into
one.  Neither touches the clock: "until" times are data, and deciding whether
a meeting is over is the caller's business.

The XML we write (prefixes as written; readers must go by namespace)::

    <presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"
              xmlns:dm=... xmlns:rpid=... xmlns:ss=...>
      <tuple id="t1">                               tuple_id
        <status><basic>open</basic></status>        availability != offline
        <dm:deviceID>urn:uuid:...</dm:deviceID>     device_id (RFC 4479)
        <note xml:lang="en">Back at 3</note>        note, note_lang
        <timestamp>2024-05-01T09:00:00Z</timestamp> timestamp
      </tuple>
      <dm:person id="p1">
        <rpid:activities>                           availability + activities
          <rpid:busy/> <rpid:on-the-phone/> <rpid:other>coding</rpid:other>
          <ss:do-not-disturb/>
        </rpid:activities>
        <rpid:activities from="..." until="...">    meeting (calendar)
          <rpid:note>Budget review</rpid:note>      meeting.subject
          <rpid:meeting/>
          <ss:location>Room 4</ss:location>         meeting.location
        </rpid:activities>
        <rpid:activities from="..." until="...">    out_of_office
          <rpid:note>Back on Monday</rpid:note>     out_of_office.message
          <rpid:vacation/>
          <ss:out-of-office/>
        </rpid:activities>
        <ss:title>Engineer</ss:title>               title
        <ss:phone type="work">+1 555 0100</ss:phone>   work/mobile/home phones
      </dm:person>
    </presence>

Availability (the five states of the product) maps onto standard markup so
that other clients understand us:

=================  ===========  ================================================
availability       <basic>      RPID activities
=================  ===========  ================================================
available          open         (no away/busy marker)
away               open         ``<rpid:away/>``
busy               open         ``<rpid:busy/>``
do-not-disturb     open         ``<rpid:busy/>`` plus ``<ss:do-not-disturb/>``
offline            closed       (none)
=================  ===========  ================================================

A client that does not know our namespace sees do-not-disturb as busy, the
nearest standard meaning.  Because ``away`` and ``busy`` carry availability,
they never appear in :attr:`Presence.activities`.

Calendar state uses RPID's own time-bounded activities (RFC 4480,
``from``/``until``): "in a meeting until T" is an ``<rpid:activities>`` with
``until`` holding ``<rpid:meeting/>``; its ``<rpid:note>`` is the subject.
Out-of-office is an ``<rpid:activities>`` holding ``<rpid:vacation/>``, the
message as its ``<rpid:note>``, and the marker ``<ss:out-of-office/>`` that
tells it apart from an ordinary "vacation" activity.  Job title and phone
numbers have no standard PIDF element (a PIDF ``<contact>`` is the address of
one service, one per tuple, and has no work/mobile/home label), so they live
in the small sipstack extension namespace :data:`SIPSTACK_PIDF_NS`; a
``<dm:person>`` admits elements of any other namespace (RFC 4479).

Reading other clients' documents (liberal):

* Unknown elements and attributes are ignored, wherever they are.
* Several tuples: the first whose ``<basic>`` is ``open`` is used, else the
  first tuple.  The user is offline unless some tuple is open.  Note,
  timestamp, tuple id and device id come from that tuple; a missing note falls
  back to the person's ``<dm:note>``, then to a ``<note>`` of ``<presence>``; a
  missing timestamp to the person's ``<dm:timestamp>``.  Of several notes, the
  first is used.
* Activities are read from the first ``<dm:person>``, and from the chosen tuple
  and its ``<status>`` (where early RPID drafts put them).  Several
  ``<rpid:activities>`` elements are merged.  Any element in the RPID
  namespace counts as an activity token (so RFC 4480's ``lunch``, which its
  schema lacks, is understood); ``<rpid:other>`` contributes its text.
* The first ``<rpid:activities>`` with an ``until`` and a ``<rpid:meeting/>``
  is the calendar meeting.  Only ``<ss:out-of-office/>`` marks out-of-office.
* ``<im:im>busy</im:im>`` or ``away`` inside ``<status>`` (RFC 3862's
  namespace, as in RFC 3863's example) sets availability when no RPID marker
  does.
* Malformed identifiers that are not needed (tuple id, device id, xml:lang)
  are dropped; a missing or malformed ``entity`` and an unreadable timestamp
  are errors.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal
from xml.etree.ElementTree import Element

from ._errors import PresenceError, PresenceUsageError
from ._xml import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_ELEMENTS,
    DEFAULT_MAX_SIZE,
    XML_LANG,
    Node,
    check_datetime,
    clean_text,
    format_datetime,
    is_language,
    parse_datetime,
    parse_xml,
    require_text,
    serialize,
    strip_or_none,
)

__all__ = [
    "DEFAULT_MAX_TUPLES",
    "DEFAULT_TUPLE_ID",
    "PIDF_CONTENT_TYPE",
    "RPID_ACTIVITIES",
    "SIPSTACK_PIDF_NS",
    "Availability",
    "Meeting",
    "OutOfOffice",
    "Presence",
    "decode",
    "encode",
]

PIDF_CONTENT_TYPE = "application/pidf+xml"
"""The media type of :func:`encode`'s output (RFC 3863 §3.1)."""

SIPSTACK_PIDF_NS = "urn:x-sipstack:params:xml:ns:pidf-ext"
"""The namespace of sipstack's PIDF extension elements: ``title``, ``phone``,
``do-not-disturb``, ``out-of-office`` and ``location``."""

DEFAULT_TUPLE_ID = "t1"
"""The tuple id written when a document does not name one."""

DEFAULT_MAX_TUPLES = 128
"""Most ``<tuple>`` elements :func:`decode` accepts in one document."""

RPID_ACTIVITIES: frozenset[str] = frozenset(
    {
        "appointment",
        "away",
        "breakfast",
        "busy",
        "dinner",
        "holiday",
        "in-transit",
        "looking-for-work",
        "meal",
        "meeting",
        "on-the-phone",
        "performance",
        "permanent-absence",
        "playing",
        "presentation",
        "shopping",
        "sleeping",
        "spectator",
        "steering",
        "travel",
        "tv",
        "unknown",
        "vacation",
        "working",
        "worship",
    }
)
"""The activity elements of the RPID schema (RFC 4480)."""

_NS_PIDF = "urn:ietf:params:xml:ns:pidf"
_NS_DM = "urn:ietf:params:xml:ns:pidf:data-model"
_NS_RPID = "urn:ietf:params:xml:ns:pidf:rpid"
_NS_IM = "urn:ietf:params:xml:ns:pidf:im"

_PRESENCE = f"{{{_NS_PIDF}}}presence"
_TUPLE = f"{{{_NS_PIDF}}}tuple"
_STATUS = f"{{{_NS_PIDF}}}status"
_BASIC = f"{{{_NS_PIDF}}}basic"
_NOTE = f"{{{_NS_PIDF}}}note"
_TIMESTAMP = f"{{{_NS_PIDF}}}timestamp"
_IM = f"{{{_NS_IM}}}im"
_PERSON = f"{{{_NS_DM}}}person"
_DEVICE_ID = f"{{{_NS_DM}}}deviceID"
_DM_NOTE = f"{{{_NS_DM}}}note"
_DM_TIMESTAMP = f"{{{_NS_DM}}}timestamp"
_RPID_PREFIX = f"{{{_NS_RPID}}}"
_ACTIVITIES = f"{{{_NS_RPID}}}activities"
_RPID_NOTE = f"{{{_NS_RPID}}}note"
_RPID_OTHER = f"{{{_NS_RPID}}}other"
_RPID_MEETING = f"{{{_NS_RPID}}}meeting"
_SS_TITLE = f"{{{SIPSTACK_PIDF_NS}}}title"
_SS_PHONE = f"{{{SIPSTACK_PIDF_NS}}}phone"
_SS_DND = f"{{{SIPSTACK_PIDF_NS}}}do-not-disturb"
_SS_OOO = f"{{{SIPSTACK_PIDF_NS}}}out-of-office"
_SS_LOCATION = f"{{{SIPSTACK_PIDF_NS}}}location"

_NAMESPACES = {"dm": _NS_DM, "rpid": _NS_RPID, "ss": SIPSTACK_PIDF_NS}

# Written as elements.  "unknown" is excluded because the schema allows it
# only alone; like any other token it travels as <rpid:other> instead.
_ELEMENT_ACTIVITIES = RPID_ACTIVITIES - {"away", "busy", "unknown"}
_MARKERS = frozenset({"away", "busy"})

# A URI: a scheme, a colon, and no white space (RFC 3986 §3.1 for the scheme).
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")
# An approximation of xs:NCName, the type of tuple ids.
_NCNAME = re.compile(r"[^\W\d][\w.\-]*")


class Availability(StrEnum):
    """The availability a user shows (the product's five states)."""

    AVAILABLE = "available"
    AWAY = "away"
    BUSY = "busy"
    DO_NOT_DISTURB = "do-not-disturb"
    OFFLINE = "offline"


def _optional_datetime(value: object, what: str) -> _dt.datetime | None:
    return None if value is None else check_datetime(value, what)


@dataclass(frozen=True, slots=True)
class Meeting:
    """Calendar state "in a meeting until :attr:`until`".

    ``since`` and ``until`` are the meeting's times (watchers at Company level
    see them: calendar free/busy); ``subject`` and ``location`` are its
    details (Team level and above).  Times must be timezone-aware.
    """

    until: _dt.datetime
    since: _dt.datetime | None = None
    subject: str | None = None
    location: str | None = None

    def __post_init__(self) -> None:
        check_datetime(self.until, "meeting until")
        _optional_datetime(self.since, "meeting since")
        object.__setattr__(self, "subject", clean_text(self.subject, "meeting subject"))
        object.__setattr__(self, "location", clean_text(self.location, "meeting location"))


@dataclass(frozen=True, slots=True)
class OutOfOffice:
    """Out of the office, optionally for a period and with a message
    (the message is for Personal watchers only)."""

    message: str | None = None
    since: _dt.datetime | None = None
    until: _dt.datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", clean_text(self.message, "out-of-office message"))
        _optional_datetime(self.since, "out-of-office since")
        _optional_datetime(self.until, "out-of-office until")


@dataclass(frozen=True, slots=True)
class Presence:
    """One user's presence document.

    ``Presence(entity)`` alone is a user who is offline and tells nothing
    else.  Validated on construction (:class:`PresenceUsageError`): text
    must consist of characters XML 1.0 can carry (the encoder refuses rather
    than strips, so nothing is lost silently), times must be timezone-aware,
    ``entity`` must be a URI.  Normalised on construction, exactly as the
    decoder normalises what it reads: surrounding white space is removed from
    every text and an empty text becomes None.

    ``activities`` are RPID activity tokens (:data:`RPID_ACTIVITIES`, or any
    other text, which travels as ``<rpid:other>``); duplicates are dropped;
    ``away`` and ``busy`` are refused there, as ``availability`` expresses
    them.
    """

    entity: str
    availability: Availability = Availability.OFFLINE
    activities: tuple[str, ...] = ()
    note: str | None = None
    note_lang: str | None = None
    title: str | None = None
    work_phone: str | None = None
    mobile_phone: str | None = None
    home_phone: str | None = None
    meeting: Meeting | None = None
    out_of_office: OutOfOffice | None = None
    timestamp: _dt.datetime | None = None
    tuple_id: str = DEFAULT_TUPLE_ID
    device_id: str | None = None

    def __post_init__(self) -> None:
        entity = require_text(self.entity, "entity")
        if _URI.fullmatch(entity) is None:
            raise PresenceUsageError(f"entity {entity[:60]!r} is not a URI")
        object.__setattr__(self, "entity", entity)
        try:
            object.__setattr__(self, "availability", Availability(self.availability))
        except ValueError:
            raise PresenceUsageError(f"unknown availability {self.availability!r}") from None
        if isinstance(self.activities, str):
            raise PresenceUsageError("activities must be a sequence of tokens, not a str")
        try:
            given = tuple(self.activities)
        except TypeError:
            raise PresenceUsageError("activities must be a sequence of tokens") from None
        # A dict keeps the order and drops duplicates in linear time; the
        # decoder can hand over thousands of tokens.
        activities: dict[str, None] = {}
        for item in given:
            token = require_text(item, "activity")
            if token in _MARKERS:
                raise PresenceUsageError(
                    f"activity {token!r} is expressed by availability, not by activities"
                )
            activities[token] = None
        object.__setattr__(self, "activities", tuple(activities))
        note = clean_text(self.note, "note")
        object.__setattr__(self, "note", note)
        lang = clean_text(self.note_lang, "note_lang")
        if lang is not None and not is_language(lang):
            raise PresenceUsageError(f"note_lang {lang!r} is not a language tag")
        # A language without a note would be lost on the wire.
        object.__setattr__(self, "note_lang", lang if note is not None else None)
        object.__setattr__(self, "title", clean_text(self.title, "title"))
        for name in ("work_phone", "mobile_phone", "home_phone"):
            object.__setattr__(self, name, clean_text(getattr(self, name), name))
        if self.meeting is not None and not isinstance(self.meeting, Meeting):
            raise PresenceUsageError("meeting must be a Meeting")
        if self.out_of_office is not None and not isinstance(self.out_of_office, OutOfOffice):
            raise PresenceUsageError("out_of_office must be an OutOfOffice")
        _optional_datetime(self.timestamp, "timestamp")
        tuple_id = require_text(self.tuple_id, "tuple_id")
        if _NCNAME.fullmatch(tuple_id) is None:
            raise PresenceUsageError(f"tuple_id {tuple_id!r} is not an XML name")
        object.__setattr__(self, "tuple_id", tuple_id)
        device_id = clean_text(self.device_id, "device_id")
        if device_id is not None and any(c.isspace() for c in device_id):
            raise PresenceUsageError("device_id must not contain white space")
        object.__setattr__(self, "device_id", device_id)

    @property
    def basic(self) -> Literal["open", "closed"]:
        """The PIDF ``<basic>`` status: ``closed`` exactly when offline."""
        return "closed" if self.availability is Availability.OFFLINE else "open"


# ---------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------


def _lang_attrs(lang: str | None) -> list[tuple[str, str]]:
    return [] if lang is None else [("xml:lang", lang)]


def _period_attrs(since: _dt.datetime | None, until: _dt.datetime | None) -> list[tuple[str, str]]:
    attrs = []
    if since is not None:
        attrs.append(("from", format_datetime(since)))
    if until is not None:
        attrs.append(("until", format_datetime(until)))
    return attrs


def _activity_node(token: str) -> Node:
    if token in _ELEMENT_ACTIVITIES:
        return Node(f"rpid:{token}")
    return Node("rpid:other", text=token)


def _person_children(doc: Presence) -> list[Node]:
    children: list[Node] = []
    current: list[Node] = []
    if doc.availability is Availability.AWAY:
        current.append(Node("rpid:away"))
    elif doc.availability in (Availability.BUSY, Availability.DO_NOT_DISTURB):
        current.append(Node("rpid:busy"))
    current.extend(_activity_node(token) for token in doc.activities)
    if doc.availability is Availability.DO_NOT_DISTURB:
        current.append(Node("ss:do-not-disturb"))
    if current:
        children.append(Node("rpid:activities", children=current))
    meeting = doc.meeting
    if meeting is not None:
        # RPID's schema puts <note> before the activity elements.
        inner = [] if meeting.subject is None else [Node("rpid:note", text=meeting.subject)]
        inner.append(Node("rpid:meeting"))
        if meeting.location is not None:
            inner.append(Node("ss:location", text=meeting.location))
        children.append(Node("rpid:activities", _period_attrs(meeting.since, meeting.until), inner))
    ooo = doc.out_of_office
    if ooo is not None:
        inner = [] if ooo.message is None else [Node("rpid:note", text=ooo.message)]
        inner += [Node("rpid:vacation"), Node("ss:out-of-office")]
        children.append(Node("rpid:activities", _period_attrs(ooo.since, ooo.until), inner))
    if doc.title is not None:
        children.append(Node("ss:title", text=doc.title))
    for kind, number in (
        ("work", doc.work_phone),
        ("mobile", doc.mobile_phone),
        ("home", doc.home_phone),
    ):
        if number is not None:
            children.append(Node("ss:phone", [("type", kind)], text=number))
    return children


def _prefixes(node: Node, found: set[str]) -> set[str]:
    prefix, colon, _ = node.tag.partition(":")
    if colon:
        found.add(prefix)
    for child in node.children:
        _prefixes(child, found)
    return found


def encode(doc: Presence) -> bytes:
    """Write *doc* as a UTF-8 ``application/pidf+xml`` body.

    The output is deterministic: equal documents give equal bytes.
    Namespaces are declared only when used, so an offline document with no
    details is the plain RFC 3863 minimum.
    """
    if not isinstance(doc, Presence):
        raise PresenceUsageError(f"encode() takes a Presence, not {type(doc).__name__}")
    tuple_children = [Node("status", children=[Node("basic", text=doc.basic)])]
    if doc.device_id is not None:
        tuple_children.append(Node("dm:deviceID", text=doc.device_id))
    if doc.note is not None:
        tuple_children.append(Node("note", _lang_attrs(doc.note_lang), text=doc.note))
    if doc.timestamp is not None:
        tuple_children.append(Node("timestamp", text=format_datetime(doc.timestamp)))
    children = [Node("tuple", [("id", doc.tuple_id)], tuple_children)]
    person = _person_children(doc)
    if person:
        person_id = "p1" if doc.tuple_id != "p1" else "p2"
        children.append(Node("dm:person", [("id", person_id)], person))
    root = Node("presence", [("xmlns", _NS_PIDF)], children)
    used: set[str] = set()
    for child in children:
        _prefixes(child, used)
    root.attrs += [(f"xmlns:{p}", ns) for p, ns in _NAMESPACES.items() if p in used]
    root.attrs.append(("entity", doc.entity))
    return serialize(root)


# ---------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------


def _children(element: Element, tag: str) -> list[Element]:
    return [child for child in element if child.tag == tag]


def _first(element: Element | None, tag: str) -> Element | None:
    if element is None:
        return None
    for child in element:
        if child.tag == tag:
            return child
    return None


def _basic(tuple_: Element) -> str | None:
    basic = _first(_first(tuple_, _STATUS), _BASIC)
    text = strip_or_none(basic.text) if basic is not None else None
    return text.lower() if text is not None else None


def _choose_tuple(tuples: list[Element]) -> Element | None:
    for tuple_ in tuples:
        if _basic(tuple_) == "open":
            return tuple_
    return tuples[0] if tuples else None


def _text(element: Element | None) -> str | None:
    return None if element is None else strip_or_none(element.text)


def _datetime_attr(element: Element, name: str) -> _dt.datetime | None:
    value = element.get(name)
    return None if value is None else parse_datetime(value, f"<activities {name}>")


@dataclass(slots=True)
class _Activities:
    tokens: dict[str, None]  # ordered set
    markers: set[str]
    meeting: Meeting | None = None
    out_of_office: OutOfOffice | None = None

    def add(self, token: str | None) -> None:
        if token is None:
            return
        if token in _MARKERS:
            self.markers.add(token)
        else:
            self.tokens[token] = None

    def add_children(self, children: list[Element]) -> None:
        for child in children:
            if child.tag == _SS_DND:
                self.markers.add("do-not-disturb")
            elif child.tag == _RPID_OTHER:
                self.add(strip_or_none(child.text))
            elif child.tag.startswith(_RPID_PREFIX) and child.tag != _RPID_NOTE:
                self.add(child.tag[len(_RPID_PREFIX) :])


def _read_activities(elements: list[Element]) -> _Activities:
    found = _Activities(tokens={}, markers=set())
    for element in elements:
        children = list(element)
        tags = {child.tag for child in children}
        if found.out_of_office is None and _SS_OOO in tags:
            found.out_of_office = OutOfOffice(
                message=_text(_first(element, _RPID_NOTE)),
                since=_datetime_attr(element, "from"),
                until=_datetime_attr(element, "until"),
            )
            continue
        until = _datetime_attr(element, "until")
        if found.meeting is None and until is not None and _RPID_MEETING in tags:
            found.meeting = Meeting(
                until=until,
                since=_datetime_attr(element, "from"),
                subject=_text(_first(element, _RPID_NOTE)),
                location=_text(_first(element, _SS_LOCATION)),
            )
            children = [child for child in children if child.tag != _RPID_MEETING]
        found.add_children(children)
    return found


def _availability(chosen: Element | None, markers: set[str]) -> Availability:
    if chosen is None or _basic(chosen) != "open":
        return Availability.OFFLINE
    if "do-not-disturb" in markers:
        return Availability.DO_NOT_DISTURB
    if "busy" in markers:
        return Availability.BUSY
    if "away" in markers:
        return Availability.AWAY
    im = _first(_first(chosen, _STATUS), _IM)
    text = strip_or_none(im.text) if im is not None else None
    if text is not None and text.lower() in ("busy", "away"):
        return Availability(text.lower())
    return Availability.AVAILABLE


def _note(chosen: Element | None, person: Element | None, root: Element) -> Element | None:
    for candidate in (_first(chosen, _NOTE), _first(person, _DM_NOTE), _first(root, _NOTE)):
        if _text(candidate) is not None:
            return candidate
    return None


def decode(
    data: bytes,
    *,
    max_size: int = DEFAULT_MAX_SIZE,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_tuples: int = DEFAULT_MAX_TUPLES,
) -> Presence:
    """Read an ``application/pidf+xml`` body (see the module documentation
    for how other clients' documents are understood).

    Raises :class:`PresenceError`, and nothing else, for any body it cannot
    accept.
    """
    root = parse_xml(
        data, what="PIDF", max_size=max_size, max_elements=max_elements, max_depth=max_depth
    )
    try:
        return _presence_from(root, max_tuples)
    except PresenceUsageError as exc:
        # A value the model refuses came from the peer: that is bad input,
        # not misuse by the local program.
        raise PresenceError(f"PIDF document not acceptable: {exc}") from None


def _presence_from(root: Element, max_tuples: int) -> Presence:
    if root.tag != _PRESENCE:
        raise PresenceError(f"PIDF root element is {root.tag[:80]!r}, not <presence>")
    entity = strip_or_none(root.get("entity"))
    if entity is None:
        raise PresenceError("PIDF <presence> has no entity")
    tuples = _children(root, _TUPLE)
    if len(tuples) > max_tuples:
        raise PresenceError(f"PIDF body has more than {max_tuples} tuples")
    chosen = _choose_tuple(tuples)
    person = _first(root, _PERSON)

    activity_elements = _children(person, _ACTIVITIES) if person is not None else []
    if chosen is not None:
        activity_elements += _children(chosen, _ACTIVITIES)
        status = _first(chosen, _STATUS)
        if status is not None:
            activity_elements += _children(status, _ACTIVITIES)
    activities = _read_activities(activity_elements)

    note_element = _note(chosen, person, root)
    note_lang = strip_or_none(note_element.get(XML_LANG)) if note_element is not None else None
    if note_lang is not None and not is_language(note_lang):
        note_lang = None

    timestamp_element = _first(chosen, _TIMESTAMP)
    if timestamp_element is None:
        timestamp_element = _first(person, _DM_TIMESTAMP)
    timestamp = None
    if timestamp_element is not None:
        timestamp = parse_datetime(timestamp_element.text or "", "PIDF <timestamp>")

    phones: dict[str, str] = {}
    for phone in _children(person, _SS_PHONE) if person is not None else []:
        kind = (phone.get("type") or "").strip().lower()
        number = strip_or_none(phone.text)
        if number is not None and kind in ("work", "mobile", "home"):
            phones.setdefault(kind, number)

    tuple_id = strip_or_none(chosen.get("id")) if chosen is not None else None
    if tuple_id is None or _NCNAME.fullmatch(tuple_id) is None:
        tuple_id = DEFAULT_TUPLE_ID
    device_id = _text(_first(chosen, _DEVICE_ID))
    if device_id is not None and any(c.isspace() for c in device_id):
        device_id = None

    return Presence(
        entity=entity,
        availability=_availability(chosen, activities.markers),
        activities=tuple(activities.tokens),
        note=_text(note_element),
        note_lang=note_lang,
        title=_text(_first(person, _SS_TITLE)),
        work_phone=phones.get("work"),
        mobile_phone=phones.get("mobile"),
        home_phone=phones.get("home"),
        meeting=activities.meeting,
        out_of_office=activities.out_of_office,
        timestamp=timestamp,
        tuple_id=tuple_id,
        device_id=device_id,
    )
