"""Typed header views, with the examples of RFC 3261 (§20, §24), RFC 3581,
RFC 5118, RFC 6665, RFC 3903, RFC 7616 and RFC 4475."""

from __future__ import annotations

import datetime as dt

import pytest

from sipstack.errors import HeaderError, SIPParseError, SIPUsageError
from sipstack.message import (
    AbsoluteURI,
    Address,
    CSeq,
    Params,
    SipURI,
    Via,
    format_date,
    parse,
    parse_address,
    parse_auth,
    parse_content_type,
    parse_cseq,
    parse_date,
    parse_event,
    parse_retry_after,
    parse_subscription_state,
    parse_uri,
    parse_via,
)

BASE = (
    b"OPTIONS sip:bob@biloxi.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: Bob <sip:bob@biloxi.com>\r\n"
    b"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
    b"CSeq: 63104 OPTIONS\r\n"
)


def msg_with(*lines: bytes):
    """BASE plus extra header lines, parsed."""
    return parse(BASE + b"".join(line + b"\r\n" for line in lines) + b"Content-Length: 0\r\n\r\n")


def response_with(*lines: bytes):
    data = (
        b"SIP/2.0 200 OK\r\n"
        b"Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds;received=192.0.2.1\r\n"
        b"To: Bob <sip:bob@biloxi.com>;tag=a6c85cf\r\n"
        b"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
        b"Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
        b"CSeq: 314159 INVITE\r\n"
        + b"".join(line + b"\r\n" for line in lines)
        + b"Content-Length: 0\r\n\r\n"
    )
    return parse(data)


# ---------------------------------------------------------------------------
# Via (RFC 3261 §20.42, §18.2.1; RFC 3581; RFC 5118)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "transport", "host", "port", "branch"),
    [
        # RFC 3261 §20.42 examples
        (
            "SIP/2.0/UDP erlang.bell-telephone.com:5060;branch=z9hG4bK87asdks7",
            "UDP",
            "erlang.bell-telephone.com",
            5060,
            "z9hG4bK87asdks7",
        ),
        (
            "SIP/2.0/UDP 192.0.2.1:5060 ;received=192.0.2.207;branch=z9hG4bK77asjd",
            "UDP",
            "192.0.2.1",
            5060,
            "z9hG4bK77asjd",
        ),
        # RFC 3261 §24.2 (F1)
        (
            "SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8",
            "UDP",
            "pc33.atlanta.com",
            None,
            "z9hG4bKnashds8",
        ),
        # LWS around "/" and ":" (RFC 3261 §20.42, RFC 4475 wsinv)
        (
            "SIP / 2.0 / UDP first.example.com: 4000;ttl=16;maddr=224.2.0.1 ;branch=z9hG4bKa7c6a8dlze.1",
            "UDP",
            "first.example.com",
            4000,
            "z9hG4bKa7c6a8dlze.1",
        ),
        (
            "SIP  /   2.0 /UDP 192.0.2.2;rport;branch=390skdjuw",
            "UDP",
            "192.0.2.2",
            None,
            "390skdjuw",
        ),
        (
            "SIP  / 2.0  / TCP     spindle.example.com   ; branch  =   z9hG4bK9ikj8",
            "TCP",
            "spindle.example.com",
            None,
            "z9hG4bK9ikj8",
        ),
        # transports (RFC 4475 §3.1.1.10); the transport is upper-cased
        (
            "SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf",
            "SCTP",
            "t2.example.com",
            None,
            "z9hG4bKklasjdhf",
        ),
        (
            "SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj",
            "TLS",
            "t3.example.com",
            None,
            "z9hG4bK2980unddj",
        ),
        (
            "SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en",
            "UNKNOWN",
            "t4.example.com",
            None,
            "z9hG4bKasd0f3en",
        ),
        (
            "SIP/2.0/udp lower.example.com;branch=z9hG4bK1",
            "UDP",
            "lower.example.com",
            None,
            "z9hG4bK1",
        ),
        (
            "SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKasudf",
            "WSS",
            "df7jal23ls0d.invalid",
            None,
            "z9hG4bKasudf",
        ),
        # IPv6 (RFC 5118 §4.5, §4.7, §4.9)
        (
            "SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3-111",
            "UDP",
            "[2001:db8::9:1]",
            6050,
            "z9hG4bKas3-111",
        ),
        (
            "SIP/2.0/TCP [2001:db8::9:255];branch=z9hG4bK451jj;received=192.0.2.200",
            "TCP",
            "[2001:db8::9:255]",
            None,
            "z9hG4bK451jj",
        ),
        (
            "SIP/2.0/UDP [::ffff:192.0.2.10]:19823;branch=z9hG4bKbh19",
            "UDP",
            "[::ffff:192.0.2.10]",
            19823,
            "z9hG4bKbh19",
        ),
        ("SIP/2.0/UDP [2001:db8::10:5070]", "UDP", "[2001:db8::10:5070]", None, None),
        # token characters in a branch (RFC 4475 §3.1.1.2)
        (
            "SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~",
            "TCP",
            "host1.example.com",
            None,
            "z9hG4bK-.!%66*_+`'~",
        ),
    ],
)
def test_via(text, transport, host, port, branch):
    via = parse_via(text)
    assert via.protocol == "SIP/2.0"
    assert via.transport == transport
    assert via.host == host
    assert via.port == port
    assert via.sent_by == (host, port)
    assert via.branch == branch
    assert str(via) == text.strip()


@pytest.mark.parametrize(
    ("text", "received"),
    [
        ("SIP/2.0/UDP 192.0.2.1:5060 ;received=192.0.2.207;branch=z9hG4bK77asjd", "192.0.2.207"),
        # RFC 5118 §4.5: received with and without IPv6 delimiters
        (
            "SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255];branch=z9hG4bKas3-111",
            "[2001:db8::9:255]",
        ),
        (
            "SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKas3",
            "2001:db8::9:255",
        ),
        ("SIP/2.0/UDP host;branch=z9hG4bK1", None),
    ],
)
def test_via_received(text, received):
    assert parse_via(text).received == received


