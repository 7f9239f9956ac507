"""Stream framing (RFC 3261 §18.3) and CRLF keep-alives (RFC 5626 §4.4.1)."""

from __future__ import annotations

import pytest

from sipstack.errors import BodyTooLarge, MessageTooLarge, SIPParseError
from sipstack.message import Limits, Ping, Pong, Request, Response, StreamFramer

REQ = (
    b"INVITE sip:bob@biloxi.com SIP/2.0\r\n"
    b"Via: SIP/2.0/TCP pc33.atlanta.com;branch=z9hG4bK776asdhds\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: Bob <sip:bob@biloxi.com>\r\n"
    b"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:alice@pc33.atlanta.com;transport=tcp>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 146\r\n"
    b"\r\n"
    b"v=0\r\n"
    b"o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.com\r\n"
    b"s=-\r\n"
    b"c=IN IP4 pc33.atlanta.com\r\n"
    b"t=0 0\r\n"
    b"m=audio 49172 RTP/AVP 0\r\n"
    b"a=rtpmap:0 PCMU/8000\r\n"
)

RESP = (
    b"SIP/2.0 180 Ringing\r\n"
    b"Via: SIP/2.0/TCP pc33.atlanta.com;branch=z9hG4bK776asdhds;received=192.0.2.1\r\n"
    b"To: Bob <sip:bob@biloxi.com>;tag=a6c85cf\r\n"
    b"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:bob@192.0.2.4>\r\n"
    b"l: 0\r\n"
    b"\r\n"
)

OPTIONS = (
    b"OPTIONS sip:bob@biloxi.com SIP/2.0\r\n"
    b"Via: SIP/2.0/TCP pc33.atlanta.com;branch=z9hG4bKopts\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: <sip:bob@biloxi.com>\r\n"
    b"From: <sip:alice@atlanta.com>;tag=1\r\n"
    b"Call-ID: opts@pc33.atlanta.com\r\n"
    b"CSeq: 1 OPTIONS\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)


def test_body_length_matches_content_length():
    _head, body = REQ.split(b"\r\n\r\n", 1)
    assert len(body) == 146


def test_one_message():
    f = StreamFramer()
    (msg,) = f.feed(REQ)
    assert isinstance(msg, Request)
    assert msg.method == "INVITE"
    assert msg.body == REQ.split(b"\r\n\r\n", 1)[1]
    assert bytes(msg) == REQ
    assert f.buffered == 0
    msg.validate()


def test_response():
    (msg,) = StreamFramer().feed(RESP)
    assert isinstance(msg, Response)
    assert msg.status == 180
    assert msg.body == b""
    assert bytes(msg) == RESP


def test_several_messages_in_one_chunk():
    events = StreamFramer().feed(REQ + RESP + OPTIONS + REQ)
    assert [type(e) for e in events] == [Request, Response, Request, Request]
    assert [bytes(e) for e in events] == [REQ, RESP, OPTIONS, REQ]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 13, 64, 100, 333])
def test_chunked_feeding(size):
    stream = REQ + b"\r\n\r\n" + RESP + OPTIONS
    f = StreamFramer()
    events = []
    for i in range(0, len(stream), size):
        events += f.feed(stream[i : i + size])
    kinds = [type(e) for e in events]
    # A ping split between two reads is reported as Pong then Ping (see
    # test_ping_split_in_two_reads); a Pong never appears on its own here.
    for i, kind in enumerate(kinds):
        if kind is Pong:
            assert kinds[i + 1] is Ping
    events = [e for e in events if not isinstance(e, Pong)]
    assert [type(e) for e in events] == [Request, Ping, Response, Request]
    assert bytes(events[0]) == REQ
    assert bytes(events[2]) == RESP
    assert bytes(events[3]) == OPTIONS
    assert f.buffered == 0


def test_nothing_until_complete():
    f = StreamFramer()
    assert f.feed(REQ[:-1]) == []
    assert f.buffered == len(REQ) - 1
    (msg,) = f.feed(REQ[-1:])
    assert bytes(msg) == REQ


def test_split_inside_end_of_headers():
    head_end = REQ.index(b"\r\n\r\n")
    for cut in range(head_end, head_end + 5):
        f = StreamFramer()
        assert f.feed(REQ[:cut]) == []
        (msg,) = f.feed(REQ[cut:])
        assert bytes(msg) == REQ


