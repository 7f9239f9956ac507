"""Conference state (RFC 4575): the RFC's example documents, round trips,
partial-state merging and version ordering, the classic XML attacks, and the
contract that any bytes give a document or PresenceError."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sipstack.errors import SIPParseError
from sipstack.presence import (
    CONFERENCE_INFO_CONTENT_TYPE,
    DEFAULT_MAX_SIZE,
    ConferenceInfo,
    ConferenceInfoState,
    ConferenceUser,
    EndpointStatus,
    PresenceError,
    PresenceUsageError,
    apply_update,
    decode_conference_info,
    encode_conference_info,
)

FULL = ConferenceInfoState.FULL
PARTIAL = ConferenceInfoState.PARTIAL
DELETED = ConferenceInfoState.DELETED

# ---------------------------------------------------------------------------
# RFC 4575 §6: documents as a conference focus writes them
# ---------------------------------------------------------------------------

# §6.1, the basic example: comments between the parts, one user who has
# left and one who is connected, and media we do not model.
RFC4575_BASIC = b"""<?xml version="1.0" encoding="UTF-8"?>
   <conference-info
    xmlns="urn:ietf:params:xml:ns:conference-info"
    entity="sips:conf233@example.com"
    state="full" version="1">
   <!--
     CONFERENCE INFO
   -->
    <conference-description>
     <subject>Agenda: This month's goals</subject>
     <service-uris>
      <entry>
       <uri>http://sharepoint/salesgroup/</uri>
       <purpose>web-page</purpose>
      </entry>
     </service-uris>
    </conference-description>
   <!--
     CONFERENCE STATE
   -->
    <conference-state>
     <user-count>33</user-count>
    </conference-state>
   <!--
     USERS
   -->
    <users>
     <user entity="sip:bob@example.com" state="full">
      <display-text>Bob Hoskins</display-text>
   <!--
     ENDPOINTS
   -->
      <endpoint entity="sip:bob@pc33.example.com">
       <display-text>Bob's Laptop</display-text>
       <status>disconnected</status>
       <disconnection-method>departed</disconnection-method>
       <disconnection-info>
        <when>2005-03-04T20:00:00Z</when>
        <reason>bad voice quality</reason>
        <by>sip:mike@example.com</by>
       </disconnection-info>
   <!--
     MEDIA
   -->
       <media id="1">
        <display-text>main audio</display-text>
        <type>audio</type>
        <label>34567</label>
        <src-id>432424</src-id>
        <status>sendrecv</status>
       </media>
      </endpoint>
     </user>
   <!--
     USER
   -->
     <user entity="sip:alice@example.com" state="full">
      <display-text>Alice</display-text>
   <!--
     ENDPOINTS
   -->
      <endpoint entity="sip:4kfk4j392jsu@example.com;grid=433kj4j3u">
       <status>connected</status>
       <joining-method>dialed-out</joining-method>
       <joining-info>
        <when>2005-03-04T20:00:00Z</when>
        <by>sip:mike@example.com</by>
       </joining-info>
   <!--
     MEDIA
   -->
       <media id="1">
        <display-text>main audio</display-text>
        <type>audio</type>
        <label>34567</label>
        <src-id>534232</src-id>
        <status>sendrecv</status>
       </media>
      </endpoint>
     </user>
    </users>
   </conference-info>