@pytest.mark.parametrize(
    ("text", "requested", "rport"),
    [
        ("SIP/2.0/UDP 192.0.2.2;rport;branch=z9hG4bK1", True, None),  # RFC 3581 §3 request
        (
            "SIP/2.0/UDP 10.1.1.1:4540;received=192.0.2.1;rport=9988;branch=z9hG4bKkjshdyff",
            True,
            9988,
        ),  # RFC 3581 §4
        ("SIP/2.0/UDP 192.0.2.2;RPORT=5060;branch=z9hG4bK1", True, 5060),
        ("SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK1", False, None),
        ("SIP/2.0/UDP 192.0.2.2;rport=abc;branch=z9hG4bK1", True, None),
    ],
)
def test_via_rport(text, requested, rport):
    via = parse_via(text)
    assert via.rport_requested is requested
    assert via.rport == rport


def test_via_rport_out_of_range():
    assert parse_via("SIP/2.0/UDP 192.0.2.2;rport=99999").rport is None


def test_via_maddr_ttl():
    via = parse_via(
        "SIP/2.0/UDP first.example.com:4000;ttl=16;maddr=224.2.0.1;branch=z9hG4bKa7c6a8dlze.1"
    )
    assert via.maddr == "224.2.0.1"
    assert via.ttl == 16
    assert parse_via("SIP/2.0/UDP h;ttl=1000").ttl is None
    assert parse_via("SIP/2.0/UDP h").ttl is None


@pytest.mark.parametrize(
    ("branch", "cookie"),
    [
        ("z9hG4bK776asdhds", True),
        ("z9hG4bK", True),  # RFC 4475 §3.2.1 badbranch: the cookie without an identifier
        ("390skdjuw", False),  # RFC 2543-style branch
        ("Z9HG4BK776", False),  # the cookie is case-sensitive
        (None, False),
    ],
)
def test_via_magic_cookie(branch, cookie):
    text = "SIP/2.0/UDP h.example.com" + ("" if branch is None else f";branch={branch}")
    assert parse_via(text).has_magic_cookie is cookie


@pytest.mark.parametrize(
    "text",
    [
        "",
        "SIP/2.0 host",  # no transport
        "SIP/2.0/UDP",  # no sent-by
        "SIP/2.0/UDP host:99999",
        "SIP/2.0/UDP host:",
        "SIP/2.0/UDP host;branch=a b",
        "SIP/2.0/UDP [::1",
        "SIP/2.0/UDP [2001:db8:::192.0.2.1]",  # RFC 5954
        "SIP/2.0/UDP host junk",
        "SIP/2.0/UDP ho st",
        "SIP/2.0/UDP host (comment)",  # RFC 2543 comments are gone
        "SIP/2.0/UDP 192.0.2.15;;",  # RFC 4475 badinv01
        "SIP/2.0/UDP host;",
        "SIP/2.0/UDP host;=x",
        "SIP/2.0/UDP host;branch=",
    ],
)
def test_bad_via(text):
    with pytest.raises(SIPParseError):
        parse_via(text)