def test_body_containing_crlfcrlf_is_framed_by_length():
    body = b"\r\n\r\nINVITE sip:x SIP/2.0\r\n\r\n"
    data = OPTIONS.replace(b"Content-Length: 0", b"Content-Length: %d" % len(body)) + body
    events = StreamFramer().feed(data + OPTIONS)
    assert [type(e) for e in events] == [Request, Request]
    assert events[0].body == body


def test_binary_body():
    body = bytes(range(256))
    data = OPTIONS.replace(b"Content-Length: 0", b"Content-Length: 256") + body
    (msg,) = StreamFramer().feed(data)
    assert msg.body == body


def test_bytearray_and_memoryview_input():
    f = StreamFramer()
    assert len(f.feed(bytearray(REQ))) == 1
    assert len(f.feed(memoryview(RESP))) == 1


def test_returned_messages_are_independent_of_the_buffer():
    f = StreamFramer()
    (first,) = f.feed(OPTIONS)
    f.feed(REQ[:50])
    assert bytes(first) == OPTIONS


# ---------------------------------------------------------------------------
# Keep-alives (RFC 5626 §3.5.1, §4.4.1)
# ---------------------------------------------------------------------------


def test_ping():
    assert [type(e) for e in StreamFramer().feed(b"\r\n\r\n")] == [Ping]


def test_pong():
    assert [type(e) for e in StreamFramer().feed(b"\r\n")] == [Pong]


def test_several_pings():
    assert [type(e) for e in StreamFramer().feed(b"\r\n\r\n" * 3)] == [Ping, Ping, Ping]


def test_keep_alives_between_messages():
    events = StreamFramer().feed(b"\r\n\r\n" + OPTIONS + b"\r\n\r\n" + RESP + b"\r\n" + OPTIONS)
    assert [type(e) for e in events] == [Ping, Request, Ping, Response, Pong, Request]


def test_partial_crlf_waits():
    f = StreamFramer()
    assert f.feed(b"\r") == []
    assert [type(e) for e in f.feed(b"\n")] == [Pong]


def test_partial_ping_waits():
    f = StreamFramer()
    assert f.feed(b"\r\n\r") == []
    assert f.buffered == 3
    assert [type(e) for e in f.feed(b"\n")] == [Ping]
    assert f.buffered == 0


def test_ping_split_in_two_reads():
    # A CRLF that follows one already reported completes a ping split
    # across two reads: the first half was reported as a pong.
    f = StreamFramer()
    assert [type(e) for e in f.feed(b"\r\n")] == [Pong]
    assert [type(e) for e in f.feed(b"\r\n")] == [Ping]


def test_crlf_then_message():
    events = StreamFramer().feed(b"\r\n" + OPTIONS)
    assert [type(e) for e in events] == [Pong, Request]


def test_ping_then_message_start_in_same_chunk():
    f = StreamFramer()
    assert [type(e) for e in f.feed(b"\r\n\r\nOPT")] == [Ping]
    (msg,) = f.feed(OPTIONS[3:])
    assert bytes(msg) == OPTIONS


def test_keep_alive_reprs():
    assert repr(Ping()) == "Ping()"
    assert repr(Pong()) == "Pong()"


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def test_missing_content_length_is_an_error():
    # RFC 3261 §18.3 / §20.14: Content-Length is mandatory on streams.
    data = OPTIONS.replace(b"Content-Length: 0\r\n", b"")
    with pytest.raises(SIPParseError) as info:
        StreamFramer().feed(data)
    assert info.value.status == 400


def test_error_state_is_sticky():
    f = StreamFramer()
    with pytest.raises(SIPParseError) as first:
        f.feed(OPTIONS.replace(b"Content-Length: 0\r\n", b""))
    for data in (OPTIONS, b"\r\n\r\n", b""):
        with pytest.raises(SIPParseError) as again:
            f.feed(data)
        assert again.value is first.value
    assert f.buffered == 0


def test_messages_before_the_error_are_not_lost_across_calls():
    f = StreamFramer()
    (msg,) = f.feed(OPTIONS)
    assert msg.method == "OPTIONS"
    with pytest.raises(SIPParseError):
        f.feed(b"GARBAGE LINE\r\n\r\n")