"""

# §6.2, the rich example: a partial notification with every part of the
# schema, a user whose state defaults to full, and sidebars whose <users>
# must not be mistaken for the conference's.
RFC4575_RICH = b"""<?xml version="1.0" encoding="UTF-8"?>
   <conference-info
    xmlns="urn:ietf:params:xml:ns:conference-info"
    entity="sips:conf233@example.com"
    state="partial"
    version="5">
   <!--
     CONFERENCE INFO
   -->
    <conference-description>
     <display-text>Weekly Sales Meeting</display-text>
     <subject>Agenda: This month's goals</subject>
     <free-text>We will start strict on time</free-text>
     <keywords>sales meeting weekly</keywords>
     <conf-uris>
      <entry>
       <uri>tel:+18005671234</uri>
       <display-text>TTI Bridge</display-text>
       <purpose>participation</purpose>
      </entry>
      <entry>
       <uri>h323:conf545@h323.example.com</uri>
       <purpose>participation</purpose>
      </entry>
      <entry>
       <uri>http://real.streaming.com/54634/live.ram</uri>
       <purpose>streaming</purpose>
      </entry>
     </conf-uris>
     <service-uris>
      <entry>
       <uri>http://sharepoint/salesgroup/</uri>
       <purpose>web-page</purpose>
      </entry>
      <entry>
       <uri>http://quicktime.com/54634/recording.mov</uri>
       <display-text>Quicktime</display-text>
       <purpose>recording</purpose>
      </entry>
     </service-uris>
     <maximum-user-count>100</maximum-user-count>
     <available-media>
      <entry label="34567">
       <display-text>main audio</display-text>
       <type>audio</type>
       <status>sendrecv</status>
      </entry>
      <entry label="34569">
       <display-text>main video</display-text>
       <type>video</type>
       <status>inactive</status>
      </entry>
     </available-media>
    </conference-description>
   <!--
     HOST INFO
   -->
    <host-info>
     <display-text>Sales Host</display-text>
     <web-page>http://sharepoint/salesgroup/hosts/</web-page>
     <uris>
      <entry>
       <uri>sip:sales@example.com</uri>
      </entry>
     </uris>
    </host-info>
   <!--
     CONFERENCE STATE
   -->
    <conference-state>
     <user-count>32</user-count>
     <active>true</active>
     <locked>false</locked>
    </conference-state>
   <!--
     USERS
   -->
    <users>
     <user entity="sip:bob@example.com">
      <display-text>Bob Hoskins</display-text>
      <associated-aors>
       <entry>
        <uri>mailto:bob@example.com</uri>
        <display-text>email</display-text>
       </entry>
      </associated-aors>
      <roles>
       <entry>participant</entry>
      </roles>
      <languages>en</languages>
   <!--
     ENDPOINTS
   -->
      <endpoint entity="sip:bob@pc33.example.com">
       <display-text>Bob's Laptop</display-text>
       <referred>
        <when>2005-03-04T20:00:00Z</when>
        <reason>expert required</reason>
        <by>sip:mike@example.com</by>
       </referred>
       <status>disconnecting</status>
       <joining-method>dialed-out</joining-method>
       <joining-info>
        <when>2005-03-04T20:00:00Z</when>
        <reason>invitation</reason>
        <by>sip:mike@example.com</by>
       </joining-info>
       <disconnection-method>booted</disconnection-method>
       <disconnection-info>
        <when>2005-03-04T20:00:00Z</when>
        <reason>bad voice quality</reason>
        <by>sip:mike@example.com</by>
       </disconnection-info>
   <!--
     MEDIA
   -->
       <media id="1">
        <display-text>main audio</display-text>
        <type>audio</type>
        <label>34567</label>
        <src-id>432424</src-id>
        <status>sendrecv</status>
       </media>
   <!--
     CALL INFO
   -->
       <call-info>
        <sip>
         <display-text>full info</display-text>
         <call-id>hsjh8980vhsb78</call-id>
         <from-tag>vav738dvbs</from-tag>
         <to-tag>8954jgjg8432</to-tag>
        </sip>
       </call-info>
      </endpoint>
     </user>
    </users>
   <!--
     SIDEBARS BY REFERENCE
   -->
    <sidebars-by-ref state="partial">
     <entry>
      <uri>sips:conf233@example.com;grid=45</uri>
      <display-text>sidebar with Carol</display-text>
     </entry>
     <entry>
      <uri>sips:conf233@example.com;grid=21</uri>
      <display-text>private with Peter</display-text>
     </entry>
    </sidebars-by-ref>
   <!--
     SIDEBARS BY VALUE
   -->
    <sidebars-by-val state="partial">
     <entry entity="sips:conf233@example.com;grid=77"
      state="partial">
      <users>
       <user entity="sip:bob@example.com"/>
       <user entity="sip:mark@example.com"/>
       <user entity="sip:dan@example.com"/>
      </users>
     </entry>
    </sidebars-by-val>
   </conference-info>