def test_vias_from_message_compact_and_folded():
    msg = parse(
        b"INVITE sip:bob@biloxi.com SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP server10.biloxi.com;branch=z9hG4bK4b43c2ff8.1;received=192.0.2.3\r\n"
        b"v:  SIP  / 2.0  / TCP     spindle.example.com   ;\r\n"
        b"  branch  =   z9hG4bK9ikj8  ,\r\n"
        b" SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n"
        b" z9hG4bK30239\r\n"
        b"VIA: SIP/2.0/UDP [2001:db8::9:1]:6050;rport=6050;branch=z9hG4bKas3-111\r\n"
        b"Max-Forwards: 70\r\n"
        b"To: Bob <sip:bob@biloxi.com>\r\n"
        b"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
        b"Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
        b"CSeq: 314159 INVITE\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    vias = msg.vias
    assert [v.host for v in vias] == [
        "server10.biloxi.com",
        "spindle.example.com",
        "192.168.255.111",
        "[2001:db8::9:1]",
    ]
    assert [v.transport for v in vias] == ["UDP", "TCP", "UDP", "UDP"]
    assert [v.branch for v in vias] == [
        "z9hG4bK4b43c2ff8.1",
        "z9hG4bK9ikj8",
        "z9hG4bK30239",
        "z9hG4bKas3-111",
    ]
    assert msg.top_via.received == "192.0.2.3"
    assert msg.top_via == vias[0]
    assert vias[3].port == 6050 and vias[3].rport == 6050


def test_via_build_and_with_param():
    via = Via("[2001:db8::1]", 5060, "tcp", Params([("branch", "z9hG4bKabc")]))
    assert str(via) == "SIP/2.0/TCP [2001:db8::1]:5060;branch=z9hG4bKabc"
    via2 = via.with_param("received", "192.0.2.1").with_param("rport", "5062")
    assert via2.received == "192.0.2.1"
    assert via2.rport == 5062
    assert parse_via(str(via2)) == via2
    assert via.received is None  # immutable
    with pytest.raises(SIPUsageError):
        Via("bad host")
    with pytest.raises(SIPUsageError):
        Via("host", 70000)


def test_via_equality_ignores_case_of_host_and_transport():
    assert parse_via("SIP/2.0/udp HOST.example.com;branch=z9hG4bK1") == parse_via(
        "SIP/2.0/UDP host.example.com;branch=z9hG4bK1"
    )
    assert parse_via("SIP/2.0/UDP a;branch=z9hG4bK1") != parse_via("SIP/2.0/UDP a;branch=z9hG4bK2")


# ---------------------------------------------------------------------------
# name-addr / addr-spec (From, To, Contact, Route, Record-Route, Refer-To)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "display", "uri", "params"),
    [
        # RFC 3261 §20.20 / §20.39 examples
        (
            '"A. G. Bell" <sip:agb@bell-telephone.com> ;tag=a48s',
            "A. G. Bell",
            "sip:agb@bell-telephone.com",
            [("tag", "a48s")],
        ),
        (
            "sip:+12125551212@server.phone2net.com;tag=887s",
            None,
            "sip:+12125551212@server.phone2net.com",
            [("tag", "887s")],
        ),
        (
            "Anonymous <sip:c8oqz84zk7z@privacy.org>;tag=hyh8",
            "Anonymous",
            "sip:c8oqz84zk7z@privacy.org",
            [("tag", "hyh8")],
        ),
        (
            "The Operator <sip:operator@cs.columbia.edu>;tag=287447",
            "The Operator",
            "sip:operator@cs.columbia.edu",
            [("tag", "287447")],
        ),
        (
            "sip:operator@cs.columbia.edu;tag=287447",
            None,
            "sip:operator@cs.columbia.edu",
            [("tag", "287447")],
        ),
        ("Bob <sip:bob@biloxi.com>;tag=a6c85cf", "Bob", "sip:bob@biloxi.com", [("tag", "a6c85cf")]),
        # quoted display names with quoted-pairs
        (
            '"Joe \\"the man\\" Bloggs" <sip:joe@example.com>',
            'Joe "the man" Bloggs',
            "sip:joe@example.com",
            [],
        ),
        (
            '"J Rosenberg \\\\\\"" <sip:jdrosen@example.com>;tag=98asjd8',
            'J Rosenberg \\"',
            "sip:jdrosen@example.com",
            [("tag", "98asjd8")],
        ),
        (
            '"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam = newvalue ; secondparam ; q = 0.33',
            'Quoted string ""',
            "sip:jdrosen@example.com",
            [("newparam", "newvalue"), ("secondparam", None), ("q", "0.33")],
        ),
        ('"\\\\" <sip:x@example.com>', "\\", "sip:x@example.com", []),
        ('"" <sip:x@example.com>', "", "sip:x@example.com", []),
        (
            '"%Z%45" <sip:resource@example.com>',
            "%Z%45",
            "sip:resource@example.com",
            [],
        ),  # RFC 4475 esc02
        (
            '"Bell, Alexander" <sip:a.g.bell@example.com>;tag=433423',
            "Bell, Alexander",
            "sip:a.g.bell@example.com",
            [("tag", "433423")],
        ),
        ('"caf\u00e9 \u5927" <sip:x@example.com>', "caf\u00e9 \u5927", "sip:x@example.com", []),
        # token display names, including every non-alphanumeric token character (RFC 4475 intmeth)
        (
            "token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;tag=_token~1'+`*%!-.",
            "token1~` token2'+_ token3*%!.-",
            "sip:mundane@example.com",
            [("tag", "_token~1'+`*%!-.")],
        ),
        # no LWS between display name and "<" (RFC 4475 §3.1.1.6 lwsdisp)
        (
            "caller<sip:caller@example.com>;tag=323",
            "caller",
            "sip:caller@example.com",
            [("tag", "323")],
        ),
        ('"Caller"<sip:caller@example.com>', "Caller", "sip:caller@example.com", []),
        # URI parameters inside <>, header parameters outside
        ("<sip:proxy.example.com;lr>;tag=1", None, "sip:proxy.example.com;lr", [("tag", "1")]),
        # addr-spec: parameters after the URI are header parameters (RFC 3261 §20.10)
        (
            "sip:alice@atlanta.com;transport=tcp",
            None,
            "sip:alice@atlanta.com",
            [("transport", "tcp")],
        ),
        (
            "sip:+19725552222@gw1.example.net;unknownparam",
            None,
            "sip:+19725552222@gw1.example.net",
            [("unknownparam", None)],
        ),  # cparam01
        (
            "<sip:+19725552222@gw1.example.net;unknownparam>",
            None,
            "sip:+19725552222@gw1.example.net;unknownparam",
            [],
        ),  # cparam02
        # IPv6 (RFC 5118)
        ('"Caller" <sip:caller@[2001:db8::1]>', "Caller", "sip:caller@[2001:db8::1]", []),
        (
            '"T. desk phone" <sip:ted@[::ffff:192.0.2.2]>',
            "T. desk phone",
            "sip:ted@[::ffff:192.0.2.2]",
            [],
        ),
        # other schemes (RFC 4475 §3.3.4 unksm2, RFC 3261 §20.10)
        ("isbn:2983792873", None, "isbn:2983792873", []),
        (
            "<http://www.example.com>;tag=3234233",
            None,
            "http://www.example.com",
            [("tag", "3234233")],
        ),
        ("<name:John_Smith>", None, "name:John_Smith", []),
        (
            '"Mr. Watson" <mailto:watson@bell-telephone.com> ;q=0.1',
            "Mr. Watson",
            "mailto:watson@bell-telephone.com",
            [("q", "0.1")],
        ),
        # surrounding whitespace
        ("   <sip:x@example.com>   ", None, "sip:x@example.com", []),
        # URI headers need <>
        (
            "<sip:user@example.com?Route=%3Csip:sip.example.com%3E>",
            None,
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            [],
        ),
    ],
)
def test_address(text, display, uri, params):
    addr = parse_address(text)
    assert addr.display_name == display
    assert str(addr.uri) == uri
    assert list(addr.params) == params
    assert str(addr) == text.strip()


def test_address_uri_types():
    assert isinstance(parse_address("<sip:a@example.com>").uri, SipURI)
    assert isinstance(parse_address("<mailto:a@example.com>").uri, AbsoluteURI)
    assert parse_address("<tel:+1-201-555-0123>").uri.scheme == "tel"


