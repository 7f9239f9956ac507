"""The header multimap (RFC 3261 §7.3): case-insensitive names, compact
forms, multiple lines, folding, comma splitting, unknown headers kept
verbatim and refusal of header injection."""

from __future__ import annotations

import pytest

from sipstack.errors import SIPError, SIPParseError, SIPUsageError
from sipstack.message import (
    COMPACT_FORMS,
    Headers,
    canonical_name,
    parse,
    quote,
    split_commas,
    unquote,
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


def msg_with(*lines: bytes, body: bytes = b"") -> bytes:
    return (
        BASE
        + b"".join(line + b"\r\n" for line in lines)
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body
    )


# ---------------------------------------------------------------------------
# Compact forms (RFC 3261 §7.3.3 and the IANA registry)
# ---------------------------------------------------------------------------

ALL_COMPACT = {
    "i": "Call-ID",
    "m": "Contact",
    "e": "Content-Encoding",
    "l": "Content-Length",
    "c": "Content-Type",
    "f": "From",
    "s": "Subject",
    "k": "Supported",
    "t": "To",
    "v": "Via",
    "o": "Event",
    "u": "Allow-Events",
    "r": "Refer-To",
    "b": "Referred-By",
    "y": "Identity",
    "a": "Accept-Contact",
    "j": "Reject-Contact",
    "d": "Request-Disposition",
    "x": "Session-Expires",
    "n": "Identity-Info",
}


def test_compact_forms_table():
    assert ALL_COMPACT == COMPACT_FORMS


@pytest.mark.parametrize(("short", "long"), sorted(ALL_COMPACT.items()))
def test_compact_form_lookup(short, long):
    h = Headers()
    h.add(short, "value-1")
    for name in (short, short.upper(), long, long.lower(), long.upper()):
        assert name in h
        assert h.get(name) == "value-1"
        assert h.get_all(name) == ["value-1"]
    assert canonical_name(short) == long
    assert canonical_name(short.upper()) == long


@pytest.mark.parametrize(("short", "long"), sorted(ALL_COMPACT.items()))
def test_compact_and_long_lines_merge_in_order(short, long):
    h = Headers([(long, "one"), (short, "two"), (long.upper(), "three"), (short.upper(), "four")])
    assert h.get_all(long) == ["one", "two", "three", "four"]
    assert h.get_all(short) == ["one", "two", "three", "four"]


def test_compact_forms_in_parsed_message():
    data = (
        b"INVITE sip:bob@biloxi.com SIP/2.0\r\n"
        b"v: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\r\n"
        b"Max-Forwards: 70\r\n"
        b"t: Bob <sip:bob@biloxi.com>\r\n"
        b"f: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
        b"i: a84b4c76e66710@pc33.atlanta.com\r\n"
        b"CSeq: 314159 INVITE\r\n"
        b"m: <sip:alice@pc33.atlanta.com>\r\n"
        b"s: lunch\r\n"
        b"k: 100rel\r\n"
        b"o: presence\r\n"
        b"u: dialog\r\n"
        b"r: <sip:carol@chicago.com>\r\n"
        b"b: <sip:alice@atlanta.com>\r\n"
        b"x: 1800\r\n"
        b"e: gzip\r\n"
        b"a: *;audio\r\n"
        b"j: *;video\r\n"
        b"d: proxy\r\n"
        b"y: abc\r\n"
        b"n: <https://atlanta.example.com/cert>;alg=rsa-sha1\r\n"
        b"c: text/plain\r\n"
        b"l: 4\r\n"
        b"\r\n"
        b"ciao"
    )
    msg = parse(data)
    expected = {
        "Via": "SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds",
        "To": "Bob <sip:bob@biloxi.com>",
        "From": "Alice <sip:alice@atlanta.com>;tag=1928301774",
        "Call-ID": "a84b4c76e66710@pc33.atlanta.com",
        "Contact": "<sip:alice@pc33.atlanta.com>",
        "Subject": "lunch",
        "Supported": "100rel",
        "Event": "presence",
        "Allow-Events": "dialog",
        "Refer-To": "<sip:carol@chicago.com>",
        "Referred-By": "<sip:alice@atlanta.com>",
        "Session-Expires": "1800",
        "Content-Encoding": "gzip",
        "Accept-Contact": "*;audio",
        "Reject-Contact": "*;video",
        "Request-Disposition": "proxy",
        "Identity": "abc",
        "Identity-Info": "<https://atlanta.example.com/cert>;alg=rsa-sha1",
        "Content-Type": "text/plain",
        "Content-Length": "4",
    }
    for name, value in expected.items():
        assert msg.headers.get(name) == value, name
    assert msg.call_id == "a84b4c76e66710@pc33.atlanta.com"
    assert msg.content_type.mime == "text/plain"
    assert msg.body == b"ciao"
    assert msg.supported == ("100rel",)
    assert msg.event.package == "presence"
    assert str(msg.refer_to.uri) == "sip:carol@chicago.com"
    assert bytes(msg) == data
    msg.validate()


# ---------------------------------------------------------------------------
# Case-insensitivity and canonical names
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["Call-ID", "call-id", "CALL-ID", "Call-Id", "cALL-iD", "i", "I"],
)
def test_names_are_case_insensitive(name):
    msg = parse(BASE + b"\r\n")
    assert msg.headers.get(name) == "a84b4c76e66710@pc33.atlanta.com"
    assert name in msg.headers


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("call-id", "Call-ID"),
        ("CSEQ", "CSeq"),
        ("www-authenticate", "WWW-Authenticate"),
        ("sip-etag", "SIP-ETag"),
        ("SIP-IF-MATCH", "SIP-If-Match"),
        ("mime-version", "MIME-Version"),
        ("rack", "RAck"),
        ("rseq", "RSeq"),
        ("v", "Via"),
        ("X-Custom-Thing", "X-Custom-Thing"),  # unknown names unchanged
        ("NewFangledHeader", "NewFangledHeader"),
    ],
)
def test_canonical_name(name, canonical):
    assert canonical_name(name) == canonical