def test_bad_start_line_found_before_body():
    data = REQ.replace(b"INVITE sip:bob@biloxi.com SIP/2.0", b"INVITE <sip:bob@biloxi.com> SIP/2.0")
    head = data[: data.index(b"\r\n\r\n") + 4]
    with pytest.raises(SIPParseError):
        StreamFramer().feed(head)  # the body has not arrived yet


@pytest.mark.parametrize(
    "value",
    [b"-999", b"five", b"1 2"],
    ids=["negative (RFC 4475 ncl)", "not a number", "two numbers"],
)
def test_bad_content_length_on_stream(value):
    with pytest.raises(SIPParseError):
        StreamFramer().feed(OPTIONS.replace(b"Content-Length: 0", b"Content-Length: " + value))


def test_conflicting_content_length_on_stream():
    # RFC 4475 §3.3.9 (mcl01): there is no way to know where the message ends.
    data = OPTIONS.replace(b"Content-Length: 0\r\n", b"Content-Length: 13\r\nContent-Length: 5\r\n")
    with pytest.raises(SIPParseError):
        StreamFramer().feed(data)


def test_large_content_length_waits_for_the_body():
    # RFC 4475 §3.1.2.2 (clerr) on a stream: wait for more data.
    f = StreamFramer()
    data = OPTIONS.replace(b"Content-Length: 0", b"Content-Length: 9999")
    assert f.feed(data + b"x" * 100) == []
    assert f.buffered == len(data) + 100


def test_header_section_too_large():
    f = StreamFramer(Limits(max_message_size=200))
    with pytest.raises(MessageTooLarge) as info:
        f.feed(b"OPTIONS sip:bob@biloxi.com SIP/2.0\r\nSubject: " + b"x" * 300)
    assert info.value.status == 513


def test_header_section_growing_slowly_too_large():
    f = StreamFramer(Limits(max_message_size=200))
    with pytest.raises(MessageTooLarge):
        for _ in range(100):
            f.feed(b"X-Header: value\r\n")


def test_declared_body_too_large():
    f = StreamFramer(Limits(max_body_size=100))
    with pytest.raises(BodyTooLarge) as info:
        f.feed(OPTIONS.replace(b"Content-Length: 0", b"Content-Length: 101"))
    assert info.value.status == 413


def test_whole_message_too_large():
    limits = Limits(max_message_size=len(OPTIONS) + 50)
    with pytest.raises(MessageTooLarge) as info:
        StreamFramer(limits).feed(OPTIONS.replace(b"Content-Length: 0", b"Content-Length: 60"))
    assert info.value.status == 513
    # exactly at the limit is fine
    body = b"y" * 48
    data = OPTIONS.replace(b"Content-Length: 0", b"Content-Length: 48") + body
    (msg,) = StreamFramer(Limits(max_message_size=len(data))).feed(data)
    assert msg.body == body


def test_too_many_header_lines_on_stream():
    extra = b"".join(b"X-H%d: v\r\n" % i for i in range(30))
    data = OPTIONS.replace(b"Content-Length: 0\r\n", extra + b"Content-Length: 0\r\n")
    with pytest.raises(SIPParseError):
        StreamFramer(Limits(max_header_lines=20)).feed(data)
    (msg,) = StreamFramer(Limits(max_header_lines=60)).feed(data)
    assert msg.headers.get("X-H29") == "v"


def test_stream_rejects_bare_lf():
    with pytest.raises(SIPParseError):
        StreamFramer().feed(OPTIONS.replace(b"\r\n", b"\n").replace(b"\n\n", b"\r\n\r\n"))


def test_lone_crlf_before_a_cr_that_is_not_a_ping_counts_as_a_pong():
    # "\r\n\r" + X (X not LF): the first CRLF is a lone pong whichever way the
    # bytes arrive, so the size limit is applied to the same bytes (a fuzzer
    # found one-chunk and byte-by-byte feeding disagreeing here).
    data = b"\r\n\rX"
    one = StreamFramer()
    assert one.feed(data) == [Pong()]
    assert one.buffered == 2
    bytewise = StreamFramer()
    events = []
    for i in range(len(data)):
        events += bytewise.feed(data[i : i + 1])
    assert events == [Pong()] and bytewise.buffered == 2