@pytest.mark.parametrize(
    ("text", "tag", "q", "expires"),
    [
        ("<sip:alice@pc33.atlanta.com>", None, None, None),
        (
            '"Mr. Watson" <sip:watson@worcester.bell-telephone.com>;q=0.7; expires=3600',
            None,
            0.7,
            3600,
        ),  # RFC 3261 §20.10
        ("<sip:bob@192.0.2.4>;expires=3600", None, None, 3600),
        ("<sip:a@example.com>;q=1.0", None, 1.0, None),
        ("<sip:a@example.com>;q=0", None, 0.0, None),
        ("<sip:a@example.com>;q=1.5", None, None, None),  # out of range
        ("<sip:a@example.com>;q=abc;expires=soon", None, None, None),
        ("<sip:a@example.com>;TAG=xyz", "xyz", None, None),
    ],
)
def test_address_tag_q_expires(text, tag, q, expires):
    addr = parse_address(text)
    assert addr.tag == tag
    assert addr.q == q
    assert addr.expires == expires


@pytest.mark.parametrize(
    "text",
    [
        "",
        '"Mr. J. User <sip:j.user@example.com>',  # RFC 4475 §3.1.2.6 quotbal
        "<sip:x@example.com",
        "<>",
        "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",  # RFC 4475 §3.1.2.15 baddn
        "Watson, Thomas <sip:t.watson@example.org>",
        "< sip:t.watson@example.org >",  # RFC 4475 §3.1.2.14 badaspec
        "sip:user@example.com?Route=%3Csip:sip.example.com%3E",  # RFC 4475 §3.1.2.13 regbadct
        '"Joe"sip:x@example.com',
        '"Joe" ',
        "<sip:x@example.com>;=bad",
        "<sip:x@example.com>;;;;",  # RFC 4475 §3.1.2.1 badinv01
        "<sip:x@example.com> junk",
        "<sip:x@example.com>;tag=a b",
        "sip:a@example.com, sip:c@example.com",
        "user@example.com",  # no scheme
        'Jo"e <sip:a@example.com>',
        "<sip:x@exa mple.com>",
    ],
)
def test_bad_address(text):
    with pytest.raises(SIPParseError):
        parse_address(text, "To")


def test_address_build():
    uri = parse_uri("sip:alice@atlanta.com")
    assert str(Address(uri)) == "<sip:alice@atlanta.com>"
    assert str(Address(uri, "Alice")) == "Alice <sip:alice@atlanta.com>"
    assert str(Address(uri, "Alice Smith")) == "Alice Smith <sip:alice@atlanta.com>"
    quoted = Address(uri, 'Bell, "Alex"')
    assert str(quoted) == '"Bell, \\"Alex\\"" <sip:alice@atlanta.com>'
    assert parse_address(str(quoted)).display_name == 'Bell, "Alex"'
    tagged = Address(uri, "Alice").with_tag("1928301774")
    assert str(tagged) == "Alice <sip:alice@atlanta.com>;tag=1928301774"
    assert parse_address(str(tagged)) == tagged
    with pytest.raises(SIPUsageError):
        Address(uri, "evil\r\nVia: x")
    with pytest.raises(SIPUsageError):
        Address("sip:alice@atlanta.com")  # type: ignore[arg-type]


def test_from_to_in_message():
    msg = msg_with()
    assert msg.from_addr.display_name == "Alice"
    assert msg.from_addr.tag == "1928301774"
    assert str(msg.from_addr.uri) == "sip:alice@atlanta.com"
    assert msg.to_addr.tag is None
    assert msg.to_addr.uri == parse_uri("sip:bob@biloxi.com")


# ---------------------------------------------------------------------------
# Contact, Route, Record-Route, Refer-To
# ---------------------------------------------------------------------------


def test_contact_star():
    msg = msg_with(b"Contact: *", b"Expires: 0")  # RFC 3261 §10.2.2
    assert msg.contact_is_star is True
    assert msg.contacts == ()
    assert msg.expires == 0
    msg.validate()


@pytest.mark.parametrize(
    "lines",
    [[b"Contact: *, <sip:a@example.com>"], [b"Contact: *", b"Contact: <sip:a@example.com>"]],
)
def test_contact_star_mixed_is_an_error(lines):
    msg = msg_with(*lines)
    with pytest.raises(HeaderError):
        _ = msg.contacts
    with pytest.raises(SIPParseError):
        msg.validate()


def test_contacts_list():
    msg = msg_with(
        b'Contact: "Mr. Watson" <sip:watson@worcester.bell-telephone.com>;q=0.7; expires=3600,',
        b' "Mr. Watson" <mailto:watson@bell-telephone.com> ;q=0.1',
        b"m: <sip:c@example.com>",
    )
    contacts = msg.contacts
    assert len(contacts) == 3
    assert msg.contact_is_star is False
    assert [c.q for c in contacts] == [0.7, 0.1, None]
    assert contacts[0].expires == 3600
    assert isinstance(contacts[1].uri, AbsoluteURI)
    assert str(contacts[2].uri) == "sip:c@example.com"


def test_no_contact():
    msg = msg_with()
    assert msg.contacts == ()
    assert msg.contact_is_star is False


def test_routes_and_record_routes():
    msg = msg_with(
        b"Route: <sip:bigbox3.site3.atlanta.com;lr>, <sip:server10.biloxi.com;lr>",
        b"Record-Route: <sip:server10.biloxi.com;lr>",
        b"Record-Route: <sip:bigbox3.site3.atlanta.com;lr>",
    )
    assert [str(r.uri) for r in msg.routes] == [
        "sip:bigbox3.site3.atlanta.com;lr",
        "sip:server10.biloxi.com;lr",
    ]
    assert all(r.uri.lr for r in msg.routes)
    assert [r.uri.host for r in msg.record_routes] == [
        "server10.biloxi.com",
        "bigbox3.site3.atlanta.com",
    ]
    assert msg_with().routes == ()


def test_refer_to():
    msg = msg_with(
        b"Refer-To: <sip:dave@denver.example.org?Replaces=12345%40192.168.118.3%3Bto-tag%3D12345%3Bfrom-tag%3D5FFE-3994>"
    )
    uri = msg.refer_to.uri
    assert uri.user == "dave"
    assert uri.headers == (
        ("Replaces", "12345%40192.168.118.3%3Bto-tag%3D12345%3Bfrom-tag%3D5FFE-3994"),
    )
    assert (
        msg_with(b"r: sip:carol@cleveland.example.org").refer_to.uri.host == "cleveland.example.org"
    )
    assert msg_with().refer_to is None