def test_whitespace_before_colon():
    # RFC 3261 §7.3.1: "HCOLON = *( SP / HTAB ) ":" SWS".
    msg = parse(msg_with(b"Subject   : hello", b"X-Tab\t: tabbed", b"Organization:no-space"))
    assert msg.headers.get("Subject") == "hello"
    assert msg.headers.get("x-tab") == "tabbed"
    assert msg.headers.get("Organization") == "no-space"
    names = [n for n, _ in msg.headers.items()]
    assert "Subject" in names  # whitespace before the colon is not part of the name
    assert "X-Tab" in names


def test_lookup_of_absent_header():
    msg = parse(BASE + b"\r\n")
    assert msg.headers.get("Subject") is None
    assert msg.headers.get("Subject", "dflt") == "dflt"
    assert msg.headers.get_all("Subject") == []
    assert msg.headers.get_list("Subject") == []
    assert "Subject" not in msg.headers
    assert "s" not in msg.headers
    assert "not a token" not in msg.headers
    assert 42 not in msg.headers


# ---------------------------------------------------------------------------
# Multiple lines, order, comma lists
# ---------------------------------------------------------------------------


def test_multiple_lines_merge_in_order():
    msg = parse(
        msg_with(
            b"Route: <sip:p1.example.com;lr>",
            b"Subject: first",
            b"route: <sip:p2.example.com;lr>, <sip:p3.example.com;lr>",
            b"ROUTE: <sip:p4.example.com;lr>",
        )
    )
    assert msg.headers.get("Route") == "<sip:p1.example.com;lr>"
    assert msg.headers.get_all("Route") == [
        "<sip:p1.example.com;lr>",
        "<sip:p2.example.com;lr>, <sip:p3.example.com;lr>",
        "<sip:p4.example.com;lr>",
    ]
    assert msg.headers.get_list("Route") == [
        "<sip:p1.example.com;lr>",
        "<sip:p2.example.com;lr>",
        "<sip:p3.example.com;lr>",
        "<sip:p4.example.com;lr>",
    ]
    assert [str(r.uri) for r in msg.routes] == [
        "sip:p1.example.com;lr",
        "sip:p2.example.com;lr",
        "sip:p3.example.com;lr",
        "sip:p4.example.com;lr",
    ]


def test_comma_list_equivalent_to_separate_lines():
    # RFC 3261 §7.3.1: several lines equal one comma-separated line.
    a = parse(msg_with(b"Allow: INVITE, ACK", b"Allow: OPTIONS"))
    b = parse(msg_with(b"Allow: INVITE,ACK,OPTIONS"))
    assert a.allow == b.allow == ("INVITE", "ACK", "OPTIONS")


