"""SDP (RFC 8866 / RFC 4566) parsing and serialising, and the offer/answer
helpers (RFC 3264): the RFC examples, hold and resume, rejected streams, the
application-sharing m-line, malformed input and the error contract."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from sipstack.errors import SIPParseError, SIPUsageError
from sipstack.sdp import (
    Connection,
    Media,
    Origin,
    SDPError,
    SessionDescription,
    audio_media,
    desktop_sharing_media,
    hold,
    make_answer,
    make_offer,
    parse_sdp,
    resume,
)


def crlf(text: str) -> bytes:
    return "".join(line.strip() + "\r\n" for line in text.strip().splitlines()).encode()


# RFC 4566 §5
RFC4566_EXAMPLE = crlf("""
    v=0
    o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5
    s=SDP Seminar
    i=A Seminar on the session description protocol
    u=http://www.example.com/seminars/sdp.pdf
    e=j.doe@example.com (Jane Doe)
    c=IN IP4 224.2.17.12/127
    t=2873397496 2873404696
    a=recvonly
    m=audio 49170 RTP/AVP 0
    m=video 51372 RTP/AVP 99
    a=rtpmap:99 h263-1998/90000
""")

# RFC 3264 §10.1: Alice's offer, Bob's answer, Bob's re-offer.
RFC3264_OFFER = crlf("""
    v=0
    o=alice 2890844526 2890844526 IN IP4 host.anywhere.com
    s=
    c=IN IP4 host.anywhere.com
    t=0 0
    m=audio 49170 RTP/AVP 0
    a=rtpmap:0 PCMU/8000
    m=video 51372 RTP/AVP 31
    a=rtpmap:31 H261/90000
    m=video 53000 RTP/AVP 32
    a=rtpmap:32 MPV/90000
""")
RFC3264_ANSWER = crlf("""
    v=0
    o=bob 2890844730 2890844730 IN IP4 host.example.com
    s=
    c=IN IP4 host.example.com
    t=0 0
    m=audio 49920 RTP/AVP 0
    a=rtpmap:0 PCMU/8000
    m=video 0 RTP/AVP 31
    m=video 53000 RTP/AVP 32
    a=rtpmap:32 MPV/90000
""")
RFC3264_REOFFER = crlf("""
    v=0
    o=bob 2890844730 2890844731 IN IP4 host.example.com
    s=
    c=IN IP4 host.example.com
    t=0 0
    m=audio 65422 RTP/AVP 0
    a=rtpmap:0 PCMU/8000
    m=video 0 RTP/AVP 31
    m=video 53000 RTP/AVP 32
    a=rtpmap:32 MPV/90000
    m=audio 51434 RTP/AVP 110
    a=rtpmap:110 telephone-events/8000
    a=recvonly