# ---------------------------------------------------------------------------
# CSeq, Max-Forwards, Call-ID
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seq", "method"),
    [
        ("4711 INVITE", 4711, "INVITE"),  # RFC 3261 §20.16
        ("314159 INVITE", 314159, "INVITE"),
        ("0009 INVITE", 9, "INVITE"),  # leading zeros (RFC 4475 wsinv)
        (" 1   OPTIONS ", 1, "OPTIONS"),
        ("1\tINVITE", 1, "INVITE"),
        ("0 REGISTER", 0, "REGISTER"),
        ("4294967295 BYE", 2**32 - 1, "BYE"),
        (
            "139122385 !interesting-Method0123456789_*+`.%indeed'~",
            139122385,
            "!interesting-Method0123456789_*+`.%indeed'~",
        ),
        ("29344 RE%47IST%45R", 29344, "RE%47IST%45R"),  # % is no escape here (RFC 4475 esc02)
        ("1 invite", 1, "invite"),  # methods are case-sensitive: kept as written
    ],
)
def test_cseq(text, seq, method):
    cseq = parse_cseq(text)
    assert cseq.seq == seq
    assert cseq.method == method
    assert cseq == CSeq(seq, method)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "INVITE",
        "1",
        "-1 INVITE",
        "+1 INVITE",
        "1 INVITE x",
        "4294967296 INVITE",  # > 2**32-1
        "36893488147419103232 REGISTER",  # RFC 4475 scalar02
        "9292394834772304023312 OPTIONS",  # RFC 4475 scalarlg
        "1 INV ITE",
        "1 IN\u00c9",
        "\uff11 INVITE",  # full-width digit
        "1.5 INVITE",
        # LWS is SP and HT only: not NBSP, an em space or VT.
        "1\u00a0INVITE",
        "1\u2003INVITE",
        "1 \x0bINVITE",
    ],
)
def test_bad_cseq(text):
    with pytest.raises(SIPParseError):
        parse_cseq(text)


def test_cseq_in_message_and_str():
    msg = msg_with()
    assert msg.cseq == CSeq(63104, "OPTIONS")
    assert str(msg.cseq) == "63104 OPTIONS"
    with pytest.raises(SIPUsageError):
        CSeq(-1, "INVITE")
    with pytest.raises(SIPUsageError):
        CSeq(1, "IN VITE")


@pytest.mark.parametrize(
    ("value", "expected"), [(b"70", 70), (b"0", 0), (b"0068", 68), (b"255", 255), (b" 6 ", 6)]
)
def test_max_forwards(value, expected):
    data = BASE.replace(b"Max-Forwards: 70", b"Max-Forwards: " + value) + b"\r\n"
    assert parse(data).max_forwards == expected


@pytest.mark.parametrize("value", [b"256", b"300", b"-1", b"abc", b"", b"1 2", b"99999999999"])
def test_bad_max_forwards(value):
    msg = parse(BASE.replace(b"Max-Forwards: 70", b"Max-Forwards: " + value) + b"\r\n")
    with pytest.raises(SIPParseError):
        _ = msg.max_forwards
    with pytest.raises(SIPParseError):
        msg.validate()


def test_max_forwards_absent():
    msg = parse(BASE.replace(b"Max-Forwards: 70\r\n", b"") + b"\r\n")
    assert msg.max_forwards is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            b"f81d4fae-7dec-11d0-a765-00a0c91e6bf6@foo.bar.com",
            "f81d4fae-7dec-11d0-a765-00a0c91e6bf6@foo.bar.com",
        ),  # §20.8
        (b"a84b4c76e66710", "a84b4c76e66710"),
        (
            b"intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{",
            "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{",
        ),  # RFC 4475 intmeth
        (
            b"3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..",
            "3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..",
        ),  # mpart01
        (b"  transports.kijh4akdnaqjkwendsasfdj", "transports.kijh4akdnaqjkwendsasfdj"),
    ],
)
def test_call_id(value, expected):
    msg = parse(
        BASE.replace(b"Call-ID: a84b4c76e66710@pc33.atlanta.com", b"Call-ID: " + value) + b"\r\n"
    )
    assert msg.call_id == expected


@pytest.mark.parametrize("value", [b"a b", b"a@b@c", b"@b", b"a@", b"a;b", b"a,b"])
def test_bad_call_id(value):
    msg = parse(
        BASE.replace(b"Call-ID: a84b4c76e66710@pc33.atlanta.com", b"Call-ID: " + value) + b"\r\n"
    )
    with pytest.raises(SIPParseError):
        _ = msg.call_id
    with pytest.raises(SIPParseError):
        msg.validate()


# ---------------------------------------------------------------------------
# Content-Type (RFC 3261 §20.15)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "mime", "params", "charset"),
    [
        ("application/sdp", "application/sdp", [], None),
        (
            "text/html; charset=ISO-8859-4",
            "text/html",
            [("charset", "ISO-8859-4")],
            "ISO-8859-4",
        ),  # §20.15
        ('text/plain; charset="UTF-8"', "text/plain", [("charset", '"UTF-8"')], "UTF-8"),
        ("Application/SDP", "application/sdp", [], None),
        (
            "text / html ; charset=ISO-8859-4",
            "text/html",
            [("charset", "ISO-8859-4")],
            "ISO-8859-4",
        ),
        (
            "multipart/mixed;boundary=7a9cbec02ceef655",
            "multipart/mixed",
            [("boundary", "7a9cbec02ceef655")],
            None,
        ),  # mpart01
        ("message/sipfrag;version=2.0", "message/sipfrag", [("version", "2.0")], None),
        ("application/unknownformat", "application/unknownformat", [], None),  # invut
        ("application/pidf+xml", "application/pidf+xml", [], None),
    ],
)
def test_content_type(text, mime, params, charset):
    ct = parse_content_type(text)
    assert ct.mime == mime
    assert list(ct.params) == params
    assert ct.charset == charset