@pytest.mark.parametrize(
    ("value", "parts"),
    [
        ("a, b ,c", ["a", "b", "c"]),
        ("a,,b, ,", ["a", "b"]),  # empty elements dropped
        ("", []),
        ("  ", []),
        ("single", ["single"]),
        (
            '"Bell, Alexander" <sip:a.g.bell@example.com>;tag=43, <sip:b@c>',
            ['"Bell, Alexander" <sip:a.g.bell@example.com>;tag=43', "<sip:b@c>"],
        ),
        ("<sip:a@b;x=1,2>, <sip:c@d>", ["<sip:a@b;x=1,2>", "<sip:c@d>"]),
        ("<sip:a@b?subject=x,y>,<sip:c@d>", ["<sip:a@b?subject=x,y>", "<sip:c@d>"]),
        ('"a \\" , b" <sip:x@y>, z', ['"a \\" , b" <sip:x@y>', "z"]),  # escaped quote inside quotes
        ('"a\\\\", b', ['"a\\\\"', "b"]),  # escaped backslash ends the string
        ('Digest realm="a,b", nonce="c"', ['Digest realm="a,b"', 'nonce="c"']),
        ("\ta\t,\tb\t", ["a", "b"]),
    ],
)
def test_split_commas(value, parts):
    assert split_commas(value) == parts


@pytest.mark.parametrize("value", ['"unterminated, x', "<sip:a@b, c", '"a\\"'])
def test_split_commas_unbalanced(value):
    with pytest.raises(SIPParseError):
        split_commas(value)


def test_get_list_splits_quoted_contacts():
    msg = parse(
        msg_with(
            b'Contact: "Mr. Watson, Jr" <sip:watson@worcester.example.com>;q=0.7, <mailto:watson@example.com>;q=0.1'
        )
    )
    assert msg.headers.get_list("m") == [
        '"Mr. Watson, Jr" <sip:watson@worcester.example.com>;q=0.7',
        "<mailto:watson@example.com>;q=0.1",
    ]
    assert [c.display_name for c in msg.contacts] == ["Mr. Watson, Jr", None]


# ---------------------------------------------------------------------------
# Line folding (RFC 3261 §7.3.1)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("folded", "value"),
    [
        (
            b"Subject: I know you're there,\r\n pick up the phone\r\n and talk to me!",
            "I know you're there, pick up the phone and talk to me!",
        ),
        (b"Subject: a\r\n\tb", "a b"),
        (b"Subject: a   \r\n     b", "a b"),
        (b"Subject:\r\n a", "a"),
        (b"Subject: a\r\n b\r\n c\r\n d", "a b c d"),
    ],
)
def test_folding_is_unfolded(folded, value):
    data = msg_with(folded)
    msg = parse(data)
    assert msg.headers.get("Subject") == value
    assert bytes(msg) == data  # the folded text is kept for an untouched message


def test_folded_known_headers_parse():
    data = msg_with(b"Supported: 100rel,\r\n   timer,\r\n\tpath", b"Require:\r\n   100rel")
    msg = parse(data)
    assert msg.supported == ("100rel", "timer", "path")
    assert msg.require == ("100rel",)


def test_continuation_before_first_header_is_an_error():
    data = (
        b"OPTIONS sip:bob@biloxi.com SIP/2.0\r\n folded: x\r\n"
        + BASE.split(b"\r\n", 1)[1]
        + b"\r\n"
    )
    with pytest.raises(SIPParseError):
        parse(data)


# ---------------------------------------------------------------------------
# Unknown headers are kept verbatim
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "name", "value"),
    [
        (
            b"UnknownHeaderWithUnusualValue: ;;,,;;,;",
            "UnknownHeaderWithUnusualValue",
            ";;,,;;,;",
        ),  # RFC 4475 wsinv
        (b"NewFangledHeader:   newfangled value", "NewFangledHeader", "newfangled value"),
        (b'X-Weird: <<<>>> """ ;;; ===', "X-Weird", '<<<>>> """ ;;; ==='),
        (
            b"C%6Fntact: <sip:alias2@host2.example.com>",
            "C%6Fntact",
            "<sip:alias2@host2.example.com>",
        ),  # RFC 4475 esc02
        (
            b"extensionHeader-!.%*+_`'~:\xef\xbb\xbf\xe5\xa4\xa7\xe5\x81\x9c\xe9\x9b\xbb",
            "extensionHeader-!.%*+_`'~",
            "\ufeff大停電",
        ),  # intmeth
        (b"X-Empty:", "X-Empty", ""),
        (b"X-Empty2:   ", "X-Empty2", ""),
        (b"X-Colons: a:b:c", "X-Colons", "a:b:c"),
    ],
)
def test_unknown_headers_verbatim(line, name, value):
    data = msg_with(line)
    msg = parse(data)
    assert msg.headers.get(name) == value
    assert (name, value) in msg.headers.items()
    assert bytes(msg) == data
    msg.validate()  # unknown headers are never parsed


