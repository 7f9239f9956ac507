"""Presence bodies: PIDF/RPID (RFC 3863, RFC 4480), access-level filtering,
watcher information (RFC 3857/3858) and is-composing (RFC 3994).

Round trips and the "any bytes give a document or PresenceError" contract are
Hypothesis properties; the RFCs' own examples check that we read what other
implementations write; the safety cases are the classic XML attacks."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sipstack.errors import SIPParseError, SIPUsageError
from sipstack.presence import (
    DEFAULT_MAX_SIZE,
    DEFAULT_TUPLE_ID,
    ISCOMPOSING_CONTENT_TYPE,
    PIDF_CONTENT_TYPE,
    RPID_ACTIVITIES,
    VISIBILITY,
    WATCHERINFO_CONTENT_TYPE,
    AccessLevel,
    Availability,
    ComposingState,
    IsComposing,
    Meeting,
    OutOfOffice,
    Presence,
    PresenceError,
    PresenceItem,
    PresenceUsageError,
    Watcher,
    WatcherEvent,
    WatcherInfo,
    WatcherInfoState,
    WatcherList,
    WatcherStatus,
    _access,
    decode,
    decode_iscomposing,
    decode_watcherinfo,
    encode,
    encode_iscomposing,
    encode_watcherinfo,
    filter_for,
    visible_items,
)

UTC = dt.UTC

# ---------------------------------------------------------------------------
# Test data: documents as other implementations write them
# ---------------------------------------------------------------------------

# RFC 3863's full example: two open tuples, a status extension from RFC 3862
# (im:im), notes in two languages, a timestamp and a note on <presence>.
RFC3863_EXAMPLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf"
    xmlns:im="urn:ietf:params:xml:ns:pidf:im"
    xmlns:myex="http://id.example.com/presence/"
    entity="pres:someone@example.com">
  <tuple id="bs35r9">
    <status>
      <basic>open</basic>
      <im:im>busy</im:im>
      <myex:location>home</myex:location>
    </status>
    <contact priority="0.8">im:someone@mobilecarrier.net</contact>
    <note xml:lang="en">Don't Disturb Please!</note>
    <note xml:lang="fr">Ne derangez pas, s'il vous plait</note>
    <timestamp>2001-10-27T16:49:29Z</timestamp>
  </tuple>
  <tuple id="eg92n8">
    <status>
      <basic>open</basic>
    </status>
    <contact priority="1.0">mailto:someone@example.com</contact>
  </tuple>
  <note>I'll be in Tokyo next week</note>
</presence>
"""

# RFC 3863's namespace example: the PIDF namespace bound to a prefix.
RFC3863_PREFIXED = b"""<?xml version="1.0" encoding="UTF-8"?>
<impp:presence xmlns:impp="urn:ietf:params:xml:ns:pidf"
    entity="pres:someone@example.com">
  <impp:tuple id="mobile-im">
    <impp:status>
      <impp:basic>open</impp:basic>
    </impp:status>
    <impp:contact priority="0.8">tel:+09012345678</impp:contact>
  </impp:tuple>
</impp:presence>
"""

# RFC 4480's example: device, person and several tuples, and a person whose
# "away" activity is bounded by from/until, with a mood, place and so on.
RFC4480_EXAMPLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf"
     xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
     xmlns:lt="urn:ietf:params:xml:ns:location-type"
     xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"
     entity="pres:someone@example.com">

  <tuple id="bs35r9">
    <status>
      <basic>open</basic>
    </status>
    <dm:deviceID>urn:device:0003ba4811e3</dm:deviceID>
    <rpid:relationship><rpid:self/></rpid:relationship>
    <rpid:service-class><rpid:electronic/></rpid:service-class>
    <contact priority="0.8">im:someone@mobile.example.net</contact>
    <note xml:lang="en">Don't Disturb Please!</note>
    <note xml:lang="fr">Ne derangez pas, s'il vous plait</note>
    <timestamp>2005-10-27T16:49:29Z</timestamp>
  </tuple>

  <tuple id="ty4658">
    <status>
      <basic>open</basic>
    </status>
    <rpid:relationship><rpid:assistant/></rpid:relationship>
    <contact priority="1.0">mailto:secretary@example.com</contact>
  </tuple>

  <tuple id="eg92n8">
    <status>
      <basic>open</basic>
    </status>
    <dm:deviceID>urn:x-mac:0003ba4811e3</dm:deviceID>
    <rpid:class>email</rpid:class>
    <rpid:service-class><rpid:electronic/></rpid:service-class>
    <rpid:status-icon>http://example.com/mail.png</rpid:status-icon>
    <contact priority="1.0">mailto:someone@example.com</contact>
  </tuple>

  <note>I'll be in Tokyo next week</note>

  <dm:device id="pc147">
    <rpid:user-input idle-threshold="600"
      last-input="2004-10-21T13:20:00.000-05:00">idle</rpid:user-input>
    <dm:deviceID>urn:device:0003ba4811e3</dm:deviceID>
    <dm:note xml:lang="en">PC</dm:note>
  </dm:device>

  <dm:person id="p1">
    <rpid:activities from="2005-05-30T12:00:00+05:00"
      until="2005-05-30T17:00:00+05:00">
      <rpid:note>Far away</rpid:note>
      <rpid:away/>
    </rpid:activities>
    <rpid:class>calendar</rpid:class>
    <rpid:mood>
      <rpid:angry/>
      <rpid:other>brooding</rpid:other>
    </rpid:mood>
    <rpid:place-is>
      <rpid:audio>
        <rpid:noisy/>
      </rpid:audio>
    </rpid:place-is>
    <rpid:place-type><lt:residence/></rpid:place-type>
    <rpid:privacy><rpid:unknown/></rpid:privacy>
    <rpid:sphere>bowling league</rpid:sphere>
    <rpid:status-icon>http://example.com/play.gif</rpid:status-icon>
    <rpid:time-offset>-240</rpid:time-offset>
    <dm:note>Scoring 120</dm:note>
    <dm:timestamp>2005-05-30T16:09:44+05:00</dm:timestamp>
  </dm:person>
</presence>
"""

# RFC 4479's example of a person "on the phone" (the RFC omits the entity,
# which RFC 3863 requires; it is added here).
RFC4479_EXAMPLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf"
    xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
    xmlns:rp="urn:ietf:params:xml:ns:pidf:rpid"
    xmlns:caps="urn:ietf:params:xml:ns:pidf:caps"
    entity="pres:someone@example.com">
  <tuple id="sg89ae">
    <status>
      <basic>open</basic>
    </status>
    <dm:deviceID>mac:8asd7d7d70</dm:deviceID>
    <caps:servcaps>
      <caps:methods>
        <caps:supported><caps:MESSAGE/><caps:OPTIONS/></caps:supported>
      </caps:methods>
    </caps:servcaps>
    <contact>sip:someone@example.com</contact>
  </tuple>
  <dm:person id="p1">
    <rp:activities>
      <rp:on-the-phone/>
    </rp:activities>
  </dm:person>
  <dm:device id="pc122">
    <rp:user-input>idle</rp:user-input>
    <dm:deviceID>mac:8asd7d7d70</dm:deviceID>
  </dm:device>
</presence>
"""

# RFC 3858's example watcher-info document.
RFC3858_EXAMPLE = b"""<?xml version="1.0"?>
<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo"
             version="0" state="full">
  <watcher-list resource="sip:professor@example.net" package="presence">
    <watcher status="active"
             id="8ajksjda7s"
             duration-subscribed="509"
             event="approved" >sip:userA@example.net</watcher>
    <watcher status="pending"
             id="hh8juja87s997-ass7"
             display-name="Mr. Subscriber"
             event="subscribe">sip:userB@example.org</watcher>
  </watcher-list>
</watcherinfo>
"""

# RFC 3994's examples: an idle indication and an active one.
RFC3994_IDLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="urn:ietf:params:xml:ns:im-composing iscomposing.xsd">
  <state>idle</state>
  <lastactive>2003-01-27T10:43:00Z</lastactive>
  <contenttype>audio</contenttype>