def test_content_type_keeps_case_of_parts():
    ct = parse_content_type("Application/SDP")
    assert (ct.type, ct.subtype) == ("Application", "SDP")
    assert str(parse_content_type("text/plain;charset=utf-8")) == "text/plain;charset=utf-8"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "application",
        "application/",
        "/sdp",
        "application/sdp junk",
        "text/plain;charset=",
        "text/plain;;",
        "app lication/sdp",
        "text/plain;charset=a b",
    ],
)
def test_bad_content_type(text):
    with pytest.raises(SIPParseError):
        parse_content_type(text)


def test_content_type_compact_in_message():
    msg = msg_with(b"c: application/sdp")
    assert msg.content_type.mime == "application/sdp"
    assert msg_with().content_type is None


# ---------------------------------------------------------------------------
# Expires / Min-Expires (RFC 3261 §20.19, §20.23)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(b"5", 5), (b"0", 0), (b"3600", 3600), (b"4294967295", 2**32 - 1), (b" 60 ", 60)],
)
def test_expires(value, expected):
    msg = msg_with(b"Expires: " + value, b"Min-Expires: " + value)
    assert msg.expires == expected
    assert msg.min_expires == expected


def test_expires_huge_value_is_clamped():
    # RFC 4475 §3.1.2.4 (scalar02) lets an element treat an overlarge expiry
    # leniently; this implementation clamps it to 2**32-1.
    msg = msg_with(b"Expires: " + b"1" + b"0" * 100)
    assert msg.expires == 2**32 - 1


def test_expires_clamping_consistent():
    # 10-digit values above 2**32-1 are treated like longer ones.
    assert msg_with(b"Expires: 5000000000").expires == 2**32 - 1
    assert msg_with(b"Expires: 4294967296").expires == 2**32 - 1
    assert msg_with(b"Expires: 5000000000").expires == msg_with(b"Expires: 50000000000").expires


@pytest.mark.parametrize("value", [b"abc", b"-5", b"Thu, 01 Dec 1994 16:00:00 GMT", b"1.5", b""])
def test_bad_expires(value):
    msg = msg_with(b"Expires: " + value)
    with pytest.raises(SIPParseError):
        _ = msg.expires


# ---------------------------------------------------------------------------
# Event / Subscription-State (RFC 6665)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "package", "ident", "params"),
    [
        ("presence", "presence", None, []),
        ("presence;id=1", "presence", "1", [("id", "1")]),
        ("refer;id=93809824", "refer", "93809824", [("id", "93809824")]),  # RFC 3515
        ("dialog; id = abc ; call-id=x", "dialog", "abc", [("id", "abc"), ("call-id", "x")]),
        ("message-summary", "message-summary", None, []),
        ("presence.winfo", "presence.winfo", None, []),  # template package
        ('conference;id="quoted"', "conference", "quoted", [("id", '"quoted"')]),
    ],
)
def test_event(text, package, ident, params):
    ev = parse_event(text)
    assert ev.package == package
    assert ev.id == ident
    assert list(ev.params) == params


@pytest.mark.parametrize(
    "text", ["", ";id=1", "pres ence", "presence;", "presence;id=a b", "pres\u00e9nce"]
)
def test_bad_event(text):
    with pytest.raises(SIPParseError):
        parse_event(text)


def test_event_compact_in_message():
    assert msg_with(b"o: presence;id=7").event.id == "7"
    assert msg_with().event is None


@pytest.mark.parametrize(
    ("text", "state", "reason", "expires", "retry_after"),
    [
        ("active;expires=60", "active", None, 60, None),
        ("pending;expires=600", "pending", None, 600, None),
        ("terminated;reason=timeout", "terminated", "timeout", None, None),
        ("terminated;reason=noresource;retry-after=3600", "terminated", "noresource", None, 3600),
        ("terminated;reason=rejected", "terminated", "rejected", None, None),
        ("Active;Expires=5", "active", None, 5, None),
        ("active;expires=abc", "active", None, None, None),
        ("x-extension;foo=bar", "x-extension", None, None, None),
    ],
)
def test_subscription_state(text, state, reason, expires, retry_after):
    ss = parse_subscription_state(text)
    assert ss.state == state
    assert ss.reason == reason
    assert ss.expires == expires
    assert ss.retry_after == retry_after


@pytest.mark.parametrize("text", ["", ";expires=1", "active junk", "active;", "active;expires=1 2"])
def test_bad_subscription_state(text):
    with pytest.raises(SIPParseError):
        parse_subscription_state(text)


# ---------------------------------------------------------------------------
# Option tags and methods: Allow / Supported / Require / Proxy-Require / Unsupported
# ---------------------------------------------------------------------------


def test_option_tag_lists():
    msg = msg_with(
        b"Allow: INVITE, ACK, OPTIONS, CANCEL, BYE",  # RFC 3261 §20.5
        b"Allow: SUBSCRIBE,NOTIFY",
        b"Supported: 100rel",
        b"k: timer, path",
        b"Require: nothingSupportsThis, nothingSupportsThisEither",  # RFC 4475 §3.3.5
        b"Proxy-Require: noProxiesSupportThis, norDoAnyProxiesSupportThis",
    )
    assert msg.allow == ("INVITE", "ACK", "OPTIONS", "CANCEL", "BYE", "SUBSCRIBE", "NOTIFY")
    assert msg.supported == ("100rel", "timer", "path")
    assert msg.require == ("nothingSupportsThis", "nothingSupportsThisEither")
    assert msg.proxy_require == ("noProxiesSupportThis", "norDoAnyProxiesSupportThis")
    assert msg.unsupported == ()
    msg.validate()