def test_escaped_header_name_is_not_contact():
    # RFC 4475 §3.1.1.5: "C%6Fntact" is an extension header, not Contact.
    msg = parse(
        msg_with(
            b"Contact: <sip:alias1@host1.example.com>", b"C%6Fntact: <sip:alias2@host2.example.com>"
        )
    )
    assert [str(c.uri) for c in msg.contacts] == ["sip:alias1@host1.example.com"]


def test_items_keep_names_as_written_and_order():
    msg = parse(msg_with(b"sUbJeCt: x", b"v: SIP/2.0/TCP other.example.com;branch=z9hG4bK2"))
    names = [n for n, _ in msg.headers.items()]
    assert names == [
        "Via",
        "Max-Forwards",
        "To",
        "From",
        "Call-ID",
        "CSeq",
        "sUbJeCt",
        "v",
        "Content-Length",
    ]
    assert len(msg.headers) == 9
    assert list(msg.headers) == msg.headers.items()


@pytest.mark.parametrize(
    "line",
    [
        b"Bad Name: x",  # space inside the name
        b"Bad<Name>: x",
        b"NoColonHere",
        b": no name",
        b"Sub\x01ject: x",  # control character
        b"Subject: \xff\xfe",  # not UTF-8
        b"Subject: a\rb",  # bare CR
        b"Subject: a\nb",  # bare LF
    ],
)
def test_bad_header_lines_rejected(line):
    with pytest.raises(SIPParseError):
        parse(msg_with(line))


@pytest.mark.parametrize(
    "line",
    [
        b"Subject: a\x00b",  # TEXT-UTF8-TRIM has no controls
        b"Subject: a\x7fb",
        b"X-Bad: a\x1bb",  # extension-header value neither
        b"Organization: \x07",
        b'X-Quoted: "a\x01b"',  # qdtext excludes controls
    ],
)
def test_raw_control_characters_rejected(line):
    # Controls are only legal as quoted-pairs ("\\" CHAR) inside quoted strings.
    with pytest.raises(SIPParseError):
        parse(msg_with(line)).validate()


@pytest.mark.parametrize(
    "to", [b'To: "a\x01b" <sip:bob@biloxi.com>', b'To: <sip:bob@biloxi.com>;x="\x00"']
)
def test_raw_control_in_quoted_string_rejected(to):
    data = BASE.replace(b"To: Bob <sip:bob@biloxi.com>", to) + b"\r\n"
    with pytest.raises(SIPParseError):
        parse(data).validate()


def test_escaped_control_in_quoted_string_accepted():
    # RFC 3261 quoted-pair = "\\" (%x00-09 / %x0B-0C / %x0E-7F) (RFC 4475 intmeth).
    data = (
        BASE.replace(b"To: Bob <sip:bob@biloxi.com>", b'To: "a\\\x01b\\\x00" <sip:bob@biloxi.com>')
        + b"\r\n"
    )
    msg = parse(data)
    msg.validate()
    assert msg.to_addr.display_name == "a\x01b\x00"
    assert bytes(msg) == data


# ---------------------------------------------------------------------------
# The mutating API
# ---------------------------------------------------------------------------


def test_add_set_remove_pop():
    h = Headers(
        [
            ("Via", "SIP/2.0/UDP a;branch=z9hG4bK1"),
            ("Subject", "s"),
            ("v", "SIP/2.0/UDP b;branch=z9hG4bK2"),
        ]
    )
    assert h.get_all("Via") == ["SIP/2.0/UDP a;branch=z9hG4bK1", "SIP/2.0/UDP b;branch=z9hG4bK2"]

    h.add("Via", "SIP/2.0/TCP proxy;branch=z9hG4bK0", first=True)
    assert h.get("Via") == "SIP/2.0/TCP proxy;branch=z9hG4bK0"
    assert h.items()[0][0] == "Via"

    h.add("Route", "<sip:p@x;lr>", first=True)  # no Route yet: goes to the top
    assert h.items()[0] == ("Route", "<sip:p@x;lr>")

    assert h.pop_first("via") == "SIP/2.0/TCP proxy;branch=z9hG4bK0"
    assert h.pop_first("Record-Route") is None

    h.set("Subject", "new")
    assert h.get_all("Subject") == ["new"]

    h.set("Via", "SIP/2.0/UDP only;branch=z9hG4bK3")  # replaces every line, in place of the first
    assert h.get_all("Via") == ["SIP/2.0/UDP only;branch=z9hG4bK3"]
    assert [n for n, _ in h.items()] == ["Route", "Via", "Subject"]

    h.set("Organization", "example")  # absent: appended
    assert h.items()[-1] == ("Organization", "example")

    assert h.remove("VIA") == 1
    assert h.remove("Via") == 0
    assert "Via" not in h
    assert len(h) == 3