"""

CONF = "sips:conf233@example.com"
BOB = "sip:bob@example.com"
ALICE = "sip:alice@example.com"
CAROL = "sip:carol@example.com"


def conference(users: str, *, state: str = "partial", version: int = 2, extra: str = "") -> bytes:
    """A conference-info document around the given <users> content."""
    return (
        '<conference-info xmlns="urn:ietf:params:xml:ns:conference-info"'
        f' entity="{CONF}" state="{state}" version="{version}"{extra}>'
        f"<users>{users}</users></conference-info>"
    ).encode()


BASIC = ConferenceInfo(
    CONF,
    1,
    subject="Agenda: This month's goals",
    users=(
        ConferenceUser(BOB, display_text="Bob Hoskins", status=EndpointStatus.DISCONNECTED),
        ConferenceUser(ALICE, display_text="Alice", status=EndpointStatus.CONNECTED),
    ),
)


def test_rfc4575_basic_example() -> None:
    assert decode_conference_info(RFC4575_BASIC) == BASIC
    assert CONFERENCE_INFO_CONTENT_TYPE == "application/conference-info+xml"


def test_rfc4575_rich_example() -> None:
    rich = decode_conference_info(RFC4575_RICH)
    bob = ConferenceUser(BOB, display_text="Bob Hoskins", status=EndpointStatus.DISCONNECTING)
    assert rich == ConferenceInfo(
        CONF, 5, PARTIAL, subject="Agenda: This month's goals", users=(bob,)
    )
    # Bob's full entry replaces his old one; Alice, not mentioned, stays.
    assert apply_update(BASIC, rich) == dataclasses.replace(
        BASIC, version=5, users=(bob, BASIC.users[1])
    )


def test_encoding_layout() -> None:
    doc = ConferenceInfo(
        "sip:chat-42@example.com",
        7,
        subject='Lunch & "plans" <today>',
        users=(
            ConferenceUser("sip:alice@example.com", display_text="Alice", status="connected"),
            ConferenceUser("sip:bob@example.com"),
        ),
    )
    assert encode_conference_info(doc) == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<conference-info xmlns="urn:ietf:params:xml:ns:conference-info"'
        b' entity="sip:chat-42@example.com" state="full" version="7">\n'
        b"  <conference-description>\n"
        b'    <subject>Lunch &amp; "plans" &lt;today&gt;</subject>\n'
        b"  </conference-description>\n"
        b"  <users>\n"
        b'    <user entity="sip:alice@example.com" state="full">\n'
        b"      <display-text>Alice</display-text>\n"
        b'      <endpoint entity="sip:alice@example.com">\n'
        b"        <status>connected</status>\n"
        b"      </endpoint>\n"
        b"    </user>\n"
        b'    <user entity="sip:bob@example.com" state="full"/>\n'
        b"  </users>\n"
        b"</conference-info>\n"
    )


def test_partial_documents_say_so_on_users_too() -> None:
    doc = ConferenceInfo(CONF, 2, PARTIAL, users=(ConferenceUser(BOB, DELETED),))
    body = encode_conference_info(doc)
    assert b'<users state="partial">' in body
    assert b'<user entity="sip:bob@example.com" state="deleted"/>' in body
    assert decode_conference_info(body) == doc


# ---------------------------------------------------------------------------
# Liberal reading
# ---------------------------------------------------------------------------


def test_prefixes_missing_namespace_and_unknown_markup() -> None:
    prefixed = b"""<ci:conference-info xmlns:ci="urn:ietf:params:xml:ns:conference-info"
        xmlns:x="urn:x" entity=" sips:conf233@example.com " version=" +3 " x:extra="1">
      <x:unknown><ci:users><ci:user entity="sip:mallory@example.com"/></ci:users></x:unknown>
      <ci:conference-description><ci:subject>  Hello  </ci:subject></ci:conference-description>
      <ci:users state="full">
        <ci:user entity="sip:bob@example.com" x:colour="blue">
          <x:display-text>not ours</x:display-text>
          <ci:display-text> Bob </ci:display-text>
          <ci:endpoint entity="sip:bob@phone"><x:status>connected</x:status></ci:endpoint>
          <ci:endpoint entity="sip:bob@old" state="deleted"><ci:status>connected</ci:status></ci:endpoint>
          <ci:endpoint entity="sip:bob@pc"><ci:status>teleporting</ci:status></ci:endpoint>
          <ci:endpoint entity="sip:bob@tab"><ci:status> on-hold </ci:status></ci:endpoint>
          <ci:endpoint entity="sip:bob@tv"><ci:status>connected</ci:status></ci:endpoint>
        </ci:user>
        <ci:user entity="sip:carol@example.com" state="partial">
          <ci:display-text>   </ci:display-text><ci:endpoint/>
        </ci:user>
      </ci:users>
    </ci:conference-info>"""
    expected = ConferenceInfo(
        CONF,
        3,
        subject="Hello",
        users=(
            ConferenceUser(BOB, display_text="Bob", status=EndpointStatus.ON_HOLD),
            ConferenceUser(CAROL, PARTIAL),
        ),
    )
    assert decode_conference_info(prefixed) == expected
    bare = (
        b'<conference-info entity="sips:conf233@example.com" version="3">'
        b"<conference-description><subject>Hello</subject></conference-description><users>"
        b'<user entity="sip:bob@example.com"><display-text>Bob</display-text>'
        b"<endpoint><status>on-hold</status></endpoint></user>"
        b'<user entity="sip:carol@example.com" state="partial"/></users></conference-info>'
    )
    assert decode_conference_info(bare) == expected


def test_no_users_element_is_no_users() -> None:
    body = (
        b'<conference-info xmlns="urn:ietf:params:xml:ns:conference-info"'
        b' entity="sip:c@example.com" version="0"/>'
    )
    assert decode_conference_info(body) == ConferenceInfo("sip:c@example.com", 0)


@pytest.mark.parametrize(
    "body",
    [
        b'<x:conference-info xmlns:x="urn:x" entity="a" version="1"/>',
        b'<conference-info xmlns="urn:ietf:params:xml:ns:conference-infox" entity="a" version="1"/>',
        b'<users xmlns="urn:ietf:params:xml:ns:conference-info" entity="a" version="1"/>',
        conference("").replace(b' entity="sips:conf233@example.com"', b""),
        conference("").replace(b' entity="sips:conf233@example.com"', b' entity="  "'),
        conference("").replace(b' version="2"', b""),
        conference("", version=-1),
        conference("", version=2**32),
        conference("").replace(b'version="2"', b'version="two"'),
        conference("").replace(b'version="2"', b'version="' + b"9" * 5000 + b'"'),
        conference("", state="complete"),
        conference("<user/>"),
        conference('<user entity="sip:a@b" state="gone"/>'),
        conference('<user entity="sip:a@b"/><user entity=" sip:a@b "/>'),
    ],
)
def test_bad_documents_are_refused(body: bytes) -> None:
    with pytest.raises(PresenceError) as info:
        decode_conference_info(body)
    assert type(info.value) is PresenceError
    assert info.value.status == 400


# ---------------------------------------------------------------------------
# Values we are asked to send
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: ConferenceUser(""),
        lambda: ConferenceUser(None),  # type: ignore[arg-type]
        lambda: ConferenceUser(BOB, state="gone"),
        lambda: ConferenceUser(BOB, status="typing"),
        lambda: ConferenceUser(BOB, status=1),  # type: ignore[arg-type]
        lambda: ConferenceUser(BOB, display_text="Bob\x00"),
        lambda: ConferenceUser("sip:bob@\ufffe"),
        lambda: ConferenceInfo(CONF, -1),
        lambda: ConferenceInfo(CONF, 2**32),
        lambda: ConferenceInfo(CONF, True),
        lambda: ConferenceInfo(CONF, 1.0),  # type: ignore[arg-type]
        lambda: ConferenceInfo(CONF, None),  # type: ignore[arg-type]
        lambda: ConferenceInfo("  ", 1),
        lambda: ConferenceInfo(CONF, 1, state="complete"),
        lambda: ConferenceInfo(CONF, 1, subject="\x1b[31m"),
        lambda: ConferenceInfo(CONF, 1, users=(BOB,)),  # type: ignore[arg-type]
        lambda: ConferenceInfo(CONF, 1, users=(ConferenceUser(BOB), ConferenceUser(f" {BOB}"))),
    ],
)
def test_bad_values_are_refused(build: Any) -> None:
    with pytest.raises(PresenceUsageError):
        build()


def test_normalisation_and_immutability() -> None:
    user = ConferenceUser(f" {BOB}\n", "partial", " ", "alerting")
    assert user.state is PARTIAL and user.status is EndpointStatus.ALERTING
    assert (user.entity, user.state, user.display_text, user.status) == (
        BOB,
        PARTIAL,
        None,
        EndpointStatus.ALERTING,
    )
    doc = ConferenceInfo(CONF, 2**32 - 1, "deleted", subject="", users=[user])  # type: ignore[arg-type]
    assert (doc.state, doc.subject, doc.users) == (DELETED, None, (user,))
    with pytest.raises(dataclasses.FrozenInstanceError):
        doc.version = 3  # type: ignore[misc]
    assert not hasattr(doc, "__dict__")
    with pytest.raises(PresenceUsageError):
        encode_conference_info(user)  # type: ignore[arg-type]
    with pytest.raises(PresenceUsageError):
        apply_update(None, user)  # type: ignore[arg-type]
    with pytest.raises(PresenceUsageError):
        apply_update(user, doc)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# Partial state (RFC 4575 §4.6)
# ---------------------------------------------------------------------------


def update(version: int, *users: ConferenceUser, subject: str | None = None) -> ConferenceInfo:
    return ConferenceInfo(CONF, version, PARTIAL, subject, users)


def test_partial_updates_merge_by_entity() -> None:
    result = apply_update(
        BASIC,
        update(
            2,
            ConferenceUser(BOB, DELETED),
            ConferenceUser(CAROL, display_text="Carol", status=EndpointStatus.ALERTING),
        ),
    )
    assert result == ConferenceInfo(
        CONF,
        2,
        subject=BASIC.subject,
        users=(BASIC.users[1], ConferenceUser(CAROL, display_text="Carol", status="alerting")),
    )
    # A partial user changes only what it carries; a full one replaces.
    result = apply_update(
        result,
        update(
            3,
            ConferenceUser(ALICE, PARTIAL, status=EndpointStatus.ON_HOLD),
            ConferenceUser(CAROL, FULL, status=EndpointStatus.CONNECTED),
            subject="New agenda",
        ),
    )
    assert result.users == (
        ConferenceUser(ALICE, display_text="Alice", status=EndpointStatus.ON_HOLD),
        ConferenceUser(CAROL, status=EndpointStatus.CONNECTED),
    )
    assert result.subject == "New agenda"
    # Leaving a user out, or the subject, changes nothing; deleting someone
    # absent is harmless; a partial user new to us joins as full.
    before = result
    result = apply_update(
        before, update(9, ConferenceUser(BOB, DELETED), ConferenceUser(BOB.upper(), PARTIAL))
    )
    assert result == ConferenceInfo(
        CONF, 9, subject="New agenda", users=(*before.users, ConferenceUser(BOB.upper()))
    )


def test_full_state_replaces_everything() -> None:
    full = ConferenceInfo(
        CONF,
        4,
        users=(ConferenceUser(CAROL, PARTIAL, "Carol"), ConferenceUser(BOB, DELETED)),
    )
    assert apply_update(BASIC, full) == ConferenceInfo(
        CONF, 4, users=(ConferenceUser(CAROL, display_text="Carol"),)
    )
    assert apply_update(None, full) == apply_update(BASIC, full)
    # The conference ended: a deleted document, and nothing partial after it.
    gone = apply_update(BASIC, ConferenceInfo(CONF, 5, DELETED))
    assert gone == ConferenceInfo(CONF, 5, DELETED)
    with pytest.raises(PresenceError, match="without full state"):
        apply_update(gone, update(6))
    assert apply_update(gone, ConferenceInfo(CONF, 6)) == ConferenceInfo(CONF, 6)


def test_version_ordering() -> None:
    current = apply_update(BASIC, update(5))
    for stale in (0, 4, 5):
        with pytest.raises(PresenceError, match="not newer"):
            apply_update(current, update(stale, ConferenceUser(CAROL)))
        with pytest.raises(PresenceError, match="not newer"):
            apply_update(current, dataclasses.replace(BASIC, version=stale))
    # A gap means a lost notification: merged all the same.
    assert apply_update(current, update(2**32 - 1)).version == 2**32 - 1


def test_partial_needs_full_state_and_the_same_conference() -> None:
    with pytest.raises(PresenceError, match="without full state"):
        apply_update(None, update(1, ConferenceUser(BOB)))
    other = ConferenceInfo("sip:other@example.com", 2, PARTIAL)
    with pytest.raises(PresenceError, match="cannot update"):
        apply_update(BASIC, other)
    with pytest.raises(PresenceError, match="cannot update"):
        apply_update(BASIC, dataclasses.replace(other, state=FULL))


# ---------------------------------------------------------------------------
# Round trips and merging properties
# ---------------------------------------------------------------------------


def _is_xml_char(c: str) -> bool:
    o = ord(c)
    return c in "\t\n\r" or 0x20 <= o <= 0xD7FF or 0xE000 <= o <= 0xFFFD or 0x10000 <= o <= 0x10FFFF


xml_chars = st.one_of(
    st.characters(exclude_categories=["Cs"]).filter(_is_xml_char),
    st.sampled_from(list("<>&\"'\r\n\t ;#]")),
    st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF),
)
texts = st.text(xml_chars, max_size=30)
tokens = texts.map(str.strip).filter(bool)
entities = st.sampled_from([BOB, ALICE, CAROL, "sip:dan@example.com"]) | tokens
optional_texts = st.none() | texts
states = st.sampled_from(ConferenceInfoState)
statuses = st.none() | st.sampled_from(EndpointStatus)


def users(
    state: st.SearchStrategy[ConferenceInfoState],
) -> st.SearchStrategy[tuple[ConferenceUser, ...]]:
    user = st.builds(
        ConferenceUser, entity=entities, state=state, display_text=optional_texts, status=statuses
    )
    return st.lists(user, max_size=5, unique_by=lambda u: u.entity.strip()).map(tuple)


documents = st.builds(
    ConferenceInfo,
    entity=entities,
    version=st.integers(0, 2**32 - 1),
    state=states,
    subject=optional_texts,
    users=users(states),
)


@given(documents)
def test_round_trip(doc: ConferenceInfo) -> None:
    assert decode_conference_info(encode_conference_info(doc)) == doc


@given(documents)
def test_encoding_is_deterministic_utf8(doc: ConferenceInfo) -> None:
    body = encode_conference_info(doc)
    assert body == encode_conference_info(doc)
    body.decode("utf-8")


@given(
    st.builds(
        ConferenceInfo,
        entity=st.just(CONF),
        version=st.integers(0, 99),
        subject=optional_texts,
        users=users(st.just(FULL)),
    ),
    st.builds(update, st.integers(100, 2**32 - 1), subject=optional_texts),
    users(states),
)
def test_merging_follows_the_rules(
    current: ConferenceInfo, empty_update: ConferenceInfo, changes: tuple[ConferenceUser, ...]
) -> None:
    partial = dataclasses.replace(empty_update, users=changes)
    result = apply_update(current, partial)
    held = {u.entity: u for u in current.users}
    changed = {u.entity: u for u in changes}
    assert result.state is FULL and result.version == partial.version
    assert all(u.state is FULL for u in result.users)
    assert [u.entity for u in result.users] == [
        *(e for e in held if changed.get(e, held[e]).state is not DELETED),
        *(e for e in changed if e not in held and changed[e].state is not DELETED),
    ]
    for user in result.users:
        change, before = changed.get(user.entity), held.get(user.entity)
        if change is None:
            assert user == before
        elif change.state is FULL or before is None:
            assert user == dataclasses.replace(change, state=FULL)
        else:
            assert user.display_text == (change.display_text or before.display_text)
            assert user.status == (change.status or before.status)
    assert result.subject == (partial.subject or current.subject)
    # The merged state is itself a document we can send and read back.
    assert decode_conference_info(encode_conference_info(result)) == result


# ---------------------------------------------------------------------------
# Safety
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
<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="sip:c@example.com"
    version="1"><conference-description><subject>&lol9;</subject></conference-description>
</conference-info>
"""