def test_unsupported_in_420():
    resp = response_with(b"Unsupported: foo, bar")
    assert resp.unsupported == ("foo", "bar")


def test_empty_option_lists():
    msg = msg_with(b"Supported:")  # RFC 3261 allows an empty Supported
    assert msg.supported == ()
    assert msg.allow == ()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (b"Allow", b"INVITE ACK"),
        (b"Supported", b"100rel timer"),
        (b"Require", b"a;b"),
        (b"Proxy-Require", b'"quoted"'),
        (b"Unsupported", b"foo bar"),
    ],
)
def test_bad_option_tags(name, value):
    msg = msg_with(name + b": " + value)
    with pytest.raises(SIPParseError):
        msg.validate()


# ---------------------------------------------------------------------------
# SIP-ETag / SIP-If-Match (RFC 3903)
# ---------------------------------------------------------------------------


def test_etags():
    assert response_with(b"SIP-ETag: dx200xyz").sip_etag == "dx200xyz"
    assert msg_with(b"SIP-If-Match: kwj449x").sip_if_match == "kwj449x"
    assert msg_with().sip_if_match is None
    assert response_with().sip_etag is None


@pytest.mark.parametrize("value", [b"a b", b'"quoted"', b"a,b", b""])
def test_bad_etags(value):
    with pytest.raises(SIPParseError):
        _ = msg_with(b"SIP-If-Match: " + value).sip_if_match
    with pytest.raises(SIPParseError):
        _ = response_with(b"SIP-ETag: " + value).sip_etag


# ---------------------------------------------------------------------------
# Authentication (RFC 3261 §20.7, §20.27, §20.28, §20.44, §22.4; RFC 7616)
# ---------------------------------------------------------------------------

RFC3261_WWW_AUTHENTICATE = (
    'Digest realm="atlanta.com", domain="sip:boxesbybob.com", qop="auth", '
    'nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="", stale=FALSE, algorithm=MD5'
)
RFC3261_AUTHORIZATION = (
    'Digest username="Alice", realm="atlanta.com", nonce="84a4cc6f3082121f32b42a2187831a9e", '
    'response="7587245234b3434cc3412213e5f113a5432"'
)
RFC3261_PROXY_AUTHORIZATION = (
    'Digest username="Alice", realm="atlanta.com", nonce="c60f3082ee1212b402a21831ae", '
    'response="245f23415f11432b3434341c022"'
)
RFC7616_CHALLENGE = (
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, '
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
)
RFC7616_CREDENTIALS = (
    'Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, '
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, '
    'cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, '
    'response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", '
    'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
)


def test_rfc3261_challenge():
    ch = parse_auth(RFC3261_WWW_AUTHENTICATE, "WWW-Authenticate")
    assert ch.scheme == "Digest"
    assert ch.is_digest
    assert ch.realm == "atlanta.com"
    assert ch.get("domain") == "sip:boxesbybob.com"
    assert ch.qop_options == ["auth"]
    assert ch.nonce == "f84f1cec41e6cbe5aea9c8e88d359"
    assert ch.opaque == ""
    assert ch.stale is False  # stale=FALSE, case-insensitive
    assert ch.algorithm == "MD5"
    assert dict(ch.params)["realm"] == '"atlanta.com"'  # kept as written


def test_rfc3261_credentials():
    cr = parse_auth(RFC3261_AUTHORIZATION, "Authorization")
    assert cr.username == "Alice"
    assert cr.realm == "atlanta.com"
    assert cr.nonce == "84a4cc6f3082121f32b42a2187831a9e"
    assert cr.response == "7587245234b3434cc3412213e5f113a5432"
    assert cr.algorithm == "MD5"  # default when absent
    assert cr.nc is None
    assert cr.qop_options == []


def test_rfc7616_challenge_and_credentials():
    ch = parse_auth(RFC7616_CHALLENGE, "WWW-Authenticate")
    assert ch.realm == "http-auth@example.org"
    assert ch.qop_options == ["auth", "auth-int"]
    assert ch.algorithm == "SHA-256"
    assert ch.nonce == "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
    assert ch.opaque == "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
    cr = parse_auth(RFC7616_CREDENTIALS, "Authorization")
    assert cr.username == "Mufasa"
    assert cr.uri == "/dir/index.html"
    assert cr.nc == 1
    assert cr.cnonce == "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
    assert cr.qop_options == ["auth"]
    assert cr.response == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    assert cr.get("ALGORITHM") == "SHA-256"  # parameter names are case-insensitive


