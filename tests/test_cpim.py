"""message/cpim (RFC 3862): the RFC's example messages, round trips, what we
refuse to write, and the contract that any bytes give a message or
CPIMError."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sipstack.errors import SIPParseError, SIPUsageError
from sipstack.message import (
    CPIM_CONTENT_TYPE,
    CPIMError,
    CPIMMessage,
    decode_cpim,
    encode_cpim,
)

# ---------------------------------------------------------------------------
# RFC 3862's examples, as other implementations send them
# ---------------------------------------------------------------------------

# The RFC's full example: display names without quotes, a DateTime with an
# offset, a Subject in two languages, a namespace and its extension headers.
RFC3862_EXAMPLE = (
    b"From: MR SANDERS <im:piglet@100akerwood.com>\r\n"
    b"To: Depressed Donkey <im:eeyore@100akerwood.com>\r\n"
    b"DateTime: 2000-12-13T13:40:00-08:00\r\n"
    b"Subject: the weather will be fine today\r\n"
    b"Subject:;lang=fr beau temps prevu pour aujourd'hui\r\n"
    b"NS: MyFeatures <mid:MessageFeatures@id.foo.com>\r\n"
    b"Require: MyFeatures.VitalMessageOption\r\n"
    b"MyFeatures.VitalMessageOption: Confirmation-requested\r\n"
    b"MyFeatures.WackyMessageOption: Use-silly-font\r\n"
    b"\r\n"
    b"Content-type: text/xml; charset=utf-8\r\n"
    b"Content-ID: <1234567890@foo.com>\r\n"
    b"\r\n"
    b"<body>\r\n"
    b"Here is the text of my message.\r\n"
    b"</body>\r\n"
)

# The RFC's first, smaller message, with the cc header it defines.
RFC3862_SIMPLE = (
    b"From: MR SANDERS <im:piglet@100akerwood.com>\r\n"
    b"To: Depressed Donkey <im:eeyore@100akerwood.com>\r\n"
    b"cc: <im:tigger@100akerwood.com>\r\n"
    b"DateTime: 2000-12-13T13:40:00-08:00\r\n"
    b"Subject: the weather will be fine today\r\n"
    b"\r\n"
    b"Content-type: text/plain\r\n"
    b"Content-ID: <1234567890@foo.com>\r\n"
    b"\r\n"
    b"Here is the text of my message.\r\n"
)

PST = dt.timezone(dt.timedelta(hours=-8))


def test_rfc3862_example() -> None:
    msg = decode_cpim(RFC3862_EXAMPLE)
    assert msg == CPIMMessage(
        sender="im:piglet@100akerwood.com",
        sender_name="MR SANDERS",
        recipients=("im:eeyore@100akerwood.com",),
        datetime=dt.datetime(2000, 12, 13, 13, 40, tzinfo=PST),
        content_type="text/xml; charset=utf-8",
        body=b"<body>\r\nHere is the text of my message.\r\n</body>\r\n",
        headers=(
            ("Subject", "the weather will be fine today"),
            ("Subject", ";lang=fr beau temps prevu pour aujourd'hui"),
            ("NS", "MyFeatures <mid:MessageFeatures@id.foo.com>"),
            ("Require", "MyFeatures.VitalMessageOption"),
            ("MyFeatures.VitalMessageOption", "Confirmation-requested"),
            ("MyFeatures.WackyMessageOption", "Use-silly-font"),
        ),
        mime_headers=(("Content-ID", "<1234567890@foo.com>"),),
    )
    assert msg.datetime is not None and msg.datetime.utcoffset() == dt.timedelta(hours=-8)
    assert decode_cpim(encode_cpim(msg)) == msg
    assert CPIM_CONTENT_TYPE == "message/cpim"


def test_rfc3862_simple_example_and_bare_line_feeds() -> None:
    msg = decode_cpim(RFC3862_SIMPLE)
    assert (msg.sender, msg.sender_name, msg.recipients) == (
        "im:piglet@100akerwood.com",
        "MR SANDERS",
        ("im:eeyore@100akerwood.com",),
    )
    assert msg.headers == (
        ("cc", "<im:tigger@100akerwood.com>"),
        ("Subject", "the weather will be fine today"),
    )
    assert msg.content_type == "text/plain"
    assert msg.body == b"Here is the text of my message.\r\n"
    # Line feeds alone end header lines too; the body stays byte for byte.
    head, _, body = RFC3862_SIMPLE.partition(b"\r\n\r\nHere")
    assert decode_cpim(head.replace(b"\r\n", b"\n") + b"\n\nHere" + body) == msg


def test_encoding_layout() -> None:
    msg = CPIMMessage(
        "sip:alice@example.com",
        ("sip:conversation@example.com", "sip:bob@example.com"),
        dt.datetime(2024, 5, 1, 10, 0, 0, 250000, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        body="Grüße\r\n\r\nFrom: <sip:mallory@example.com>\r\n".encode(),
        headers=(
            ("Subject", ";lang=de Hallo"),
            ("NS", "MyFeatures <mid:f@example.com>"),
            ("X", ""),
        ),
        sender_name='Alice "Al" \\ Smith',
        mime_headers=(("Content-Disposition", "inline"),),
    )
    assert encode_cpim(msg) == (
        b'From: "Alice \\"Al\\" \\\\ Smith" <sip:alice@example.com>\r\n'
        b"To: <sip:conversation@example.com>\r\n"
        b"To: <sip:bob@example.com>\r\n"
        b"DateTime: 2024-05-01T10:00:00.250000+02:00\r\n"
        b"Subject:;lang=de Hallo\r\n"
        b"NS: MyFeatures <mid:f@example.com>\r\n"
        b"X:\r\n"
        b"\r\n"
        b"Content-Type: text/plain;charset=utf-8\r\n"
        b"Content-Disposition: inline\r\n"
        b"\r\n" + "Grüße\r\n\r\nFrom: <sip:mallory@example.com>\r\n".encode()
    )
    assert decode_cpim(encode_cpim(msg)) == msg


@pytest.mark.parametrize(
    ("when", "text"),
    [
        (dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC), "2024-01-02T03:04:05Z"),
        (dt.datetime(2, 1, 1, tzinfo=dt.timezone(-dt.timedelta(hours=23, minutes=59))), None),
        # An offset with seconds has no RFC 3339 form: written in UTC.
        (
            dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(seconds=30))),
            "2024-01-01T11:59:30Z",
        ),
    ],
)
def test_datetimes(when: dt.datetime, text: str | None) -> None:
    body = encode_cpim(CPIMMessage("sip:a@example.com", datetime=when))
    if text is not None:
        assert f"DateTime: {text}\r\n".encode() in body
    assert decode_cpim(body).datetime == when


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"DateTime: 2000-12-13t21:40:00.1234567z", dt.datetime(2000, 12, 13, 21, 40, 0, 123456)),
        (b"DateTime: 2000-12-13 21:40:00-00:00", dt.datetime(2000, 12, 13, 21, 40)),
        (b"datetime:  2000-12-14T05:40:00+08:00 ", dt.datetime(2000, 12, 13, 21, 40)),
    ],
)
def test_datetimes_are_read_liberally(line: bytes, expected: dt.datetime) -> None:
    msg = decode_cpim(b"From: <sip:a@example.com>\r\n" + line + b"\r\n\r\n\r\n")
    assert msg.datetime == expected.replace(tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("value", "name", "uri"),
    [
        (b"<sip:alice@example.com>", None, "sip:alice@example.com"),
        (b'"Alice" <sip:alice@example.com>', "Alice", "sip:alice@example.com"),
        (b'"Alice"<sip:alice@example.com>', "Alice", "sip:alice@example.com"),
        (b"Alice  Smith\t<sip:alice@example.com>", "Alice  Smith", "sip:alice@example.com"),
        (b'"" <sip:alice@example.com>', None, "sip:alice@example.com"),
        (b'" A \\"\\u00e9\\" \\\\ " <sip:a@example.com>', ' A "é" \\ ', "sip:a@example.com"),
        ("Zoë <sip:zoe@example.com>".encode(), "Zoë", "sip:zoe@example.com"),
        (b"sip:alice@example.com", None, "sip:alice@example.com"),
        (b"< tel:+15551234 >", None, "tel:+15551234"),
    ],
)
def test_addresses(value: bytes, name: str | None, uri: str) -> None:
    msg = decode_cpim(b"From: " + value + b"\r\nTo: " + value + b"\r\n\r\n\r\n")
    assert (msg.sender_name, msg.sender, msg.recipients) == (name, uri, (uri,))


def test_missing_content_type_is_mimes_default() -> None:
    msg = decode_cpim(b"From: <sip:a@example.com>\r\n\r\n\r\nhello")
    assert (msg.content_type, msg.body, msg.mime_headers) == (
        "text/plain;charset=us-ascii",
        b"hello",
        (),
    )


# ---------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------

FROM = b"From: <sip:a@example.com>\r\n"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\r\n\r\nbody",
        FROM,
        FROM + b"\r\nContent-Type: text/plain\r\n",
        FROM + FROM + b"\r\n\r\n",
        b"To: <sip:b@example.com>\r\n\r\n\r\n",
        FROM + b"DateTime: 2000-01-01T00:00:00Z\r\nDateTime: 2000-01-01T00:00:00Z\r\n\r\n\r\n",
        FROM + b"DateTime: yesterday\r\n\r\n\r\n",
        FROM + b"DateTime: 2000-01-01T00:00:00\r\n\r\n\r\n",
        FROM + b"DateTime: 2000-02-30T00:00:00Z\r\n\r\n\r\n",
        FROM + b"DateTime: 2000-01-01T24:00:00Z\r\n\r\n\r\n",
        FROM + b"DateTime: 2000-01-01T00:00:00+24:00\r\n\r\n\r\n",
        FROM + "DateTime: ２０００-01-01T00:00:00Z\r\n\r\n\r\n".encode(),
        FROM + b"\r\nContent-Type: a\r\nContent-type: b\r\n\r\n",
        FROM + b"\r\nContent-Type:\r\n\r\n",
        FROM + b"Subject the weather\r\n\r\n\r\n",
        FROM + b" Subject: folded\r\n\r\n\r\n",
        FROM + b"Sub ject: x\r\n\r\n\r\n",
        FROM + b": x\r\n\r\n\r\n",
        FROM + b"Subject: caf\xe9\r\n\r\n\r\n",
        FROM + b"Subject: a\x00b\r\n\r\n\r\n",
        FROM + b"Subject: a\rb\r\n\r\n\r\n",
        FROM + b"Subject: a\x7f\r\n\r\n\r\n",
        FROM + b"\r\nContent-Type: text/plain\x01\r\n\r\n",
        b"From: Alice\r\n\r\n\r\n",
        b"From: <alice@example.com>\r\n\r\n\r\n",
        b"From: <sip:alice@example.com\r\n\r\n\r\n",
        b"From: <sip:a@example.com> trailer\r\n\r\n\r\n",
        b"From: <sip:alice smith@example.com>\r\n\r\n\r\n",
        b'From: "Alice <sip:alice@example.com>\r\n\r\n\r\n',
        b'From: "Al\\nice" <sip:alice@example.com>\r\n\r\n\r\n',
        b'From: "Al\\u00" <sip:alice@example.com>\r\n\r\n\r\n',
        b'From: "\\ud800" <sip:alice@example.com>\r\n\r\n\r\n',
        b'From: "\\u0007" <sip:alice@example.com>\r\n\r\n\r\n',
        FROM + b"To: <>\r\n\r\n\r\n",
    ],
)
def test_bad_messages_are_refused(body: bytes) -> None:
    with pytest.raises(CPIMError) as info:
        decode_cpim(body)
    assert type(info.value) is CPIMError
    assert isinstance(info.value, SIPParseError)
    assert info.value.status == 400


def test_size_limit() -> None:
    valid = encode_cpim(CPIMMessage("sip:a@example.com"))
    padded = valid + b"x" * (64 * 1024 - len(valid))
    assert decode_cpim(padded).body.endswith(b"x")
    with pytest.raises(CPIMError) as info:
        decode_cpim(padded + b"x")
    assert (info.value.status, info.value.reason) == (413, "Request Entity Too Large")
    # Checked before anything is read.
    with pytest.raises(CPIMError, match="exceeds"):
        decode_cpim(b"\xff" * 100, max_size=99)


def test_header_limit_counts_both_sections() -> None:
    msg = CPIMMessage(
        "sip:a@example.com",
        headers=tuple(("X", str(i)) for i in range(9)),
        mime_headers=(("Y", "1"), ("Z", "2")),
    )
    body = encode_cpim(msg)  # From, 9 headers, Content-Type, 2 MIME headers: 13
    assert decode_cpim(body, max_headers=13) == msg
    with pytest.raises(CPIMError, match="too many headers"):
        decode_cpim(body, max_headers=12)
    with pytest.raises(CPIMError, match="too many headers"):
        decode_cpim(body, max_headers=5)
    flood = FROM + b"X: y\r\n" * 5000 + b"\r\n\r\n"
    with pytest.raises(CPIMError, match="too many headers"):
        decode_cpim(flood)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sender": "sip:a@example.com\r\nTo: <sip:mallory@example.com>"},
        {"sender": "sip:a@example.com\x00"},
        {"sender": "alice@example.com"},
        {"sender": "sip:<a>"},
        {"sender": ""},
        {"sender": None},
        {"recipients": ("sip:b@example.com\n",)},
        {"recipients": "sip:b@example.com"},
        {"sender_name": "Alice\r\nTo: <sip:mallory@example.com>"},
        {"sender_name": "Al\x00ice"},
        {"sender_name": "\ud800"},
        {"sender_name": 1},
        {"headers": (("Subject", "hi\r\nTo: <sip:mallory@example.com>"),)},
        {"headers": (("Subject", "a\nb"),)},
        {"headers": (("Subject", "a\x00b"),)},
        {"headers": (("Sub ject", "x"),)},
        {"headers": (("Subject:", "x"),)},
        {"headers": (("", "x"),)},
        {"headers": (("Zoë", "x"),)},
        {"headers": (("from", "<sip:mallory@example.com>"),)},
        {"headers": (("TO", "<sip:mallory@example.com>"),)},
        {"headers": (("DateTime", "2000-01-01T00:00:00Z"),)},
        {"headers": (("Subject",),)},
        {"headers": ("Subject: x",)},
        {"headers": "Subject: x"},
        {"mime_headers": (("Content-type", "text/html"),)},
        {"mime_headers": (("Content-ID", "<1@x>\r\n"),)},
        {"content_type": "text/plain\r\nX-Injected: 1"},
        {"content_type": " "},
        {"content_type": None},
        {"body": "text"},
        {"datetime": dt.datetime(2024, 1, 1)},
        {"datetime": "2024-01-01T00:00:00Z"},
        {"datetime": dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(seconds=1)))},
    ],
)
def test_bad_values_are_refused(kwargs: dict[str, Any]) -> None:
    fields = {"sender": "sip:a@example.com", **kwargs}
    with pytest.raises(SIPUsageError):
        CPIMMessage(**fields)


def test_misuse_of_the_functions() -> None:
    with pytest.raises(SIPUsageError):
        encode_cpim("From: <sip:a@example.com>")  # type: ignore[arg-type]
    with pytest.raises(SIPUsageError):
        decode_cpim("From: <sip:a@example.com>")  # type: ignore[arg-type]


def test_normalisation_and_immutability() -> None:
    msg = CPIMMessage(
        "sip:a@example.com",
        ["sip:b@example.com"],  # type: ignore[arg-type]
        content_type=" text/html ",
        body=bytearray(b"x"),  # type: ignore[arg-type]
        headers=[("Subject", "  padded\t")],  # type: ignore[arg-type]
        sender_name="",
    )
    assert msg.recipients == ("sip:b@example.com",)
    assert msg.content_type == "text/html"
    assert type(msg.body) is bytes
    assert msg.headers == (("Subject", "padded"),)
    assert msg.sender_name is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        msg.sender = "sip:c@example.com"  # type: ignore[misc]
    assert not hasattr(msg, "__dict__")


# ---------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------


def _is_text_char(c: str) -> bool:
    return c == "\t" or (ord(c) >= 0x20 and c != "\x7f")


text_chars = st.one_of(
    st.characters(exclude_categories=["Cs"]).filter(_is_text_char),
    st.sampled_from(list(' \t"\\<>:;,=@')),
    st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF),
)
texts = st.text(text_chars, max_size=30)
# What a header line could be mistaken for, as a value.
header_like = st.sampled_from(
    ["From: <sip:mallory@example.com>", "Content-Type: text/html", ";lang=fr Bonjour", ":", ""]
)
values = (texts | header_like).map(lambda v: v.strip(" \t"))
uri_chars = st.characters(exclude_categories=["Cs"]).filter(
    lambda c: ord(c) > 0x20 and c not in '\x7f<>"'
)
uris = st.builds(
    "{}:{}".format,
    st.sampled_from(["sip", "sips", "im", "pres", "tel", "x-Ab+1.-"]),
    st.text(uri_chars, min_size=1, max_size=25),
)
names = st.from_regex(r"[!-9;-~]{1,12}", fullmatch=True) | st.sampled_from(
    ["NS", "Subject", "cc", "Require", "MyFeatures.VitalMessage", "Content-Type"]
)
message_headers = st.lists(
    st.tuples(names.filter(lambda n: n.lower() not in ("from", "to", "datetime")), values),
    max_size=6,
).map(tuple)
mime_headers = st.lists(
    st.tuples(names.filter(lambda n: n.lower() != "content-type"), values), max_size=3
).map(tuple)
offsets = st.one_of(
    st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda m: dt.timedelta(minutes=m)),
    st.integers(-86399, 86399).map(lambda s: dt.timedelta(seconds=s)),
).map(dt.timezone)
times = st.datetimes(
    min_value=dt.datetime(2, 1, 1), max_value=dt.datetime(9998, 12, 31), timezones=offsets
)
bodies = st.binary(max_size=200) | st.lists(
    st.sampled_from(
        [
            b"",
            b"\r\n",
            b"\n",
            b"\r",
            b"From: <sip:mallory@example.com>",
            b"Content-Type: x/y",
            b"\xff",
        ]
    ),
    max_size=8,
).map(b"".join)
messages = st.builds(
    CPIMMessage,
    sender=uris,
    recipients=st.lists(uris, max_size=3).map(tuple),
    datetime=st.none() | times,
    content_type=st.sampled_from(["text/plain;charset=utf-8", "application/im-iscomposing+xml"])
    | values.filter(bool),
    body=bodies,
    headers=message_headers,
    sender_name=st.none() | texts,
    mime_headers=mime_headers,
)


@given(messages)
def test_round_trip(msg: CPIMMessage) -> None:
    assert decode_cpim(encode_cpim(msg)) == msg


@given(messages)
def test_encoding_is_deterministic_utf8_with_crlf(msg: CPIMMessage) -> None:
    body = encode_cpim(msg)
    assert body == encode_cpim(msg)
    head = body[: len(body) - len(msg.body)]
    head.decode("utf-8")
    assert head.endswith(b"\r\n\r\n")
    assert head.count(b"\n") == head.count(b"\r\n")


# ---------------------------------------------------------------------------
# Any bytes: a message or CPIMError, nothing else
# ---------------------------------------------------------------------------

_FROM_LINES = [
    b"From: <sip:a@example.com>",
    b'From: "A \\"B\\"" <sip:a@example.com>',
    b"From: A <sip:a@example.com",
    b"From: sip:a@example.com",
]
_MESSAGE_LINES = [
    b"From: <sip:c@example.com>",
    b"To: <sip:b@example.com>",
    b"DateTime: 2000-12-13T13:40:00-08:00",
    b"DateTime: 2000-12-13T13:40:00",
    b"Subject:;lang=fr x",
    b"NS: MyFeatures <mid:x@example.com>",
    b"MyFeatures.VitalMessage: yes",
    b" folded",
    b"no colon",
    b"X: \xff",
]
_MIME_LINES = [
    b"Content-Type: text/plain",
    b"Content-ID: <1@x>",
    b"Content-Type: x",
    b"\r",
    b"a\x00: b",
]


@st.composite
def plausible(draw: st.DrawFn) -> bytes:
    """Message-like lines: usually a From first, two sections, a body."""
    end = st.sampled_from([b"\r\n", b"\n"])

    def section(choices: list[bytes]) -> bytes:
        lines = st.one_of(
            st.sampled_from(choices), st.sampled_from(choices), st.binary(max_size=10)
        )
        return b"".join(line + draw(end) for line in draw(st.lists(lines, max_size=5)))

    first = draw(st.sampled_from(_FROM_LINES) | st.just(b"")) + draw(end)
    return (
        first
        + section(_MESSAGE_LINES)
        + draw(end)
        + section(_MIME_LINES)
        + draw(end)
        + draw(st.binary(max_size=20))
    )


@st.composite
def mutated(draw: st.DrawFn, seeds: st.SearchStrategy[bytes]) -> bytes:
    """A valid message with a few bytes replaced, inserted or deleted."""
    data = bytearray(draw(seeds))
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(data)))
        operation = draw(st.sampled_from(["replace", "insert", "delete"]))
        if operation == "replace" and position < len(data):
            data[position] = draw(st.integers(0, 255))
        elif operation == "insert":
            data[position:position] = draw(
                st.sampled_from([b"\r\n", b"\n", b":", b"<", b">", b'"', b"\\", b"\x00", b"\xff"])
                | st.binary(max_size=6)
            )
        else:
            del data[position : position + draw(st.integers(1, 30))]
    return bytes(data)


@given(
    st.one_of(
        st.binary(max_size=256),
        plausible(),
        mutated(st.sampled_from([RFC3862_EXAMPLE, RFC3862_SIMPLE]) | messages.map(encode_cpim)),
    )
)
def test_decoder_contract(data: bytes) -> None:
    try:
        msg = decode_cpim(data)
    except CPIMError as exc:
        assert exc.status == 400
        return
    assert isinstance(msg, CPIMMessage)
    # Whatever we accept, we can write and read back unchanged.
    assert decode_cpim(encode_cpim(msg)) == msg