HOSTILE = {
    "billion-laughs": BILLION_LAUGHS,
    "external-entity": (
        b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY xxe SYSTEM "file:///secret">]>'
        + conference('<user entity="sip:a@b"><display-text>&xxe;</display-text></user>')
    ),
    "external-dtd": b'<!DOCTYPE c SYSTEM "http://example.com/c.dtd">' + conference(""),
    "plain-dtd": b"<!DOCTYPE conference-info>" + conference(""),
    "undefined-entity": conference("&e;"),
    "malformed": conference("<user>"),
    "empty": b"",
    "latin-1": b'<?xml version="1.0" encoding="ISO-8859-1"?>'
    + conference('<user entity="sip:a@b"><display-text>Zo\xeb</display-text></user>').replace(
        "\xeb".encode(), b"\xeb"
    ),
    "utf-16": conference("").decode().encode("utf-16"),
    "invalid-utf8": conference('<user entity="sip:X@b"/>').replace(b"X", b"\xff"),
    "nul-reference": conference('<user entity="sip:&#0;@b"/>'),
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_bodies_are_refused(body: bytes) -> None:
    with pytest.raises(PresenceError) as info:
        decode_conference_info(body)
    assert type(info.value) is PresenceError
    assert isinstance(info.value, SIPParseError)
    assert info.value.status == 400