@pytest.mark.parametrize(
    ("text", "scheme", "params", "token68"),
    [
        (
            "NoOneKnowsThisScheme opaque-data=here",
            "NoOneKnowsThisScheme",
            (("opaque-data", "here"),),
            None,
        ),  # RFC 4475 §3.3.7
        ("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "Basic", (), "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
        ("Bearer abc.def", "Bearer", (), "abc.def"),
        ("Digest", "Digest", (), None),
        ('Digest realm = "x" , nonce = "y"', "Digest", (("realm", '"x"'), ("nonce", '"y"')), None),
        ('Digest  realm="x"', "Digest", (("realm", '"x"'),), None),
    ],
)
def test_other_auth_forms(text, scheme, params, token68):
    a = parse_auth(text, "Authorization")
    assert a.scheme == scheme
    assert a.params == params
    assert a.token68 == token68


def test_auth_quoted_pair():
    a = parse_auth('Digest realm="a\\"b\\\\c", nonce="x,y"', "WWW-Authenticate")
    assert a.realm == 'a"b\\c'
    assert a.nonce == "x,y"


def test_auth_nc_invalid():
    assert parse_auth("Digest nc=zz000001", "Authorization").nc is None
    assert parse_auth("Digest nc=1", "Authorization").nc is None
    assert parse_auth("Digest stale=true", "WWW-Authenticate").stale is True


@pytest.mark.parametrize(
    "text",
    [
        "",
        'Digest realm="a", realm="b"',  # duplicate parameter
        'Digest realm="a", REALM="b"',
        'Digest realm="unterminated',
        "Digest realm=a b",
        'Dig:est realm="a"',
        'Digest realm="x" junk',
        "Digest realm=, nonce=x",
        'Digest =x, realm="a"',
    ],
)
def test_bad_auth(text):
    with pytest.raises(SIPParseError):
        parse_auth(text, "WWW-Authenticate")


def test_auth_headers_in_messages():
    resp = response_with(
        b"WWW-Authenticate: " + RFC3261_WWW_AUTHENTICATE.encode(),
        b"WWW-Authenticate: " + RFC7616_CHALLENGE.encode(),
        b"Proxy-Authenticate: "
        + RFC3261_WWW_AUTHENTICATE.replace("boxesbybob.com", "ss1.carrier.com").encode(),
    )
    assert [c.algorithm for c in resp.www_authenticate] == ["MD5", "SHA-256"]
    assert resp.proxy_authenticate[0].get("domain") == "sip:ss1.carrier.com"
    resp.validate()
    req = msg_with(
        b"Authorization: " + RFC3261_AUTHORIZATION.encode(),
        b"Proxy-Authorization: " + RFC3261_PROXY_AUTHORIZATION.encode(),
    )
    assert req.authorization[0].username == "Alice"
    assert req.proxy_authorization[0].nonce == "c60f3082ee1212b402a21831ae"
    req.validate()
    assert msg_with().authorization == ()


# ---------------------------------------------------------------------------
# Retry-After (RFC 3261 §20.33)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds", "comment", "duration"),
    [
        ("18000;duration=3600", 18000, None, 3600),  # §20.33
        ("120 (I'm in a meeting)", 120, "I'm in a meeting", None),  # §20.33
        ("120 (I'm in a meeting) ;duration=60", 120, "I'm in a meeting", 60),
        ("5 (a (nested) comment)", 5, "a (nested) comment", None),
        ("0", 0, None, None),
        ("5;duration=abc", 5, None, None),
        ("5 ;foo=bar", 5, None, None),
    ],
)
def test_retry_after(text, seconds, comment, duration):
    ra = parse_retry_after(text)
    assert ra.seconds == seconds
    assert ra.comment == comment
    assert ra.duration == duration


@pytest.mark.parametrize("text", ["", "abc", "(x) 5", "5 (unterminated", "5 junk", "-5", "5;"])
def test_bad_retry_after(text):
    with pytest.raises(SIPParseError):
        parse_retry_after(text)


def test_retry_after_in_message():
    assert (
        response_with(b"Retry-After: 120 (I'm in a meeting)").retry_after.comment
        == "I'm in a meeting"
    )
    assert response_with().retry_after is None


# ---------------------------------------------------------------------------
# Date (RFC 3261 §20.17)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Sat, 13 Nov 2010 23:29:00 GMT",
            dt.datetime(2010, 11, 13, 23, 29, 0, tzinfo=dt.UTC),
        ),  # §20.17
        (
            "Sat, 15 Oct 2005 04:44:56 GMT",
            dt.datetime(2005, 10, 15, 4, 44, 56, tzinfo=dt.UTC),
        ),  # mpart01
        ("Thu, 21 Feb 2002 13:02:03 GMT", dt.datetime(2002, 2, 21, 13, 2, 3, tzinfo=dt.UTC)),
        ("Tue, 29 Feb 2000 00:00:00 GMT", dt.datetime(2000, 2, 29, tzinfo=dt.UTC)),
    ],
)
def test_date(text, expected):
    d = parse_date(text)
    assert d == expected
    assert d.tzinfo is not None
    assert format_date(d) == text


def test_date_with_wrong_weekday_is_tolerated():
    # The weekday is redundant; the implementation ignores a wrong one.
    assert parse_date("Mon, 13 Nov 2010 23:29:00 GMT") == dt.datetime(
        2010, 11, 13, 23, 29, tzinfo=dt.UTC
    )


@pytest.mark.parametrize(
    "text",
    [
        "Fri, 01 Jan 2010 16:00:00 EST",  # RFC 4475 §3.1.2.12 baddate
        "Sat, 13 Nov 2010 23:29:00 UTC",  # RFC 4475: "UT", "UTC", "UCT" are invalid
        "Sat, 13 Nov 2010 23:29:00 UT",
        "Sat, 13 Nov 2010 23:29:00 +0000",
        "13 Nov 2010 23:29:00 GMT",
        "Saturday, 13-Nov-10 23:29:00 GMT",  # RFC 850 form
        "Sat Nov 13 23:29:00 2010",  # asctime form
        "Sat, 31 Feb 2010 23:29:00 GMT",
        "Sat, 13 Nov 2010 25:29:00 GMT",
        "Sat, 13 Nov 2010 23:29:60 GMT",
        "Sat, 3 Nov 2010 23:29:00 GMT",  # date1 needs 2DIGIT
        "Sat,  13 Nov 2010 23:29:00 GMT",
        "sat, 13 nov 2010 23:29:00 GMT",  # HTTP-date is case-sensitive
        "",
    ],
)
def test_bad_date(text):
    with pytest.raises(SIPParseError):
        parse_date(text)


def test_format_date_converts_to_gmt():
    d = dt.datetime(2010, 11, 14, 1, 29, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert format_date(d) == "Sat, 13 Nov 2010 23:29:00 GMT"


def test_date_in_message():
    assert msg_with(b"Date: Sat, 13 Nov 2010 23:29:00 GMT").date.year == 2010
    assert msg_with().date is None
    with pytest.raises(SIPParseError):
        msg_with(b"Date: Fri, 01 Jan 2010 16:00:00 EST").validate()


# ---------------------------------------------------------------------------
# Caching
# ---------------------------------------------------------------------------


def test_typed_views_are_cached():
    msg = msg_with(b"Contact: <sip:a@example.com>")
    assert msg.top_via is msg.top_via
    assert msg.contacts is msg.contacts
    assert msg.cseq is msg.cseq