</isComposing>
"""

RFC3994_ACTIVE = b"""<?xml version="1.0" encoding="UTF-8"?>
<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="urn:ietf:params:xml:ns:im-composing iscomposing.xsd">
  <state>active</state>
  <contenttype>text/html</contenttype>
  <refresh>90</refresh>
</isComposing>
"""

DECODERS: list[tuple[str, Callable[..., Any], type]] = [
    ("pidf", decode, Presence),
    ("watcherinfo", decode_watcherinfo, WatcherInfo),
    ("iscomposing", decode_iscomposing, IsComposing),
]
DECODER_IDS = [name for name, _, _ in DECODERS]

VALID_BODIES = {
    "pidf": RFC4480_EXAMPLE,
    "watcherinfo": RFC3858_EXAMPLE,
    "iscomposing": RFC3994_IDLE,
}


def pidf(person: str = "", tuples: str | None = None, extra_ns: str = "") -> bytes:
    """A PIDF document around the given tuple and person markup."""
    if tuples is None:
        tuples = '<tuple id="a"><status><basic>open</basic></status></tuple>'
    person_xml = f'<dm:person id="p">{person}</dm:person>' if person else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<presence xmlns="urn:ietf:params:xml:ns:pidf"'
        ' xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"'
        ' xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"'
        ' xmlns:ss="urn:x-sipstack:params:xml:ns:pidf-ext"'
        f' {extra_ns} entity="sip:bob@example.com">{tuples}{person_xml}</presence>'
    ).encode()


# ---------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------


def _is_xml_char(c: str) -> bool:
    o = ord(c)
    return c in "\t\n\r" or 0x20 <= o <= 0xD7FF or 0xE000 <= o <= 0xFFFD or 0x10000 <= o <= 0x10FFFF


xml_chars = st.one_of(
    st.characters(exclude_categories=["Cs"]).filter(_is_xml_char),
    # The characters markup gives a meaning to, and white space.
    st.sampled_from(list("<>&\"'\r\n\t ;#]")),
    # Outside the Basic Multilingual Plane (emoji, private use plane 16).
    st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF),
)
texts = st.text(xml_chars, max_size=30)
optional_texts = st.none() | texts
# Values the model keeps as given: non-empty, no surrounding white space.
tokens = texts.map(str.strip).filter(bool)
no_space = st.text(xml_chars.filter(lambda c: not c.isspace()), min_size=1, max_size=20)
entities = st.builds(lambda user, host: f"sip:{user}@{host}", no_space, no_space)
langs = st.from_regex(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8}){0,2}", fullmatch=True)
offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
times = st.datetimes(
    min_value=dt.datetime(2, 1, 1), max_value=dt.datetime(9998, 12, 31), timezones=offsets
)
activity_tokens = st.sampled_from(sorted(RPID_ACTIVITIES - {"away", "busy"})) | tokens.filter(
    lambda t: t not in ("away", "busy")
)
meetings = st.builds(
    Meeting,
    until=times,
    since=st.none() | times,
    subject=optional_texts,
    location=optional_texts,
)
out_of_offices = st.builds(
    OutOfOffice, message=optional_texts, since=st.none() | times, until=st.none() | times
)
presences = st.builds(
    Presence,
    entity=entities,
    availability=st.sampled_from(Availability),
    activities=st.lists(activity_tokens, max_size=5).map(tuple),
    note=optional_texts,
    note_lang=st.none() | langs,
    title=optional_texts,
    work_phone=optional_texts,
    mobile_phone=optional_texts,
    home_phone=optional_texts,
    meeting=st.none() | meetings,
    out_of_office=st.none() | out_of_offices,
    timestamp=st.none() | times,
    tuple_id=st.from_regex(r"[A-Za-z_][A-Za-z0-9._-]{0,10}", fullmatch=True),
    device_id=st.none() | no_space,
)
unsigned = st.integers(0, 2**64 - 1)
watchers = st.builds(
    Watcher,
    uri=tokens,
    id=tokens,
    status=st.sampled_from(WatcherStatus),
    event=st.sampled_from(WatcherEvent) | tokens,
    display_name=optional_texts,
    lang=st.none() | langs,
    expiration=st.none() | unsigned,
    duration_subscribed=st.none() | unsigned,
)
watcher_infos = st.builds(
    WatcherInfo,
    version=unsigned,
    state=st.sampled_from(WatcherInfoState),
    lists=st.lists(
        st.builds(
            WatcherList,
            resource=tokens,
            package=tokens,
            watchers=st.lists(watchers, max_size=4).map(tuple),
        ),
        max_size=3,
    ).map(tuple),
)
is_composings = st.builds(
    IsComposing,
    state=st.sampled_from(ComposingState),
    last_active=st.none() | times,
    content_type=optional_texts,
    refresh=st.none() | st.integers(1, 2**31 - 1),
)

# ---------------------------------------------------------------------------
# PIDF: round trips and our own encoding
# ---------------------------------------------------------------------------


@given(presences)
def test_pidf_round_trip(doc: Presence) -> None:
    assert decode(encode(doc)) == doc


@given(presences)
def test_pidf_encoding_is_deterministic_utf8(doc: Presence) -> None:
    body = encode(doc)
    assert body == encode(dataclasses.replace(doc))
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    body.decode("utf-8")


@given(texts)
def test_pidf_text_survives_exactly_apart_from_surrounding_space(text: str) -> None:
    doc = Presence("sip:a@example.com", Availability.AVAILABLE, note=text, title=text)
    again = decode(encode(doc))
    assert again.note == (text.strip() or None)
    assert again.title == (text.strip() or None)


def test_pidf_escapes_markup_and_keeps_carriage_returns() -> None:
    note = "a<b>&c\"d'e\r\nf]]>g \U0001f600"
    body = encode(Presence("sip:a@example.com", Availability.AVAILABLE, note=note))
    assert b"<b>" not in body and b"&c" not in body
    assert b"&#13;" in body
    assert decode(body).note == note


def test_offline_document_is_the_rfc3863_minimum() -> None:
    body = encode(Presence("sip:alice@example.com"))
    assert body == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com">\n'
        b'  <tuple id="t1">\n'
        b"    <status>\n"
        b"      <basic>closed</basic>\n"
        b"    </status>\n"
        b"  </tuple>\n"
        b"</presence>\n"
    )
    assert PIDF_CONTENT_TYPE == "application/pidf+xml"


@pytest.mark.parametrize(
    ("availability", "basic", "present", "absent"),
    [
        (Availability.AVAILABLE, "open", [], [b"<rpid:away/>", b"<rpid:busy/>", b"do-not"]),
        (Availability.AWAY, "open", [b"<rpid:away/>"], [b"<rpid:busy/>", b"do-not"]),
        (Availability.BUSY, "open", [b"<rpid:busy/>"], [b"<rpid:away/>", b"do-not"]),
        (
            Availability.DO_NOT_DISTURB,
            "open",
            [b"<rpid:busy/>", b"<ss:do-not-disturb/>"],
            [b"<rpid:away/>"],
        ),
        (Availability.OFFLINE, "closed", [], [b"<rpid:away/>", b"<rpid:busy/>", b"do-not"]),
    ],
)
def test_availability_mapping(
    availability: Availability, basic: str, present: list[bytes], absent: list[bytes]
) -> None:
    doc = Presence("sip:alice@example.com", availability)
    assert doc.basic == basic
    body = encode(doc)
    assert f"<basic>{basic}</basic>".encode() in body
    for fragment in present:
        assert fragment in body
    for fragment in absent:
        assert fragment not in body
    assert decode(body).availability is availability


def test_rich_fields_use_rpid_and_the_extension_namespace() -> None:
    doc = Presence(
        "sip:alice@example.com",
        Availability.BUSY,
        activities=("on-the-phone", "coding", "unknown"),
        title="Engineer",
        work_phone="+1 555 0100",
        mobile_phone="+1 555 0101",
        home_phone="+1 555 0102",
        meeting=Meeting(
            until=dt.datetime(2024, 5, 1, 10, tzinfo=UTC),
            since=dt.datetime(2024, 5, 1, 9, tzinfo=UTC),
            subject="Budget",
            location="Room 4",
        ),
        out_of_office=OutOfOffice("Back Monday", until=dt.datetime(2024, 5, 6, tzinfo=UTC)),
    )
    body = encode(doc).decode()
    assert "<rpid:on-the-phone/>" in body
    assert "<rpid:other>coding</rpid:other>" in body
    # The schema allows <rpid:unknown/> only alone, so it travels as text.
    assert "<rpid:other>unknown</rpid:other>" in body
    assert '<rpid:activities from="2024-05-01T09:00:00Z" until="2024-05-01T10:00:00Z">' in body
    assert "<rpid:note>Budget</rpid:note>" in body
    assert "<rpid:meeting/>" in body
    assert "<ss:location>Room 4</ss:location>" in body
    assert '<rpid:activities until="2024-05-06T00:00:00Z">' in body
    assert "<rpid:vacation/>" in body and "<ss:out-of-office/>" in body
    assert "<ss:title>Engineer</ss:title>" in body
    assert '<ss:phone type="work">+1 555 0100</ss:phone>' in body
    assert '<ss:phone type="mobile">+1 555 0101</ss:phone>' in body
    assert '<ss:phone type="home">+1 555 0102</ss:phone>' in body
    assert decode(body.encode()) == doc


def test_timestamps_are_written_in_utc() -> None:
    local = dt.timezone(dt.timedelta(hours=5, minutes=30))
    doc = Presence(
        "sip:a@example.com", timestamp=dt.datetime(2024, 1, 1, 5, 30, 0, 250, tzinfo=local)
    )
    assert b"<timestamp>2024-01-01T00:00:00.000250Z</timestamp>" in encode(doc)
    assert decode(encode(doc)).timestamp == doc.timestamp


def test_activity_vacation_is_not_out_of_office_and_meeting_needs_until() -> None:
    doc = Presence("sip:a@example.com", Availability.AVAILABLE, activities=("vacation", "meeting"))
    again = decode(encode(doc))
    assert again.activities == ("vacation", "meeting")
    assert again.meeting is None and again.out_of_office is None


# ---------------------------------------------------------------------------
# PIDF: validation and normalisation on construction
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["\x00", "\x08", "\x0b", "\x1f", "\ufffe", "\uffff", "\ud800"])
@pytest.mark.parametrize(
    "field", ["note", "title", "work_phone", "mobile_phone", "home_phone", "device_id"]
)
def test_characters_xml_cannot_carry_are_refused(bad: str, field: str) -> None:
    with pytest.raises(PresenceUsageError) as info:
        kwargs: dict[str, Any] = {field: f"x{bad}y"}
        Presence("sip:a@example.com", **kwargs)
    assert isinstance(info.value, PresenceError)
    assert isinstance(info.value, SIPUsageError)


@given(texts, st.sampled_from([chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"]))
def test_any_text_with_an_unencodable_character_is_refused(text: str, bad: str) -> None:
    position = len(text) // 2
    value = text[:position] + bad + text[position:]
    for build in (
        lambda: Presence("sip:a@example.com", note=value),
        lambda: Presence("sip:a@example.com", activities=(value,)),
        lambda: Meeting(until=dt.datetime(2024, 1, 1, tzinfo=UTC), subject=value),
        lambda: OutOfOffice(message=value),
        lambda: Watcher(uri="sip:a@b", id="1", status=WatcherStatus.ACTIVE, display_name=value),
        lambda: IsComposing(content_type=value),
    ):
        with pytest.raises(PresenceUsageError):
            build()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"entity": ""},
        {"entity": "   "},
        {"entity": "alice at example.com"},
        {"entity": "sip:alice @example.com"},
        {"availability": "lunching"},
        {"activities": ("busy",)},
        {"activities": ("away",)},
        {"activities": "meeting"},
        {"activities": ("",)},
        {"note": "x", "note_lang": "not a tag"},
        {"timestamp": dt.datetime(2024, 1, 1)},
        {"timestamp": "2024-01-01T00:00:00Z"},
        {"tuple_id": "1abc"},
        {"tuple_id": "a b"},
        {"device_id": "urn:a b"},
        {"meeting": "tomorrow"},
        {"out_of_office": True},
        {"note": 42},
    ],
)
def test_bad_documents_are_refused_on_construction(kwargs: dict[str, Any]) -> None:
    kwargs = {"entity": "sip:alice@example.com", **kwargs}
    with pytest.raises(PresenceUsageError):
        Presence(**kwargs)


def test_naive_and_unrepresentable_times_are_refused() -> None:
    with pytest.raises(PresenceUsageError):
        Meeting(until=dt.datetime(2024, 1, 1))
    with pytest.raises(PresenceUsageError):
        OutOfOffice(since=dt.datetime(2024, 1, 1))
    # Midnight on 1 January of year 1 at +14:00 is before year 1 in UTC.
    early = dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=14)))
    with pytest.raises(PresenceUsageError):
        Presence("sip:a@example.com", timestamp=early)


def test_normalisation() -> None:
    doc = Presence(
        "  sip:a@example.com ",
        "away",  # type: ignore[arg-type]
        activities=["meeting", " meeting ", "tv"],  # type: ignore[arg-type]
        note="  hello \n",
        note_lang="en",
        title="",
        work_phone=" +1 555 ",
    )
    assert doc.entity == "sip:a@example.com"
    assert doc.availability is Availability.AWAY
    assert doc.activities == ("meeting", "tv")
    assert doc.note == "hello"
    assert doc.title is None
    assert doc.work_phone == "+1 555"
    # A language without a note would be lost on the wire.
    assert Presence("sip:a@example.com", note="", note_lang="en").note_lang is None


def test_encoders_refuse_other_types() -> None:
    with pytest.raises(PresenceUsageError):
        encode("not a document")  # type: ignore[arg-type]
    with pytest.raises(PresenceUsageError):
        encode_watcherinfo(Presence("sip:a@example.com"))  # type: ignore[arg-type]
    with pytest.raises(PresenceUsageError):
        encode_iscomposing(None)  # type: ignore[arg-type]
    with pytest.raises(PresenceUsageError):
        decode("<presence/>")  # type: ignore[arg-type]


def test_documents_are_frozen_and_slotted() -> None:
    doc = Presence("sip:a@example.com")
    with pytest.raises(dataclasses.FrozenInstanceError):
        doc.note = "x"  # type: ignore[misc]
    assert not hasattr(doc, "__dict__")
    assert hash(doc) == hash(Presence("sip:a@example.com"))


# ---------------------------------------------------------------------------
# PIDF: reading other implementations' documents
# ---------------------------------------------------------------------------


def test_rfc3863_example() -> None:
    doc = decode(RFC3863_EXAMPLE)
    assert doc == Presence(
        entity="pres:someone@example.com",
        # <basic>open</basic> with RFC 3862's <im:im>busy</im:im>
        availability=Availability.BUSY,
        note="Don't Disturb Please!",
        note_lang="en",
        timestamp=dt.datetime(2001, 10, 27, 16, 49, 29, tzinfo=UTC),
        tuple_id="bs35r9",
    )


def test_rfc3863_prefixed_example() -> None:
    doc = decode(RFC3863_PREFIXED)
    assert doc.entity == "pres:someone@example.com"
    assert doc.availability is Availability.AVAILABLE
    assert doc.tuple_id == "mobile-im"


def test_rfc4480_example() -> None:
    doc = decode(RFC4480_EXAMPLE)
    assert doc == Presence(
        entity="pres:someone@example.com",
        availability=Availability.AWAY,
        note="Don't Disturb Please!",
        note_lang="en",
        timestamp=dt.datetime(2005, 10, 27, 16, 49, 29, tzinfo=UTC),
        tuple_id="bs35r9",
        device_id="urn:device:0003ba4811e3",
    )


def test_rfc4479_example() -> None:
    doc = decode(RFC4479_EXAMPLE)
    assert doc.availability is Availability.AVAILABLE
    assert doc.activities == ("on-the-phone",)
    assert doc.device_id == "mac:8asd7d7d70"


def test_first_open_tuple_wins() -> None:
    tuples = (
        '<tuple id="closed1"><status><basic>closed</basic></status>'
        "<note>gone</note></tuple>"
        '<tuple id="open1"><status><basic> OPEN </basic></status>'
        "<note>here</note><timestamp>2020-02-29T23:59:59.1234567-01:00</timestamp></tuple>"
        '<tuple id="open2"><status><basic>open</basic></status><note>too</note></tuple>'
    )
    doc = decode(pidf(tuples=tuples))
    assert doc.availability is Availability.AVAILABLE
    assert (doc.tuple_id, doc.note) == ("open1", "here")
    assert doc.timestamp == dt.datetime(2020, 3, 1, 0, 59, 59, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    "tuples",
    [
        "",
        '<tuple id="a"><status><basic>closed</basic></status></tuple>',
        '<tuple id="a"><status/></tuple>',
        '<tuple id="a"><status><basic>maybe</basic></status></tuple>',
    ],
)
def test_offline_unless_a_tuple_is_open(tuples: str) -> None:
    doc = decode(pidf("<rpid:activities><rpid:busy/></rpid:activities>", tuples=tuples))
    assert doc.availability is Availability.OFFLINE
    assert doc.basic == "closed"


def test_notes_and_timestamps_fall_back_to_person_and_document() -> None:
    doc = decode(
        pidf("<dm:note>person note</dm:note><dm:timestamp>2021-01-01T00:00:00Z</dm:timestamp>")
    )
    assert doc.note == "person note"
    assert doc.timestamp == dt.datetime(2021, 1, 1, tzinfo=UTC)
    body = pidf(tuples='<tuple id="a"><status><basic>open</basic></status></tuple><note>doc</note>')
    assert decode(body).note == "doc"


def test_unknown_markup_is_ignored() -> None:
    person = (
        "<rpid:activities><rpid:lunch/><rpid:other>  </rpid:other><x:weird xmlns:x='urn:x'/>"
        "<rpid:note>ignored</rpid:note><rpid:other>Knitting</rpid:other><rpid:tv/><rpid:tv/>"
        "</rpid:activities>"
        "<ss:phone type='fax'>123</ss:phone><ss:phone type='WORK'> 42 </ss:phone>"
        "<ss:phone type='work'>43</ss:phone><ss:unknown>?</ss:unknown>"
        "<unknown xmlns='urn:other'><deep><deeper/></deep></unknown>"
    )
    tuples = (
        '<tuple id="1bad id"><status><basic>open</basic><x:y xmlns:x="urn:x"/></status>'
        '<dm:deviceID>has space</dm:deviceID><note xml:lang="not valid">hi</note>'
        "<unknown-pidf-element/></tuple>"
    )
    doc = decode(pidf(person, tuples=tuples))
    assert doc.activities == ("lunch", "Knitting", "tv")
    assert doc.work_phone == "42"
    assert doc.mobile_phone is None and doc.home_phone is None
    assert doc.tuple_id == DEFAULT_TUPLE_ID
    assert doc.device_id is None
    assert (doc.note, doc.note_lang) == ("hi", None)


def test_activities_in_the_tuple_status_as_early_rpid_drafts_wrote_them() -> None:
    tuples = (
        '<tuple id="a"><status><basic>open</basic>'
        "<rpid:activities><rpid:away/><rpid:meal/></rpid:activities></status></tuple>"
    )
    doc = decode(pidf(tuples=tuples))
    assert doc.availability is Availability.AWAY
    assert doc.activities == ("meal",)


def test_markers_combine_with_do_not_disturb_strongest() -> None:
    person = (
        "<rpid:activities><rpid:away/></rpid:activities>"
        "<rpid:activities><rpid:busy/></rpid:activities>"
    )
    assert decode(pidf(person)).availability is Availability.BUSY
    person += "<rpid:activities><ss:do-not-disturb/></rpid:activities>"
    assert decode(pidf(person)).availability is Availability.DO_NOT_DISTURB


def test_a_foreign_meeting_with_until_is_calendar_state() -> None:
    person = (
        '<rpid:activities until="2024-01-01T10:00:00+01:00">'
        "<rpid:meeting/><rpid:busy/></rpid:activities>"
        '<rpid:activities until="2024-01-01T12:00:00Z"><rpid:meeting/></rpid:activities>'
    )
    doc = decode(pidf(person))
    assert doc.meeting == Meeting(until=dt.datetime(2024, 1, 1, 9, tzinfo=UTC))
    assert doc.availability is Availability.BUSY
    # Only the first becomes the calendar meeting; a later one is an activity.
    assert doc.activities == ("meeting",)


@pytest.mark.parametrize(
    "stamp",
    [
        "",
        "yesterday",
        "2024-13-01T00:00:00Z",
        "2024-02-30T00:00:00Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T00:00:60Z",
        "2024-01-01 00:00:00Z",
        "2024-01-01T00:00:00+15:00",
        "2024-01-01T00:00:00+01:60",
        "12024-01-01T00:00:00Z",
        "-2024-01-01T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "２０２４-01-01T00:00:00Z",
        "2024-01-01T00:00:00.Z",
        "2024-01-01T00:00:00z",
    ],
)
def test_bad_timestamps_are_errors(stamp: str) -> None:
    body = pidf(
        tuples=f'<tuple id="a"><status><basic>open</basic></status><timestamp>{stamp}</timestamp></tuple>'
    )
    with pytest.raises(PresenceError):
        decode(body)
    meeting = f'<rpid:activities until="{stamp}"><rpid:meeting/></rpid:activities>'
    with pytest.raises(PresenceError):
        decode(pidf(meeting))


def test_naive_timestamps_are_read_as_utc_and_long_fractions_truncated() -> None:
    def stamped(stamp: str) -> bytes:
        return pidf(
            tuples=f'<tuple id="a"><status><basic>open</basic></status>'
            f"<timestamp>{stamp}</timestamp></tuple>"
        )

    assert decode(stamped(" 2024-01-01T08:00:00 ")).timestamp == dt.datetime(
        2024, 1, 1, 8, tzinfo=UTC
    )
    assert decode(stamped("2024-01-01T08:00:00." + "9" * 5000 + "-00:00")).timestamp == (
        dt.datetime(2024, 1, 1, 8, 0, 0, 999999, tzinfo=UTC)
    )


@pytest.mark.parametrize(
    "body",
    [
        b"<presence xmlns='urn:ietf:params:xml:ns:pidf'/>",
        b"<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='  '/>",
        b"<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='not a uri'/>",
        b"<presence entity='sip:a@b'/>",
        b"<presence xmlns='urn:ietf:params:xml:ns:pidf:data-model' entity='sip:a@b'/>",
        b"<watcherinfo xmlns='urn:ietf:params:xml:ns:watcherinfo' version='0' state='full'/>",
    ],
)
def test_pidf_wrong_root_or_entity(body: bytes) -> None:
    with pytest.raises(PresenceError):
        decode(body)


def test_too_many_tuples() -> None:
    tuple_ = '<tuple id="a"><status><basic>open</basic></status></tuple>'
    assert decode(pidf(tuples=tuple_ * 3), max_tuples=3).tuple_id == "a"
    with pytest.raises(PresenceError, match="tuples"):
        decode(pidf(tuples=tuple_ * 4), max_tuples=3)


# ---------------------------------------------------------------------------
# Safety: the same rules for every decoder
# ---------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@example.com">
 <note>&lol9;</note>
</presence>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE presence [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@example.com">
 <tuple id="t"><status><basic>open</basic></status><note>&xxe;</note></tuple>
</presence>
"""