def test_added_lines_use_canonical_names_and_serialise():
    h = Headers()
    h.add("call-id", "abc@example.com")
    h.add("i", "dup")
    h.add("x-custom", "1")
    assert h.serialize() == "Call-ID: abc@example.com\r\nCall-ID: dup\r\nx-custom: 1\r\n"


def test_copy_is_independent():
    h = Headers([("Subject", "a")])
    c = h.copy()
    c.add("Subject", "b")
    assert h.get_all("Subject") == ["a"]
    assert c.get_all("Subject") == ["a", "b"]
    assert h != c
    c.remove("Subject")
    c.add("subject", "a")
    assert h == c  # equality ignores name spelling


def test_typed_cache_invalidated_on_change():
    msg = parse(msg_with(b"Expires: 10"))
    assert msg.expires == 10
    msg.headers.set("Expires", "20")
    assert msg.expires == 20
    msg.headers.remove("Expires")
    assert msg.expires is None


@pytest.mark.parametrize(
    "value",
    [
        "a\r\nVia: SIP/2.0/UDP evil.example.com",
        "a\nb",
        "a\rb",
        "a\x00b",
        "\r\n",
    ],
)
@pytest.mark.parametrize("method", ["add", "set", "add_first"])
def test_value_injection_refused(value, method):
    h = Headers([("Subject", "ok")])
    with pytest.raises(SIPUsageError):
        if method == "add":
            h.add("Subject", value)
        elif method == "set":
            h.set("Subject", value)
        else:
            h.add("Subject", value, first=True)
    assert h.items() == [("Subject", "ok")]


def test_constructor_refuses_injection():
    with pytest.raises(SIPUsageError):
        Headers([("Subject", "x\r\nEvil: 1")])


@pytest.mark.parametrize("name", ["X\r\nEvil", "Bad Name", "", "X:Y", "Sub\x00ject"])
def test_bad_name_refused(name):
    h = Headers()
    with pytest.raises(SIPError):
        h.add(name, "v")
    assert len(h) == 0


@pytest.mark.parametrize("name", ["X\r\nEvil", "Bad Name"])
@pytest.mark.parametrize("method", ["add", "set"])
def test_bad_name_is_usage_error(name, method):
    # errors.py: misuse of the API raises SIPUsageError, not SIPParseError.
    with pytest.raises(SIPUsageError):
        getattr(Headers(), method)(name, "v")


def test_message_headers_injection_refused():
    msg = parse(BASE + b"\r\n")
    with pytest.raises(SIPUsageError):
        msg.headers.add("Subject", "x\r\nVia: SIP/2.0/UDP evil;branch=z9hG4bKx")
    assert bytes(msg) == BASE + b"\r\n"


# ---------------------------------------------------------------------------
# quote / unquote
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("plain", '"plain"'),
        ("", '""'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ('J Rosenberg \\"', '"J Rosenberg \\\\\\""'),  # RFC 4475 wsinv display name
        ("caf\u00e9", '"caf\u00e9"'),
    ],
)
def test_quote_unquote(text, quoted):
    assert quote(text) == quoted
    assert unquote(quoted) == text


def test_unquote_leaves_unquoted_text():
    assert unquote("token") == "token"
    assert unquote('"') == '"'


@pytest.mark.parametrize("text", ["a\x00b", "a\x01b", "a\x7fb"])
def test_quote_escapes_other_controls_as_quoted_pairs(text):
    # RFC 3261 §25.1: quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
    quoted = quote(text)
    assert quoted == '"' + text[0] + "\\" + text[1:] + '"'
    assert unquote(quoted) == text


@pytest.mark.parametrize("text", ["a\rb", "a\nb"])
def test_quote_refuses_cr_lf(text):
    with pytest.raises(SIPUsageError):
        quote(text)