""")


def audio(
    port: int,
    *formats: str,
    attributes: tuple[tuple[str, str | None], ...] = (),
    direction: str | None = None,
) -> Media:
    media = Media("audio", port, "RTP/AVP", formats, attributes=attributes)
    return media if direction is None else media.with_direction(direction)


# ---------------------------------------------------------------------------
# Parsing and serialising


def test_rfc4566_example() -> None:
    desc = parse_sdp(RFC4566_EXAMPLE)
    assert desc.origin == Origin("jdoe", 2890844526, 2890842807, "IN", "IP4", "10.47.16.5")
    assert desc.session_name == "SDP Seminar"
    assert desc.connection == Connection("IN", "IP4", "224.2.17.12/127")
    assert desc.timing == ((2873397496, 2873404696),)
    assert desc.extra == (
        ("i", "A Seminar on the session description protocol"),
        ("u", "http://www.example.com/seminars/sdp.pdf"),
        ("e", "j.doe@example.com (Jane Doe)"),
    )
    audio_m, video_m = desc.media
    assert (audio_m.media_type, audio_m.port, audio_m.proto, audio_m.formats) == (
        "audio",
        49170,
        "RTP/AVP",
        ("0",),
    )
    assert video_m.rtpmap == {"99": "h263-1998/90000"}
    # a=recvonly at session level is the default for both streams.
    assert desc.direction == "recvonly"
    assert audio_m.direction is None
    assert [desc.direction_of(m) for m in desc.media] == ["recvonly", "recvonly"]
    assert desc.connection_of(video_m) == desc.connection
    assert bytes(desc) == desc.serialize() == RFC4566_EXAMPLE


def test_lf_line_ends_blank_lines_and_spaces_are_tolerated() -> None:
    lf = RFC4566_EXAMPLE.replace(b"\r\n", b"\n").replace(b"RTP/AVP 0", b"RTP/AVP  0 ")
    assert parse_sdp(lf + b"\n\n") == parse_sdp(RFC4566_EXAMPLE)
    assert parse_sdp(RFC4566_EXAMPLE.rstrip(b"\r\n")) == parse_sdp(RFC4566_EXAMPLE)


def test_unknown_lines_and_attribute_order_are_kept() -> None:
    data = crlf("""
        v=0
        o=- 1 1 IN IP6 2001:db8::1
        s=-
        c=IN IP6 2001:db8::1
        b=AS:64
        t=0 0
        x=something new
        a=group:BUNDLE 0
        a=ice-lite
        m=audio 5004/2 RTP/AVP 96
        b=TIAS:64000
        y=media-level unknown
        a=rtpmap:96 opus/48000/2
        a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level
        a=sendonly
        a=mid:0
        a=empty:
    """)
    desc = parse_sdp(data)
    assert desc.extra == (("b", "AS:64"), ("x", "something new"))
    assert desc.attributes == (("group", "BUNDLE 0"), ("ice-lite", None))
    (media,) = desc.media
    assert (media.port, media.port_count) == (5004, 2)
    assert media.extra == (("b", "TIAS:64000"), ("y", "media-level unknown"))
    assert [n for n, _ in media.attributes] == ["rtpmap", "extmap", "sendonly", "mid", "empty"]
    assert media.attribute("mid") == "0"
    assert media.attribute("empty") == ""
    assert media.values("sendonly") == (None,)
    assert desc.direction_of(media) == "sendonly"
    assert bytes(desc) == data


def test_extra_lines_are_kept_in_grammar_order() -> None:
    # Received out of order, stored (and written) as RFC 8866 §5 orders them.
    data = b"v=0\nz=0 0\no=- 1 1 IN IP4 a\nb=AS:1\ns=-\ni=info\nt=0 0\nr=7d 1h 0 25h\n"
    desc = parse_sdp(data)
    assert desc.extra == (("i", "info"), ("b", "AS:1"), ("r", "7d 1h 0 25h"), ("z", "0 0"))
    assert bytes(desc) == crlf("""
        v=0
        o=- 1 1 IN IP4 a
        s=-
        i=info
        b=AS:1
        t=0 0
        r=7d 1h 0 25h
        z=0 0
    """)


def test_lists_are_normalised_to_tuples() -> None:
    media = Media("audio", 1, "RTP/AVP", ["0"], attributes=[("sendonly", None)])  # type: ignore[arg-type]
    assert media == audio(1, "0", direction="sendonly")
    hash(media)


# ---------------------------------------------------------------------------
# Offer / answer


def test_rfc3264_basic_exchange() -> None:
    offer = parse_sdp(RFC3264_OFFER)
    assert offer.session_name == ""
    # Bob accepts PCMU audio and MPEG video only, so the H.261 stream is rejected.
    answer = make_answer(
        offer,
        "host.example.com",
        [audio(49920, "0"), Media("video", 53000, "RTP/AVP", ("32",))],
        username="bob",
        session_id=2890844730,
    )
    expected = parse_sdp(RFC3264_ANSWER)
    assert answer.origin == expected.origin
    assert (answer.connection, answer.timing, answer.media) == (
        expected.connection,
        expected.timing,
        expected.media,
    )
    assert bytes(answer) == RFC3264_ANSWER.replace(b"s=\r\n", b"s=-\r\n")


def test_rfc3264_reoffer_adds_a_recvonly_stream() -> None:
    reoffer = parse_sdp(RFC3264_REOFFER)
    assert reoffer.origin.version == 2890844731
    answer = make_answer(
        reoffer,
        "host.anywhere.com",
        [
            audio(49170, "0"),
            audio(53122, "110", attributes=(("rtpmap", "110 telephone-events/8000"),)),
            Media("video", 53000, "RTP/AVP", ("31", "32")),
        ],
        username="alice",
        session_id=2890844526,
        version=2890844527,
    )
    assert answer.origin == Origin(
        "alice", 2890844526, 2890844527, "IN", "IP4", "host.anywhere.com"
    )
    assert [(m.media_type, m.port, m.formats) for m in answer.media] == [
        ("audio", 49170, ("0",)),
        ("video", 0, ("31",)),
        ("video", 53000, ("32",)),
        ("audio", 53122, ("110",)),
    ]
    last = answer.media[3]
    assert last.attributes == (("rtpmap", "110 telephone-events/8000"), ("sendonly", None))
    assert answer.direction_of(last) == "sendonly"


def test_audio_offer() -> None:
    offer = make_offer("192.0.2.10", [audio_media(49170)], username="alice", session_id=42)
    assert bytes(offer) == crlf("""
        v=0
        o=alice 42 42 IN IP4 192.0.2.10
        s=-
        c=IN IP4 192.0.2.10
        t=0 0
        m=audio 49170 RTP/AVP 0 8 101
        a=rtpmap:0 PCMU/8000
        a=rtpmap:8 PCMA/8000
        a=rtpmap:101 telephone-event/8000
        a=fmtp:101 0-16
        a=ptime:20
    """)
    v6 = make_offer("2001:db8::5", [audio_media(4000, ["opus"], ptime=None)])
    assert v6.connection == Connection("IN", "IP6", "2001:db8::5")
    assert v6.origin.addr_type == "IP6"
    assert v6.media[0].rtpmap == {"111": "opus/48000/2"}
    assert 0 <= make_offer("h", []).origin.session_id < 2**62


def test_answer_intersects_formats_and_keeps_offered_payload_numbers() -> None:
    offer = make_offer(
        "192.0.2.1",
        [
            audio(
                5000,
                "8",
                "0",
                "96",
                "97",
                attributes=(
                    ("rtpmap", "96 telephone-event/8000"),
                    ("fmtp", "96 0-15"),
                    ("rtpmap", "97 iLBC/8000"),
                ),
            )
        ],
    )
    ours = audio_media(6000, ["PCMU", "telephone-event", "G722"])
    answer = make_answer(offer, "192.0.2.2", [ours])
    (media,) = answer.media
    # Our order of preference; their payload number (96) and fmtp for DTMF.
    assert media.formats == ("0", "96")
    assert media.attributes == (
        ("rtpmap", "96 telephone-event/8000"),
        ("fmtp", "96 0-15"),
        ("ptime", "20"),
    )
    assert media.port == 6000
    assert answer.direction_of(media) == "sendrecv"


@pytest.mark.parametrize(
    ("offered", "ours", "answered"),
    [
        ("sendrecv", "sendrecv", "sendrecv"),
        ("sendonly", "sendrecv", "recvonly"),
        ("recvonly", "sendrecv", "sendonly"),
        ("inactive", "sendrecv", "inactive"),
        ("sendrecv", "recvonly", "recvonly"),
        ("sendrecv", "sendonly", "sendonly"),
        ("recvonly", "recvonly", "inactive"),
        ("sendonly", "sendonly", "inactive"),
    ],
)
def test_answer_mirrors_direction(offered: str, ours: str, answered: str) -> None:
    offer = make_offer("192.0.2.1", [audio(5000, "0", direction=offered)])
    answer = make_answer(offer, "192.0.2.2", [audio(6000, "0", direction=ours)])
    media = answer.media[0]
    assert answer.direction_of(media) == answered
    # sendrecv is the default and is left implicit.
    assert media.direction == (None if answered == "sendrecv" else answered)


def test_session_level_direction_of_offer_is_mirrored() -> None:
    offer = dataclasses.replace(
        make_offer("192.0.2.1", [audio(5000, "0")]), attributes=(("sendonly", None),)
    )
    answer = make_answer(offer, "192.0.2.2", [audio(6000, "0")])
    assert answer.direction_of(answer.media[0]) == "recvonly"


def test_rejected_streams() -> None:
    offer = make_offer(
        "192.0.2.1",
        [
            audio(5000, "0"),
            Media("video", 5002, "RTP/AVP", ("31",)),  # no video capability
            audio(0, "8"),  # disabled in the offer
            Media("audio", 5004, "RTP/SAVP", ("0",)),  # wrong proto
            audio(5006, "18"),  # no common format
        ],
    )
    answer = make_answer(offer, "192.0.2.2", [audio(6000, "0", "8"), audio(0, "18")])
    assert [m.port for m in answer.media] == [6000, 0, 0, 0, 0]
    for offered, answered in zip(offer.media[1:], answer.media[1:], strict=True):
        assert answered == Media(offered.media_type, 0, offered.proto, offered.formats)
    assert parse_sdp(bytes(answer)) == answer


def test_application_sharing_offer_and_answer() -> None:
    share = desktop_sharing_media(3389)
    offer = make_offer("192.0.2.1", [audio_media(5000), share], session_id=7)
    assert b"m=application 3389 TCP/RDP *\r\na=setup:actpass\r\na=connection:new\r\n" in bytes(
        offer
    )
    assert parse_sdp(bytes(offer)) == offer
    answer = make_answer(
        offer, "192.0.2.2", [audio_media(6000), desktop_sharing_media(9, setup="active")]
    )
    _, share_a = answer.media
    assert (share_a.port, share_a.proto, share_a.formats) == (9, "TCP/RDP", ("*",))
    # RFC 4145: an actpass offer is answered active; a=connection:new is ours.
    assert share_a.attributes == (("connection", "new"), ("setup", "active"))
    assert make_answer(offer, "192.0.2.2", [audio_media(6000)]).media[1].port == 0
    passive_offer = make_offer("192.0.2.1", [desktop_sharing_media(3389, setup="passive")])
    answered = make_answer(passive_offer, "h", [desktop_sharing_media(9)]).media[0]
    assert answered.attribute("setup") == "active"


# ---------------------------------------------------------------------------
# Hold and resume (RFC 3264 §8.4)


def test_hold_and_resume() -> None:
    offer = make_offer(
        "192.0.2.1",
        [audio_media(5000), audio(5002, "0", direction="recvonly"), audio(0, "8")],
        session_id=100,
    )
    held = hold(offer)
    assert held.origin == dataclasses.replace(offer.origin, version=101)
    assert [held.direction_of(m) for m in held.media] == ["sendonly", "inactive", "sendrecv"]
    assert held.media[2] == offer.media[2]  # a rejected stream stays as it is
    assert held.media[0].attributes[-1] == ("sendonly", None)
    assert hold(held) is held  # nothing changes, so no new version
    resumed = resume(held)
    assert resumed.origin.version == 102
    assert [resumed.direction_of(m) for m in resumed.media] == ["sendrecv", "recvonly", "sendrecv"]
    assert resume(resumed) is resumed
    assert parse_sdp(bytes(held)) == held
    with pytest.raises(SIPUsageError):
        hold(
            dataclasses.replace(offer, origin=dataclasses.replace(offer.origin, version=2**64 - 1))
        )


def test_hold_replaces_the_direction_in_place_and_honours_session_default() -> None:
    media = audio(
        5000,
        "0",
        attributes=(
            ("rtpmap", "0 PCMU/8000"),
            ("recvonly", None),
            ("ptime", "20"),
            ("sendrecv", None),
        ),
    )
    assert media.with_direction("sendonly").attributes == (
        ("rtpmap", "0 PCMU/8000"),
        ("sendonly", None),
        ("ptime", "20"),
    )
    desc = dataclasses.replace(
        make_offer("192.0.2.1", [audio(5000, "0")]), attributes=(("recvonly", None),)
    )
    assert hold(desc).media[0].direction == "inactive"


# ---------------------------------------------------------------------------
# Refusing what we must not emit


@pytest.mark.parametrize("bad", ["a\r\nb", "a\nb", "a\rb", "a\0b"])
def test_cr_lf_nul_in_values_are_refused(bad: str) -> None:
    origin = Origin("-", 1, 1, "IN", "IP4", "h")
    with pytest.raises(SIPUsageError):
        SessionDescription(origin, session_name=bad)
    with pytest.raises(SIPUsageError):
        audio(1, "0", attributes=(("x", bad),))
    with pytest.raises(SIPUsageError):
        Media("audio", 1, "RTP/AVP", ("0",), extra=(("i", bad),))
    with pytest.raises(SIPUsageError):
        make_offer(bad, [])
    with pytest.raises(SIPUsageError):
        Connection("IN", "IP4", bad)


@pytest.mark.parametrize(
    "build",
    [
        lambda: Origin("two words", 1, 1, "IN", "IP4", "h"),
        lambda: Origin("-", -1, 1, "IN", "IP4", "h"),
        lambda: Origin("-", 1, 2**64, "IN", "IP4", "h"),
        lambda: Origin("-", 1, True, "IN", "IP4", "h"),
        lambda: Media("audio", 65536, "RTP/AVP", ("0",)),
        lambda: Media("audio", 1, "RTP/AVP", ("0",), port_count=0),
        lambda: Media("audio", 1, "RTP/AVP", ("",)),
        lambda: Media("audio", 1, "RTP/AVP", ("0",), attributes=(("a:b", None),)),
        lambda: Media("audio", 1, "RTP/AVP", ("0",), attributes=(("", "x"),)),
        lambda: Media("audio", 1, "RTP/AVP", ("0",), extra=(("c", "IN IP4 h"),)),
        lambda: Media("audio", 1, "RTP/AVP", ("0",), extra=(("ab", "x"),)),
        lambda: SessionDescription(Origin("-", 1, 1, "IN", "IP4", "h"), extra=(("t", "0 0"),)),
        lambda: SessionDescription(Origin("-", 1, 1, "IN", "IP4", "h"), timing=((0, -1),)),
        lambda: SessionDescription(Origin("-", 1, 1, "IN", "IP4", "h"), session_name="\ud800"),
        lambda: audio_media(5000, ["speex"]),
        lambda: audio(1, "0").with_direction("bothways"),
    ],
)
def test_invalid_values_are_refused(build: object) -> None:
    with pytest.raises(SIPUsageError):
        build()  # type: ignore[operator]


# ---------------------------------------------------------------------------
# Malformed input

GOOD = b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\n"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\r\n",
        b"o=- 1 1 IN IP4 h\r\ns=-\r\n",  # no v=
        b"v=1\r\no=- 1 1 IN IP4 h\r\ns=-\r\n",
        b"v=0\r\ns=-\r\n",  # no o=
        b"v=0\r\no=- 1 1 IN IP4 h\r\n",  # no s=
        b"v=0\r\no=- 1 1 IN IP4\r\ns=-\r\n",
        b"v=0\r\no=- one 1 IN IP4 h\r\ns=-\r\n",
        b"v=0\r\no=- \xd9\xa1 1 IN IP4 h\r\ns=-\r\n",  # an Arabic-Indic digit
        b"v=0\r\no=- 1 18446744073709551616 IN IP4 h\r\ns=-\r\n",
        GOOD + b"o=- 1 1 IN IP4 h\r\n",
        GOOD + b"v=0\r\n",
        GOOD + b"c=IN IP4\r\n",
        GOOD + b"c=IN IP4 h\r\nc=IN IP4 h\r\n",
        GOOD + b"t=0\r\n",
        GOOD + b"t=now later\r\n",
        GOOD + b"garbage\r\n",
        GOOD + b"x =y\r\n",
        GOOD + b"1=y\r\n",
        GOOD + b"a=\r\n",
        GOOD + b"a=:value\r\n",
        GOOD + b"a=two words\r\n",
        GOOD + b"a=x\ry\r\n",
        GOOD + b"a=x\0\r\n",
        GOOD + b"s=\xff\r\n",
        GOOD + b"m=audio 5000\r\n",
        GOOD + b"m=audio 70000 RTP/AVP 0\r\n",
        GOOD + b"m=audio 5000/0 RTP/AVP 0\r\n",
        GOOD + b"m=audio 5000/ RTP/AVP 0\r\n",
        GOOD + b"m=audio x RTP/AVP 0\r\n",
        GOOD + b"m=audio 5000 RTP/AVP 0\r\nc=IN IP4 h\r\nc=IN IP4 h\r\n",
        GOOD + b"m=audio 5000 RTP/AVP 0\r\nv=0\r\n",
    ],
)
def test_malformed_input_raises_sdp_error(data: bytes) -> None:
    with pytest.raises(SDPError) as info:
        parse_sdp(data)
    assert isinstance(info.value, SIPParseError)
    assert info.value.status == 400


def test_limits() -> None:
    media = b"m=audio 5000 RTP/AVP 0\r\n"
    assert len(parse_sdp(GOOD + media * 64).media) == 64
    with pytest.raises(SDPError, match="media sections"):
        parse_sdp(GOOD + media * 65)
    with pytest.raises(SDPError, match="media sections"):
        parse_sdp(GOOD + media * 3, max_media=2)
    with pytest.raises(SDPError, match="lines"):
        parse_sdp(GOOD + b"a=x\r\n" * 1021)
    with pytest.raises(SDPError, match="bytes"):
        parse_sdp(GOOD + b"a=" + b"x" * 65_536 + b"\r\n")
    with pytest.raises(SDPError, match="bytes"):
        parse_sdp(GOOD, max_size=len(GOOD) - 1)
    assert parse_sdp(bytearray(GOOD)) == parse_sdp(GOOD)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# Properties

_WORD = st.text(
    st.characters(codec="utf-8", exclude_characters=" \t\r\n\0"), min_size=1, max_size=8
)
_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\r\n\0"), max_size=12)
_TOKEN = st.from_regex(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]{1,10}", fullmatch=True)
_NUMBER = st.integers(0, 2**64 - 1)
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ATTRIBUTES = st.lists(st.tuples(_TOKEN, st.none() | _TEXT), max_size=4).map(tuple)
_CONNECTION = st.builds(Connection, _WORD, _WORD, _WORD)


def _extra(reserved: str) -> st.SearchStrategy[tuple[tuple[str, str], ...]]:
    letters = st.sampled_from([c for c in _LETTERS if c not in reserved])
    return st.lists(st.tuples(letters, _TEXT), max_size=4).map(tuple)


_MEDIA = st.builds(
    Media,
    _WORD,
    st.integers(0, 65_535),
    _WORD,
    st.lists(_WORD, max_size=4).map(tuple),
    st.integers(1, 65_535),
    st.none() | _CONNECTION,
    _ATTRIBUTES,
    _extra("mcav"),
)
_DESCRIPTIONS = st.builds(
    SessionDescription,
    st.builds(Origin, _WORD, _NUMBER, _NUMBER, _WORD, _WORD, _WORD),
    _TEXT,
    st.none() | _CONNECTION,
    st.lists(st.tuples(_NUMBER, _NUMBER), max_size=3).map(tuple),
    _ATTRIBUTES,
    st.lists(_MEDIA, max_size=4).map(tuple),
    _extra("vosctam"),
)


@given(_DESCRIPTIONS)
def test_serialise_parse_round_trip(desc: SessionDescription) -> None:
    data = bytes(desc)
    assert data.endswith(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert parse_sdp(data) == desc


@given(_DESCRIPTIONS)
def test_hold_resume_keep_the_description_valid(desc: SessionDescription) -> None:
    assume(desc.origin.version < 2**64 - 2)  # hold, then resume: two versions up
    held = hold(desc)
    assert parse_sdp(bytes(held)) == held
    assert hold(held) == held
    assert all(held.direction_of(m) in ("sendonly", "inactive") for m in held.media if m.port)
    assert held.origin.version in (desc.origin.version, desc.origin.version + 1)
    assert resume(held).media == resume(resume(held)).media


def _parse_or_sdp_error(data: bytes) -> None:
    try:
        desc = parse_sdp(data, max_media=8, max_lines=64)
    except SDPError:
        return
    assert isinstance(desc, SessionDescription)
    assert parse_sdp(bytes(desc)) == desc
    answer = make_answer(desc, "192.0.2.2", [audio_media(5000), desktop_sharing_media(5002)])
    assert len(answer.media) == len(desc.media)
    assert parse_sdp(bytes(answer)) == answer


@given(st.binary(max_size=512))
@example(b"v=0\no=- 1 1 IN IP4 h\ns=\xe2\x80\xa8\nm=a 1 p\n")
def test_any_bytes_give_a_description_or_sdp_error(data: bytes) -> None:
    _parse_or_sdp_error(data)


_LINES = st.sampled_from(
    [
        b"v=0",
        b"o=- 1 2 IN IP4 h",
        b"s= ",
        b"c=IN IP4 h",
        b"t=0 0",
        b"a=sendonly",
        b"a=x:y",
        b"m=audio 1 RTP/AVP 0",
        b"m=a 1/2 p",
        b"b=AS:1",
        b"r=1",
        b"k=x",
        b"\xc3\xa9=x",
        b"x=\x85",
        b"",
        b"\r",
        b"a= ",
        b"o=a 99999999999999999999 1 b c d",
        b"m=v 0 p *",
    ]
)


@given(
    st.lists(_LINES | st.binary(max_size=12), max_size=20),
    st.sampled_from([b"\r\n", b"\n", b"\r"]),
)
def test_shuffled_sdp_lines_give_a_description_or_sdp_error(lines: list[bytes], end: bytes) -> None:
    _parse_or_sdp_error(b"v=0" + end + end.join(lines))


@given(
    st.sampled_from([RFC4566_EXAMPLE, RFC3264_OFFER, RFC3264_REOFFER]),
    st.lists(st.tuples(st.integers(0, 400), st.integers(0, 8), st.binary(max_size=4)), max_size=6),
)
def test_mutated_descriptions_give_a_description_or_sdp_error(
    data: bytes, edits: list[tuple[int, int, bytes]]
) -> None:
    buf = bytearray(data)
    for at, cut, insert in edits:
        buf[at : at + cut] = insert
    _parse_or_sdp_error(bytes(buf))