HOSTILE = {
    "billion-laughs": BILLION_LAUGHS,
    "external-entity": EXTERNAL_ENTITY,
    "parameter-entity": (
        b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY % ext SYSTEM "http://example.com/x.dtd">'
        b"%ext;]><p/>"
    ),
    "external-dtd": b'<?xml version="1.0"?><!DOCTYPE p SYSTEM "http://example.com/p.dtd"><p/>',
    "plain-dtd": b"<!DOCTYPE presence><presence/>",
    "internal-entity": b'<!DOCTYPE p [<!ENTITY e "x">]><p>&e;</p>',
    "undefined-entity": b"<p>&e;</p>",
    "malformed": b"<presence><tuple></presence>",
    "empty": b"",
    "not-xml": b"SIP/2.0 200 OK\r\n\r\n",
    "two-roots": b"<a/><b/>",
    "unbound-prefix": b"<x:presence/>",
    "latin-1": '<?xml version="1.0" encoding="ISO-8859-1"?><p>caf\xe9</p>'.encode("latin-1"),
    "utf-16": '<?xml version="1.0" encoding="UTF-16"?><p/>'.encode("utf-16"),
    "invalid-utf8": b"<p>\xff\xfe</p>",
    "nul-reference": b"<p>&#0;</p>",
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize(("name", "decoder", "kind"), DECODERS, ids=DECODER_IDS)
def test_hostile_bodies_are_refused(
    name: str, decoder: Callable[..., Any], kind: type, body: bytes
) -> None:
    with pytest.raises(PresenceError) as info:
        decoder(body)
    assert type(info.value) is PresenceError
    assert isinstance(info.value, SIPParseError)
    assert info.value.status == 400


def test_external_entity_is_refused_before_anything_is_read() -> None:
    with pytest.raises(PresenceError, match="forbidden"):
        decode(EXTERNAL_ENTITY)
    with pytest.raises(PresenceError, match="forbidden"):
        decode(BILLION_LAUGHS)


@pytest.mark.parametrize(("name", "decoder", "kind"), DECODERS, ids=DECODER_IDS)
def test_oversize_bodies_are_refused_before_parsing(
    name: str, decoder: Callable[..., Any], kind: type
) -> None:
    valid = VALID_BODIES[name]
    padded = valid + b" " * (DEFAULT_MAX_SIZE - len(valid))
    assert isinstance(decoder(padded), kind)
    with pytest.raises(PresenceError) as info:
        decoder(padded + b" ")
    assert info.value.status == 413
    # Checked before parsing: a malformed oversize body reports its size.
    with pytest.raises(PresenceError, match="exceeds"):
        decoder(b"<" * (DEFAULT_MAX_SIZE + 1))
    with pytest.raises(PresenceError, match="exceeds"):
        decoder(valid, max_size=len(valid) - 1)


@pytest.mark.parametrize(("name", "decoder", "kind"), DECODERS, ids=DECODER_IDS)
def test_deep_nesting_and_element_floods_are_refused(
    name: str, decoder: Callable[..., Any], kind: type
) -> None:
    root = VALID_BODIES[name]
    close = root.rindex(b"</")
    deep = (
        root[:close] + b"<x:a xmlns:x='urn:x'>" + b"<x:a>" * 4000 + b"</x:a>" * 4001 + root[close:]
    )
    assert len(deep) < DEFAULT_MAX_SIZE
    with pytest.raises(PresenceError, match="deeper"):
        decoder(deep)
    flood = root[:close] + b"<x:w xmlns:x='urn:x'>" + b"<x:b/>" * 5000 + b"</x:w>" + root[close:]
    assert len(flood) < DEFAULT_MAX_SIZE
    with pytest.raises(PresenceError, match="elements"):
        decoder(flood)
    # A little unknown nesting is fine.
    nested = root[:close] + b"<x:a xmlns:x='urn:x'><x:a><x:a/></x:a></x:a>" + root[close:]
    assert isinstance(decoder(nested), kind)
    with pytest.raises(PresenceError):
        decoder(nested, max_depth=3)


# ---------------------------------------------------------------------------
# Any bytes: a document or PresenceError, nothing else
# ---------------------------------------------------------------------------

_PIDF = "urn:ietf:params:xml:ns:pidf"
_DM = "urn:ietf:params:xml:ns:pidf:data-model"
_RPID = "urn:ietf:params:xml:ns:pidf:rpid"
_SS = "urn:x-sipstack:params:xml:ns:pidf-ext"
_WINFO = "urn:ietf:params:xml:ns:watcherinfo"
_ISC = "urn:ietf:params:xml:ns:im-iscomposing"
_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

_VOCABULARY = (
    [(_PIDF, n) for n in ("presence", "tuple", "status", "basic", "note", "timestamp", "contact")]
    + [(_DM, n) for n in ("person", "note", "timestamp", "deviceID")]
    + [(_RPID, n) for n in ("activities", "note", "other", "meeting", "busy", "away", "vacation")]
    + [(_SS, n) for n in ("title", "phone", "do-not-disturb", "out-of-office", "location")]
    + [("urn:ietf:params:xml:ns:pidf:im", "im")]
    + [(_WINFO, n) for n in ("watcherinfo", "watcher-list", "watcher")]
    + [(_ISC, n) for n in ("isComposing", "state", "lastactive", "contenttype", "refresh")]
    + [("urn:x", "junk"), ("", "presence")]
)
_ATTRIBUTES = [
    "entity", "id", "from", "until", "type", "status", "event", "version", "state",
    "resource", "package", "expiration", "duration-subscribed", "display-name", _LANG,
]  # fmt: skip
_JUNK = st.one_of(
    texts,
    st.sampled_from(
        [
            "open",
            "closed",
            "OPEN",
            "full",
            "partial",
            "active",
            "idle",
            "pending",
            "terminated",
            "subscribe",
            "work",
            "mobile",
            "home",
            "busy",
            "away",
            "sip:a@example.com",
            "2024-02-30T00:00:00Z",
            "0",
            "-1",
            "18446744073709551616",
            "9" * 30,
            "en",
            "1a",
            "",
        ]
    ),
)


def _mostly(*valid: object) -> st.SearchStrategy[str]:
    """Usually one of the valid values, sometimes junk."""
    choices = st.sampled_from([str(v) for v in valid])
    # Listed twice: two draws in three are valid.
    return st.one_of(choices, choices, _JUNK)


_TIMES = st.one_of(times.map(lambda t: t.isoformat()), _JUNK)


@st.composite
def junk_trees(draw: st.DrawFn, depth: int = 0) -> ET.Element:
    namespace, name = draw(st.sampled_from(_VOCABULARY))
    element = ET.Element(f"{{{namespace}}}{name}" if namespace else name)
    for attribute in draw(st.lists(st.sampled_from(_ATTRIBUTES), max_size=4)):
        element.set(attribute, draw(_JUNK))
    if draw(st.booleans()):
        element.text = draw(_JUNK)
    if depth < 3:
        element.extend(draw(st.lists(junk_trees(depth + 1), max_size=3)))
    return element


def _sub(
    draw: st.DrawFn, parent: ET.Element, tag: str, text: st.SearchStrategy[str] | None = None
) -> ET.Element:
    child = ET.SubElement(parent, tag)
    if text is not None:
        child.text = draw(text)
    return child


def _maybe_set(
    draw: st.DrawFn, element: ET.Element, name: str, value: st.SearchStrategy[str]
) -> None:
    if draw(st.integers(0, 4)):
        element.set(name, draw(value))


@st.composite
def pidf_trees(draw: st.DrawFn) -> bytes:
    """Plausible PIDF documents: the right structure, values mostly valid."""
    root = ET.Element(f"{{{_PIDF}}}presence")
    _maybe_set(draw, root, "entity", _mostly("sip:a@example.com", "pres:b@example.org"))
    for _ in range(draw(st.integers(0, 3))):
        tuple_ = _sub(draw, root, f"{{{_PIDF}}}tuple")
        _maybe_set(draw, tuple_, "id", _mostly("t1", "x-2", "_a"))
        status = _sub(draw, tuple_, f"{{{_PIDF}}}status")
        if draw(st.integers(0, 4)):
            _sub(draw, status, f"{{{_PIDF}}}basic", _mostly("open", "closed"))
        if draw(st.booleans()):
            _sub(draw, status, "{urn:ietf:params:xml:ns:pidf:im}im", _mostly("busy", "away"))
        if draw(st.booleans()):
            _sub(draw, tuple_, f"{{{_DM}}}deviceID", _mostly("urn:uuid:1", "mac:1"))
        for _ in range(draw(st.integers(0, 2))):
            note = _sub(draw, tuple_, f"{{{_PIDF}}}note", texts)
            _maybe_set(draw, note, _LANG, _mostly("en", "fr-CA"))
        if draw(st.booleans()):
            _sub(draw, tuple_, f"{{{_PIDF}}}timestamp", _TIMES)
        tuple_.extend(draw(st.lists(junk_trees(2), max_size=1)))
    if draw(st.booleans()):
        person = _sub(draw, root, f"{{{_DM}}}person")
        for _ in range(draw(st.integers(0, 3))):
            activities = _sub(draw, person, f"{{{_RPID}}}activities")
            if draw(st.booleans()):
                activities.set("from", draw(_TIMES))
            if draw(st.booleans()):
                activities.set("until", draw(_TIMES))
            for tag in draw(
                st.lists(
                    st.sampled_from(
                        [f"{{{_RPID}}}{n}" for n in ("note", "other", "meeting", "busy", "away")]
                        + [f"{{{_RPID}}}{n}" for n in ("vacation", "tv", "lunch")]
                        + [f"{{{_SS}}}{n}" for n in ("do-not-disturb", "out-of-office")]
                        + [f"{{{_SS}}}location"]
                    ),
                    max_size=5,
                )
            ):
                _sub(draw, activities, tag, texts if draw(st.booleans()) else None)
        if draw(st.booleans()):
            _sub(draw, person, f"{{{_SS}}}title", texts)
        for _ in range(draw(st.integers(0, 3))):
            phone = _sub(draw, person, f"{{{_SS}}}phone", texts)
            _maybe_set(draw, phone, "type", _mostly("work", "mobile", "home"))
        if draw(st.booleans()):
            _sub(draw, person, f"{{{_DM}}}note", texts)
        if draw(st.booleans()):
            _sub(draw, person, f"{{{_DM}}}timestamp", _TIMES)
    root.extend(draw(st.lists(junk_trees(1), max_size=2)))
    return bytes(ET.tostring(root, encoding="utf-8"))


@st.composite
def watcherinfo_trees(draw: st.DrawFn) -> bytes:
    """Plausible watcher-info documents."""
    root = ET.Element(f"{{{_WINFO}}}watcherinfo")
    _maybe_set(draw, root, "version", _mostly(0, 1, 2**64 - 1))
    _maybe_set(draw, root, "state", _mostly("full", "partial"))
    for _ in range(draw(st.integers(0, 2))):
        watcher_list = _sub(draw, root, f"{{{_WINFO}}}watcher-list")
        _maybe_set(draw, watcher_list, "resource", _mostly("sip:me@example.com"))
        _maybe_set(draw, watcher_list, "package", _mostly("presence"))
        for _ in range(draw(st.integers(0, 3))):
            watcher = _sub(draw, watcher_list, f"{{{_WINFO}}}watcher", _mostly("sip:w@example.com"))
            _maybe_set(draw, watcher, "id", _mostly("w1", "w2"))
            _maybe_set(draw, watcher, "status", _mostly(*WatcherStatus))
            _maybe_set(draw, watcher, "event", _mostly(*WatcherEvent))
            for name in ("display-name", _LANG, "expiration", "duration-subscribed"):
                if draw(st.booleans()):
                    watcher.set(name, draw(_mostly("Bob", "en", 0, 3600)))
        watcher_list.extend(draw(st.lists(junk_trees(2), max_size=1)))
    return bytes(ET.tostring(root, encoding="utf-8"))


@st.composite
def iscomposing_trees(draw: st.DrawFn) -> bytes:
    """Plausible is-composing documents."""
    root = ET.Element(f"{{{_ISC}}}isComposing")
    parts = [
        ("state", _mostly("active", "idle")),
        ("lastactive", _TIMES),
        ("contenttype", _mostly("text/plain", "audio")),
        ("refresh", _mostly(1, 60, 2**31 - 1)),
    ]
    for name, value in draw(st.permutations(parts)):
        if draw(st.integers(0, 3)):
            _sub(draw, root, f"{{{_ISC}}}{name}", value)
    root.extend(draw(st.lists(junk_trees(1), max_size=2)))
    return bytes(ET.tostring(root, encoding="utf-8"))


_INSERTS = [
    b"<", b">", b"&", b"'", b'"', b"</", b"/>", b"<!DOCTYPE x>", b"<!ENTITY e 'x'>",
    b"&#0;", b"&#13;", b"&#x10FFFF;", b"&amp;", b"<![CDATA[", b"]]>", b"\xff", b"\x00",
    b"\xc3", b"\xf0\x9f\x98", b"<?pi?>", b"<!--", b"-->", b"xmlns:x='y'",
]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, seeds: st.SearchStrategy[bytes]) -> bytes:
    """A valid body with a few bytes replaced, inserted or deleted."""
    data = bytearray(draw(seeds))
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(data)))
        operation = draw(st.sampled_from(["replace", "insert", "delete"]))
        if operation == "replace" and position < len(data):
            data[position] = draw(st.integers(0, 255))
        elif operation == "insert":
            data[position:position] = draw(st.sampled_from(_INSERTS) | st.binary(max_size=8))
        else:
            del data[position : position + draw(st.integers(1, 40))]
    return bytes(data)