def test_entities_are_refused_before_anything_is_read() -> None:
    with pytest.raises(PresenceError, match="forbidden"):
        decode_conference_info(BILLION_LAUGHS)
    with pytest.raises(PresenceError, match="forbidden"):
        decode_conference_info(HOSTILE["external-entity"])


def test_oversize_bodies_are_refused_before_parsing() -> None:
    padded = RFC4575_BASIC + b" " * (DEFAULT_MAX_SIZE - len(RFC4575_BASIC))
    assert decode_conference_info(padded) == BASIC
    with pytest.raises(PresenceError) as info:
        decode_conference_info(padded + b" ")
    assert info.value.status == 413
    with pytest.raises(PresenceError, match="exceeds"):
        decode_conference_info(b"<" * (DEFAULT_MAX_SIZE + 1))
    with pytest.raises(PresenceError, match="exceeds"):
        decode_conference_info(RFC4575_BASIC, max_size=len(RFC4575_BASIC) - 1)


def test_deep_nesting_and_element_floods_are_refused() -> None:
    deep = conference("<a>" * 4000 + "</a>" * 4000)
    assert len(deep) < DEFAULT_MAX_SIZE
    with pytest.raises(PresenceError, match="deeper"):
        decode_conference_info(deep)
    flood = conference("<a/>" * 5000)
    assert len(flood) < DEFAULT_MAX_SIZE
    with pytest.raises(PresenceError, match="elements"):
        decode_conference_info(flood)
    nested = conference("<x:a xmlns:x='urn:x'><x:a><x:a/></x:a></x:a>")
    assert decode_conference_info(nested) == ConferenceInfo(CONF, 2, PARTIAL)
    with pytest.raises(PresenceError):
        decode_conference_info(nested, max_depth=4)
    with pytest.raises(PresenceError):
        decode_conference_info(RFC4575_BASIC, max_elements=10)