def any_bodies(
    examples: list[bytes], generated: st.SearchStrategy[bytes], trees: st.SearchStrategy[bytes]
) -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, mutants of valid bodies, and plausible documents."""
    seeds = st.sampled_from(examples) | generated
    return st.one_of(st.binary(max_size=256), mutated(seeds), trees, mutated(trees))


def _obeys_contract(decoder: Callable[..., Any], kind: type, data: bytes) -> Any:
    try:
        result = decoder(data)
    except PresenceError as exc:
        assert not isinstance(exc, PresenceUsageError), exc
        return None
    assert isinstance(result, kind)
    return result


@given(
    any_bodies(
        [RFC3863_EXAMPLE, RFC3863_PREFIXED, RFC4479_EXAMPLE, RFC4480_EXAMPLE],
        presences.map(encode),
        pidf_trees(),
    )
)
def test_pidf_decoder_contract(data: bytes) -> None:
    doc = _obeys_contract(decode, Presence, data)
    if doc is not None:
        # Whatever we accept, we can write and read back unchanged.
        assert decode(encode(doc)) == doc


@given(any_bodies([RFC3858_EXAMPLE], watcher_infos.map(encode_watcherinfo), watcherinfo_trees()))
def test_watcherinfo_decoder_contract(data: bytes) -> None:
    doc = _obeys_contract(decode_watcherinfo, WatcherInfo, data)
    if doc is not None:
        assert decode_watcherinfo(encode_watcherinfo(doc)) == doc


@given(
    any_bodies(
        [RFC3994_IDLE, RFC3994_ACTIVE], is_composings.map(encode_iscomposing), iscomposing_trees()
    )
)
def test_iscomposing_decoder_contract(data: bytes) -> None:
    doc = _obeys_contract(decode_iscomposing, IsComposing, data)
    if doc is not None:
        assert decode_iscomposing(encode_iscomposing(doc)) == doc


@pytest.mark.parametrize(("name", "decoder", "kind"), DECODERS, ids=DECODER_IDS)
@given(data=st.binary(max_size=256) | st.sampled_from(list(VALID_BODIES.values())))
def test_every_decoder_takes_every_format(
    name: str, decoder: Callable[..., Any], kind: type, data: bytes
) -> None:
    _obeys_contract(decoder, kind, data)


# ---------------------------------------------------------------------------
# Access levels
# ---------------------------------------------------------------------------

# Which fields of Presence each item governs.  A field added to Presence
# fails test_every_field_is_governed until it is classified here (and
# filter_for keeps it hidden until then).
FIELD_ITEMS: dict[str, PresenceItem] = {
    "availability": PresenceItem.AVAILABILITY,
    "activities": PresenceItem.ACTIVITIES,
    "note": PresenceItem.NOTE,
    "note_lang": PresenceItem.NOTE,
    "title": PresenceItem.TITLE,
    "work_phone": PresenceItem.WORK_PHONE,
    "mobile_phone": PresenceItem.MOBILE_PHONE,
    "home_phone": PresenceItem.HOME_PHONE,
    "meeting": PresenceItem.CALENDAR,
    "out_of_office": PresenceItem.CALENDAR,
    "timestamp": PresenceItem.TIMESTAMP,
    "tuple_id": PresenceItem.TUPLE_ID,
    "device_id": PresenceItem.DEVICE_ID,
}

RICH = Presence(
    "sip:alice@example.com",
    Availability.DO_NOT_DISTURB,
    activities=("on-the-phone",),
    note="NOTE-TEXT",
    note_lang="en",
    title="TITLE-TEXT",
    work_phone="WORK-PHONE",
    mobile_phone="MOBILE-PHONE",
    home_phone="HOME-PHONE",
    meeting=Meeting(
        until=dt.datetime(2024, 5, 1, 10, tzinfo=UTC),
        since=dt.datetime(2024, 5, 1, 9, tzinfo=UTC),
        subject="MEETING-SUBJECT",
        location="MEETING-ROOM",
    ),
    out_of_office=OutOfOffice("OOO-MESSAGE", until=dt.datetime(2024, 5, 6, tzinfo=UTC)),
    timestamp=dt.datetime(2024, 5, 1, 8, 59, tzinfo=UTC),
    tuple_id="TUPLEID",
    device_id="DEVICE-ID",
)

SEEN_AT = {
    AccessLevel.BLOCKED: [],
    AccessLevel.PUBLIC: [b"do-not-disturb"],
    AccessLevel.COMPANY: [
        b"on-the-phone",
        b"NOTE-TEXT",
        b"TITLE-TEXT",
        b"WORK-PHONE",
        b"<rpid:meeting/>",
        b"2024-05-01T10:00:00Z",
        b"<ss:out-of-office/>",
        b"2024-05-06T00:00:00Z",
        b"2024-05-01T08:59:00Z",
        b"TUPLEID",
    ],
    AccessLevel.TEAM: [b"MOBILE-PHONE", b"MEETING-SUBJECT", b"MEETING-ROOM"],
    AccessLevel.PERSONAL: [b"HOME-PHONE", b"OOO-MESSAGE", b"DEVICE-ID"],
}


def test_every_item_has_a_level_and_every_field_an_item() -> None:
    assert set(VISIBILITY) == set(PresenceItem)
    fields = {f.name for f in dataclasses.fields(Presence)} - {"entity"}
    assert set(FIELD_ITEMS) == fields
    assert visible_items(AccessLevel.BLOCKED) == frozenset()
    assert visible_items(AccessLevel.PUBLIC) == {PresenceItem.AVAILABILITY}
    assert visible_items(AccessLevel.PERSONAL) == set(PresenceItem)


def test_the_documented_table_is_the_table() -> None:
    doc = _access.__doc__ or ""
    lines = doc.splitlines()
    rules = [i for i, line in enumerate(lines) if re.fullmatch(r"=+( +=+)+", line)]
    header = lines[rules[0] + 1]
    starts = [header.index(level.name.capitalize()) for level in AccessLevel]
    labels = {
        "availability": [PresenceItem.AVAILABILITY],
        "activities (on-the-phone, ...)": [PresenceItem.ACTIVITIES],
        "note": [PresenceItem.NOTE],
        "job title": [PresenceItem.TITLE],
        "work phone": [PresenceItem.WORK_PHONE],
        "meeting, out-of-office, when": [PresenceItem.CALENDAR],
        "timestamp, tuple id": [PresenceItem.TIMESTAMP, PresenceItem.TUPLE_ID],
        "meeting subject and location": [PresenceItem.MEETING_DETAILS],
        "mobile phone": [PresenceItem.MOBILE_PHONE],
        "home phone": [PresenceItem.HOME_PHONE],
        "out-of-office message": [PresenceItem.OUT_OF_OFFICE_MESSAGE],
        "device id": [PresenceItem.DEVICE_ID],
    }
    documented: dict[PresenceItem, AccessLevel] = {}
    for line in lines[rules[1] + 1 : rules[2]]:
        label = line[: starts[0]].strip()
        lowest = min(
            level
            for level, start in zip(AccessLevel, starts, strict=True)
            if line[start:].startswith("yes")
        )
        for item in labels[label]:
            documented[item] = lowest
    assert documented == dict(VISIBILITY)


@pytest.mark.parametrize("level", list(AccessLevel))
def test_each_level_sees_its_own_and_lower_items_only(level: AccessLevel) -> None:
    body = encode(filter_for(RICH, level))
    for other, fragments in SEEN_AT.items():
        for fragment in fragments:
            assert (fragment in body) == (other <= level), (other, fragment)


def test_levels_of_calendar_detail() -> None:
    company = filter_for(RICH, AccessLevel.COMPANY)
    assert company.meeting == Meeting(until=RICH.meeting.until, since=RICH.meeting.since)  # type: ignore[union-attr]
    assert company.out_of_office == OutOfOffice(until=dt.datetime(2024, 5, 6, tzinfo=UTC))
    team = filter_for(RICH, AccessLevel.TEAM)
    assert team.meeting == RICH.meeting
    assert team.out_of_office == company.out_of_office
    assert filter_for(RICH, AccessLevel.PERSONAL) == RICH
    public = filter_for(RICH, AccessLevel.PUBLIC)
    assert public == Presence(RICH.entity, Availability.DO_NOT_DISTURB)


@given(presences, presences)
def test_blocked_watchers_learn_nothing(a: Presence, b: Presence) -> None:
    blocked_a = filter_for(a, AccessLevel.BLOCKED)
    blocked_b = filter_for(b, AccessLevel.BLOCKED)
    # Identical bytes apart from the entity the watcher subscribed to...
    entity = "sip:someone@example.com"
    assert encode(dataclasses.replace(blocked_a, entity=entity)) == encode(
        dataclasses.replace(blocked_b, entity=entity)
    )
    # ...and exactly what any watcher sees of a user who is offline and
    # publishes nothing, so being blocked cannot be told from that.
    offline = Presence(a.entity)
    assert blocked_a == offline
    for level in AccessLevel:
        assert encode(blocked_a) == encode(filter_for(offline, level))


@given(presences, st.sampled_from(AccessLevel), st.sampled_from(AccessLevel))
def test_filtering_is_monotone_and_idempotent(
    doc: Presence, first: AccessLevel, second: AccessLevel
) -> None:
    low, high = sorted((first, second))
    assert filter_for(filter_for(doc, high), low) == filter_for(doc, low)
    assert filter_for(filter_for(doc, low), low) == filter_for(doc, low)
    assert filter_for(doc, AccessLevel.PERSONAL) == doc


@given(presences, st.sampled_from(AccessLevel))
def test_hidden_fields_are_empty_and_visible_fields_intact(
    doc: Presence, level: AccessLevel
) -> None:
    seen = visible_items(level)
    filtered = filter_for(doc, level)
    empty = Presence(doc.entity)
    for name, item in FIELD_ITEMS.items():
        value = getattr(filtered, name)
        if item not in seen:
            assert value == getattr(empty, name), name
        elif name == "meeting" and value is not None:
            details = PresenceItem.MEETING_DETAILS in seen
            assert value == (doc.meeting if details else Meeting(value.until, value.since))
        elif name == "out_of_office" and value is not None:
            message = PresenceItem.OUT_OF_OFFICE_MESSAGE in seen
            assert value == (
                doc.out_of_office if message else dataclasses.replace(value, message=None)
            )
        else:
            assert value == getattr(doc, name), name
    # What a watcher receives survives the wire unchanged.
    assert decode(encode(filtered)) == filtered


def test_filter_refuses_bad_arguments() -> None:
    with pytest.raises(PresenceUsageError):
        filter_for(RICH, 7)  # type: ignore[arg-type]
    with pytest.raises(PresenceUsageError):
        filter_for("doc", AccessLevel.TEAM)  # type: ignore[arg-type]
    assert filter_for(RICH, 2) == filter_for(RICH, AccessLevel.COMPANY)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# Watcher information
# ---------------------------------------------------------------------------


def test_rfc3858_example() -> None:
    doc = decode_watcherinfo(RFC3858_EXAMPLE)
    assert doc == WatcherInfo(
        version=0,
        state=WatcherInfoState.FULL,
        lists=(
            WatcherList(
                resource="sip:professor@example.net",
                package="presence",
                watchers=(
                    Watcher(
                        uri="sip:userA@example.net",
                        id="8ajksjda7s",
                        status=WatcherStatus.ACTIVE,
                        event=WatcherEvent.APPROVED,
                        duration_subscribed=509,
                    ),
                    Watcher(
                        uri="sip:userB@example.org",
                        id="hh8juja87s997-ass7",
                        status=WatcherStatus.PENDING,
                        event=WatcherEvent.SUBSCRIBE,
                        display_name="Mr. Subscriber",
                    ),
                ),
            ),
        ),
    )
    assert WATCHERINFO_CONTENT_TYPE == "application/watcherinfo+xml"


@given(watcher_infos)
def test_watcherinfo_round_trip(doc: WatcherInfo) -> None:
    assert decode_watcherinfo(encode_watcherinfo(doc)) == doc


def test_watcherinfo_liberal_parts() -> None:
    body = b"""<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo" version=" 7 "
        state="partial" xmlns:x="urn:x" x:extra="1">
      <x:unknown/>
      <watcher-list resource="sip:me@example.com" package="presence">
        <watcher id="w1" status="terminated" event="ext-event" xml:lang="bad tag"
            expiration="+30"> sip:you@example.com </watcher>
        <x:other/>
      </watcher-list>
    </watcherinfo>"""
    doc = decode_watcherinfo(body)
    assert (doc.version, doc.state) == (7, WatcherInfoState.PARTIAL)
    (watcher,) = doc.lists[0].watchers
    assert watcher == Watcher(
        uri="sip:you@example.com",
        id="w1",
        status=WatcherStatus.TERMINATED,
        event="ext-event",
        expiration=30,
    )


@pytest.mark.parametrize(
    "body",
    [
        b"<watcherinfo xmlns='urn:ietf:params:xml:ns:watcherinfo' state='full'/>",
        b"<watcherinfo xmlns='urn:ietf:params:xml:ns:watcherinfo' version='0'/>",
        b"<watcherinfo xmlns='urn:ietf:params:xml:ns:watcherinfo' version='-1' state='full'/>",
        b"<watcherinfo xmlns='urn:ietf:params:xml:ns:watcherinfo' version='x' state='full'/>",
        b"<watcherinfo xmlns='urn:ietf:params:xml:ns:watcherinfo' version='0' state='some'/>",
        b"<watcherinfo xmlns='urn:ietf:params:xml:ns:watcherinfo' version='"
        + b"9" * 5000
        + b"' state='full'/>",
        b"<watcherinfo version='0' state='full'/>",
        b"<watcherinfo xmlns='urn:ietf:params:xml:ns:watcherinfo' version='0' state='full'>"
        b"<watcher-list package='presence'/></watcherinfo>",
        b"<watcherinfo xmlns='urn:ietf:params:xml:ns:watcherinfo' version='0' state='full'>"
        b"<watcher-list resource='sip:a@b' package='presence'>"
        b"<watcher id='1' status='bored' event='subscribe'>sip:c@d</watcher>"
        b"</watcher-list></watcherinfo>",
        b"<watcherinfo xmlns='urn:ietf:params:xml:ns:watcherinfo' version='0' state='full'>"
        b"<watcher-list resource='sip:a@b' package='presence'>"
        b"<watcher id='1' status='active'>sip:c@d</watcher>"
        b"</watcher-list></watcherinfo>",
        b"<watcherinfo xmlns='urn:ietf:params:xml:ns:watcherinfo' version='0' state='full'>"
        b"<watcher-list resource='sip:a@b' package='presence'>"
        b"<watcher id='1' status='active' event='approved'>  </watcher>"
        b"</watcher-list></watcherinfo>",
        b"<watcherinfo xmlns='urn:ietf:params:xml:ns:watcherinfo' version='0' state='full'>"
        b"<watcher-list resource='sip:a@b' package='presence'>"
        b"<watcher id='1' status='active' event='approved' expiration='18446744073709551616'>"
        b"sip:c@d</watcher></watcher-list></watcherinfo>",
    ],
)
def test_bad_watcherinfo_is_refused(body: bytes) -> None:
    with pytest.raises(PresenceError):
        decode_watcherinfo(body)


@pytest.mark.parametrize(
    "build",
    [
        lambda: Watcher(uri="", id="1", status=WatcherStatus.ACTIVE),
        lambda: Watcher(uri="sip:a@b", id="", status=WatcherStatus.ACTIVE),
        lambda: Watcher(uri="sip:a@b", id="1", status="bored"),  # type: ignore[arg-type]
        lambda: Watcher(uri="sip:a@b", id="1", status=WatcherStatus.ACTIVE, event=" "),
        lambda: Watcher(uri="sip:a@b", id="1", status=WatcherStatus.ACTIVE, lang="x y"),
        lambda: Watcher(uri="sip:a@b", id="1", status=WatcherStatus.ACTIVE, expiration=-1),
        lambda: Watcher(uri="sip:a@b", id="1", status=WatcherStatus.ACTIVE, expiration=True),
        lambda: Watcher(uri="sip:a@b", id="1", status=WatcherStatus.ACTIVE, expiration=2**64),
        lambda: WatcherInfo(version=-1),
        lambda: WatcherInfo(version=None),  # type: ignore[arg-type]
        lambda: WatcherInfo(version=0, state="complete"),  # type: ignore[arg-type]
        lambda: WatcherInfo(version=0, lists=("x",)),  # type: ignore[arg-type]
        lambda: WatcherList(resource="sip:a@b", package="presence", watchers=("x",)),  # type: ignore[arg-type]
        lambda: WatcherList(resource="sip:a@b", package="\x00"),
    ],
)
def test_bad_watcherinfo_values_are_refused(build: Callable[[], object]) -> None:
    with pytest.raises(PresenceUsageError):
        build()


# ---------------------------------------------------------------------------
# Is-composing
# ---------------------------------------------------------------------------


def test_rfc3994_examples() -> None:
    assert decode_iscomposing(RFC3994_IDLE) == IsComposing(
        state=ComposingState.IDLE,
        last_active=dt.datetime(2003, 1, 27, 10, 43, tzinfo=UTC),
        content_type="audio",
    )
    assert decode_iscomposing(RFC3994_ACTIVE) == IsComposing(
        state=ComposingState.ACTIVE, content_type="text/html", refresh=90
    )
    assert ISCOMPOSING_CONTENT_TYPE == "application/im-iscomposing+xml"


def test_iscomposing_encoding_follows_the_schema_order() -> None:
    body = encode_iscomposing(
        IsComposing(
            ComposingState.ACTIVE,
            last_active=dt.datetime(2003, 1, 27, 10, 43, tzinfo=UTC),
            content_type="text/plain",
            refresh=60,
        )
    )
    assert body == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing">\n'
        b"  <state>active</state>\n"
        b"  <lastactive>2003-01-27T10:43:00Z</lastactive>\n"
        b"  <contenttype>text/plain</contenttype>\n"
        b"  <refresh>60</refresh>\n"
        b"</isComposing>\n"
    )


@given(is_composings)
def test_iscomposing_round_trip(doc: IsComposing) -> None:
    assert decode_iscomposing(encode_iscomposing(doc)) == doc


def test_iscomposing_liberal_parts() -> None:
    body = b"""<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing">
      <refresh> 120 </refresh><x:y xmlns:x="urn:x"/><state> typing-furiously </state>
      <contenttype></contenttype></isComposing>"""
    assert decode_iscomposing(body) == IsComposing(ComposingState.IDLE, refresh=120)


@pytest.mark.parametrize(
    "inner",
    [
        b"",
        b"<refresh>60</refresh>",
        b"<state>active</state><refresh>0</refresh>",
        b"<state>active</state><refresh>-5</refresh>",
        b"<state>active</state><refresh>soon</refresh>",
        b"<state>active</state><refresh>2147483648</refresh>",
        b"<state>active</state><refresh>" + b"9" * 5000 + b"</refresh>",
        b"<state>active</state><lastactive>then</lastactive>",
    ],
)
def test_bad_iscomposing_is_refused(inner: bytes) -> None:
    body = (
        b'<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing">' + inner + b"</isComposing>"
    )
    with pytest.raises(PresenceError):
        decode_iscomposing(body)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"state": "typing"},
        {"refresh": 0},
        {"refresh": 2**31},
        {"refresh": True},
        {"refresh": 1.5},
        {"last_active": dt.datetime(2024, 1, 1)},
        {"content_type": "text/\ufffe"},
    ],
)
def test_bad_iscomposing_values_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(PresenceUsageError):
        IsComposing(**kwargs)