# ---------------------------------------------------------------------------
# Any bytes: a document or PresenceError, nothing else
# ---------------------------------------------------------------------------

_NS = "urn:ietf:params:xml:ns:conference-info"
_VALUES = [
    "full", "partial", "deleted", "FULL", "connected", "on-hold", "sip:a@example.com",
    "0", "-1", "4294967295", "4294967296", "9" * 30, "",
]  # fmt: skip
_JUNK = st.one_of(texts, st.sampled_from(_VALUES))


def _mostly(*valid: object) -> st.SearchStrategy[str]:
    """Usually one of the valid values, sometimes junk."""
    choices = st.sampled_from([str(v) for v in valid])
    # Junk in one draw in eight, so that enough documents stay valid.
    return st.sampled_from([*[True] * 7, False]).flatmap(lambda ok: choices if ok else _JUNK)


@st.composite
def conference_trees(draw: st.DrawFn) -> bytes:
    """Plausible conference-info documents, sometimes a little wrong."""
    ns = draw(st.sampled_from([_NS, _NS, _NS, "", "urn:x"]))

    def tag(name: str) -> str:
        return f"{{{ns}}}{name}" if ns else name

    def maybe(element: ET.Element, name: str, value: st.SearchStrategy[str]) -> None:
        if draw(st.sampled_from([*[True] * 7, False])):
            element.set(name, draw(value))

    root = ET.Element(tag("conference-info"))
    maybe(root, "entity", _mostly(CONF))
    maybe(root, "version", _mostly(0, 1, 7))
    maybe(root, "state", _mostly(*ConferenceInfoState))
    if draw(st.booleans()):
        description = ET.SubElement(root, tag("conference-description"))
        ET.SubElement(description, tag("subject")).text = draw(_JUNK)
    users_element = ET.SubElement(root, tag("users"))
    for _ in range(draw(st.integers(0, 4))):
        user = ET.SubElement(users_element, tag(draw(st.sampled_from(["user", "user", "entry"]))))
        maybe(user, "entity", _mostly(BOB, ALICE, CAROL))
        maybe(user, "state", _mostly(*ConferenceInfoState))
        if draw(st.booleans()):
            ET.SubElement(user, tag("display-text")).text = draw(_JUNK)
        for _ in range(draw(st.integers(0, 2))):
            endpoint = ET.SubElement(user, tag("endpoint"))
            maybe(endpoint, "state", _mostly(*ConferenceInfoState))
            ET.SubElement(endpoint, tag("status")).text = draw(_mostly(*EndpointStatus))
    return bytes(ET.tostring(root, encoding="utf-8"))


_INSERTS = [
    b"<", b">", b"&", b"'", b'"', b"</", b"/>", b"<!DOCTYPE x>", b"<!ENTITY e 'x'>",
    b"&#0;", b"&#13;", b"&amp;", b"<![CDATA[", b"]]>", b"\xff", b"\x00", b"\xc3",
    b"<?pi?>", b"<!--", b"-->", b"xmlns:x='y'",
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


@given(
    st.one_of(
        st.binary(max_size=256),
        conference_trees(),
        mutated(conference_trees()),
        mutated(
            st.sampled_from([RFC4575_BASIC, RFC4575_RICH]) | documents.map(encode_conference_info)
        ),
    )
)
def test_decoder_contract(data: bytes) -> None:
    try:
        doc = decode_conference_info(data)
    except PresenceError as exc:
        assert not isinstance(exc, PresenceUsageError), exc
        return
    assert isinstance(doc, ConferenceInfo)
    # Whatever we accept, we can write and read back unchanged.
    assert decode_conference_info(encode_conference_info(doc)) == doc
