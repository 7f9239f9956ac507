"""The C accelerator and the pure-Python parser give the same results.

``sipstack.message._speedups`` indexes the header section in C and declines
(returns None) whenever the input is not in the plain common shape, so the
pure-Python path keeps every error message and status.  These tests parse
the same bytes both ways and compare everything a caller can see: the
message (start line, header lines, keys, body, serialisation), every typed
view, or the error.  The accelerated path is the default; the pure one is
reached by switching the accelerator off in the module, exactly as
``SIPSTACK_NO_EXTENSIONS=1`` does at import.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from test_parse_fast_paths import (
    ALNUM,
    address_texts,
    cseq_texts,
    damaged,
    tokens,
    via_texts,
)
from test_properties import (
    CORPUS_MESSAGES,
    TYPED_ATTRS,
    message_specs,
    mutated_messages,
    raw_spellings,
    streams,
)

from sipstack.errors import SIPParseError
from sipstack.message import ACCELERATED, DEFAULT_LIMITS, Limits, StreamFramer, parse
from sipstack.message import _address as address_module
from sipstack.message import _message as message_module
from sipstack.message import _uri as uri_module
from sipstack.message import _values as values_module
from sipstack.message._headers import _KEYS

needs_accelerator = pytest.mark.skipif(
    not ACCELERATED, reason="the C accelerator is not built in this installation"
)
PARSE_HEAD = message_module._c_parse_head


def outcome(fn: Callable[[], Any]) -> Any:
    """What ``fn()`` returns, or the SIPParseError it raises (type and text)."""
    try:
        return fn()
    except SIPParseError as exc:
        return ("raises", type(exc).__name__, str(exc))


def snapshot(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Everything a caller can observe of ``parse(data)``."""
    try:
        msg = parse(data, limits)
    except SIPParseError as exc:
        return ("raises", type(exc).__name__, str(exc), exc.status)
    h = msg.headers
    seen: dict[str, Any] = {
        "start": msg.start_line,
        "lines": list(h._lines),
        "keys": list(h._keys),
        "present": set(h._present),
        "raws": h._raws,
        "body": msg.body,
        "bytes": bytes(msg),
        "items": list(h.items()),
    }
    for attr in TYPED_ATTRS:
        seen[attr] = outcome(lambda a=attr: repr(getattr(msg, a, None)))
    # The views the accelerator builds itself, slot by slot.
    for attr in BUILT_IN_C:
        seen["slots-" + attr] = outcome(lambda a=attr: slots(getattr(msg, a, None)))
    seen["validate"] = outcome(lambda: msg.validate() and None)
    # And read after validate() built them all at once.
    validated = parse(data, limits)
    seen["validated"] = outcome(lambda: validated.validate() and None)
    for attr in BUILT_IN_C:
        seen["validated-" + attr] = outcome(lambda a=attr: slots(getattr(validated, a, None)))
    return seen


BUILT_IN_C = (
    "call_id", "cseq", "top_via", "vias", "from_addr", "to_addr", "contacts", "routes",
    "record_routes", "max_forwards", "expires", "min_expires", "content_type", "event", "allow",
    "supported", "require", "proxy_require", "unsupported", "uri",
)  # fmt: skip


def slots(value: object) -> Any:
    """A value's type and every slot of it, the views inside it too (what
    equality may not compare)."""
    if isinstance(value, tuple):
        return tuple(slots(v) for v in value)
    if not hasattr(type(value), "__slots__"):
        return value
    return type(value), tuple(
        slots(getattr(value, name, "<unset>")) for name in type(value).__slots__
    )


# Where the parser reaches the accelerator: (module, name).
HOOKS = [
    (message_module, "_c_parse_head"),
    (message_module, "_fill_views"),
    (address_module, "_c_address"),
    (values_module, "_c_via"),
    (uri_module, "_c_sip_uri"),
]


class PurePython:
    """Context manager: the accelerator switched off, as with
    SIPSTACK_NO_EXTENSIONS=1."""

    def __enter__(self) -> None:
        self.saved = [getattr(module, name) for module, name in HOOKS]
        for module, name in HOOKS:
            setattr(module, name, None)

    def __exit__(self, *exc: object) -> None:
        for (module, name), value in zip(HOOKS, self.saved, strict=True):
            setattr(module, name, value)


def both(data: bytes, limits: Limits = DEFAULT_LIMITS) -> tuple[Any, Any]:
    fast = snapshot(data, limits)
    with PurePython():
        pure = snapshot(data, limits)
    return fast, pure


def python_index(data: bytes, start: int, end: int, limits: Limits) -> Any:
    """The pure-Python fast path's (start line, lines, keys, present), or
    None where it would go to its careful path or raise."""
    try:
        lines = message_module._split_head(data, start, end, limits)
    except SIPParseError:
        return None
    first = lines.pop(0)
    keys = [_KEYS.get(p[0]) if p[1] else None for p in (line.partition(":") for line in lines)]
    if None in keys or not first:
        return None
    return first, lines, keys, set(keys)


MANDATORY_LINES = [
    b"Via: SIP/2.0/UDP h;branch=z9hG4bK1", b"From: <sip:a@x>;tag=1", b"To: <sip:b@x>",
    b"Call-ID: c", b"CSeq: 1 MESSAGE",
]  # fmt: skip
EDGE_CASES = [
    b"",
    b"\r\n\r\n",
    b"MESSAGE sip:b@x SIP/2.0\r\n\r\n",
    # A bare CR just before the end of the head; a bare LF inside a line.
    b"MESSAGE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\r\n\r\n",
    b"MESSAGE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h\n;branch=z9hG4bK1\r\n\r\n",
    # A control character escaped in a quoted string (legal) and bare (not).
    b'OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: "a\\\x01" <sip:a@x>;tag=1\r\n'
    b"To: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n",
    b"OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: a\x01 <sip:a@x>;tag=1\r\n"
    b"To: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n",
    # Folding, whitespace before the colon, an unknown and a non-ASCII name.
    b"OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n ;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\n"
    b"To: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n",
    b"OPTIONS sip:b@x SIP/2.0\r\nVia  : SIP/2.0/UDP h;branch=z9hG4bK1\r\nf: <sip:a@x>;tag=1\r\n"
    b"t: <sip:b@x>\r\ni: c\r\nCSeq: 1 OPTIONS\r\nX-Never-Seen-Before-42: yes\r\n\r\n",
    "OPTIONS sip:b@x SIP/2.0\r\nVía: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n".encode(),
    # Non-ASCII in values and in the start line; invalid UTF-8 in a value.
    "MESSAGE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: \"Zoë\" <sip:a@x>;tag=1\r\n"
    "To: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 MESSAGE\r\n\r\n".encode(),
    "SIP/2.0 200 Très bien\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\n"
    "To: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 MESSAGE\r\n\r\n".encode(),
    b"MESSAGE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nSubject: \xff\xfe\r\n"
    b"From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 MESSAGE\r\n\r\n",
    # Start lines and Content-Length: the plain shapes and their neighbours.
    *(
        start.encode() + b"\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\n"
        b"To: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 MESSAGE\r\n" + extra + b"\r\n"
        for start in (
            "SIP/2.0 200", "SIP/2.0 200 ", "SIP/2.0 099 Low", "SIP/2.0 700 High", "SIP/2.0 2000 X",
            "sip/2.0 200 OK", "SIP/2.0  200 OK", "FOO sip:b@x SIP/2.0", "MESSAGE tel:+1 SIP/2.0",
            "MESSAGE SIPS:b@x SIP/2.0", "MESSAGE 1sip:b@x SIP/2.0", "MESSAGE sip:b@x  SIP/2.0",
            "MESSAGE sip:b@x SIP/2.1", "MESSAGE sip:b@x sip/2.0", "MESSAGE  sip:b@x SIP/2.0",
            "MESS@GE sip:b@x SIP/2.0", "MESSAGE urn:x:y SIP/2.0", "MESSAGE sip:bé@x SIP/2.0",
            "MESSAGE sip:b@x SIP/2.00", "MESSAGE sip:b@x SIP/2.0 x", "MESSAGE a@b:c SIP/2.0",
            "MESSAGE a+-.9:c SIP/2.0",
        )
        for extra in (
            b"", b"Content-Length: 0\r\n", b"Content-Length: 0\r\nl: 0\r\n",
            b"Content-Length: 0\r\nl: 00\r\n", b"Content-Length: 007\r\n",
            b"Content-Length: 99999999999\r\n", b"Content-Length: 65536\r\n",
            b"Content-Length: \r\n", b"Content-Length: 1 2\r\n",
        )
    ),
    # Each mandatory header missing in turn.
    *(
        b"MESSAGE sip:b@x SIP/2.0\r\n"
        + b"".join(line + b"\r\n" for line in MANDATORY_LINES if line != missing)
        + b"\r\n"
        for missing in MANDATORY_LINES
    ),
    # A line that is only a name, a line that starts with a colon, DEL.
    b"MESSAGE sip:b@x SIP/2.0\r\nVia\r\n\r\n",
    b"MESSAGE sip:b@x SIP/2.0\r\n: x\r\n\r\n",
    b"MESSAGE sip:b@x SIP/2.0\r\nSubject: a\x7fb\r\n\r\n",
]


@pytest.mark.parametrize("data", EDGE_CASES + CORPUS_MESSAGES)
def test_same_result_on_edge_cases_and_the_corpus(data: bytes) -> None:
    fast, pure = both(data)
    assert fast == pure


@given(
    st.one_of(
        st.sampled_from(CORPUS_MESSAGES),
        mutated_messages(),
        raw_spellings().map(lambda r: r[0]),
        message_specs().map(lambda s: bytes(s[0])),
        st.binary(max_size=600),
    )
)
@example(EDGE_CASES[4])
def test_same_result_for_any_input(data: bytes) -> None:
    fast, pure = both(data)
    assert fast == pure


call_id_texts = st.text(ALNUM + "-.!%*_+`'~()<>:\\\"/[]?{}@ ;,é", min_size=1, max_size=20)


@given(
    st.lists(via_texts(), min_size=1, max_size=3),
    cseq_texts,
    call_id_texts,
    st.sampled_from(["", " ", "  ", "\t"]),
    st.sampled_from(["", " ", "\t "]),
    st.booleans(),
)
@example(["SIP/2.0/UDP h:65536;branch=z9hG4bK1"], "1 INVITE", "a@b", " ", "", False)
@example(["SIP/2.0/TLS-SCTP h;branch=;x"], "4294967296 INVITE", "@b", " ", "", False)
@example(["SIP/2.0/UDP a..b;branch=x"], "1\tINVITE", "a@b@c", "", "", True)
@example(["SIP/2.0/UDP h;rport;branch=z9hG4bK1"], "1 INVITE", "a", "", "", False)
def test_the_views_built_in_c_are_the_views_built_in_python(
    vias: list[str], cseq: str, call_id: str, before: str, after: str, twice: bool
) -> None:
    lines = [f"Via:{before}{v}{after}" for v in vias]
    lines += [f"CSeq:{before}{cseq}{after}", f"Call-ID:{before}{call_id}{after}"]
    if twice:
        lines += ["CSeq: 2 BYE", "Call-ID: second", "Via: SIP/2.0/UDP second;branch=z9hG4bK2"]
    head = ["INVITE sip:b@example.com SIP/2.0", *lines, "From: <sip:a@x>;tag=1", "To: <sip:b@x>"]
    data = ("\r\n".join(head) + "\r\n\r\n").encode()
    fast, pure = both(data)
    assert fast == pure


separators = st.sampled_from([",", ", ", " ,\t", ",,", " , , "])


@st.composite
def address_lines(draw: st.DrawFn) -> list[str]:
    """Lines of the address headers, lists written on one line or several."""
    lines = []
    for name in ("From", "To", "Contact", "Route", "Record-Route", "f", "m", "t"):
        for _ in range(draw(st.integers(0, 2))):
            elements = draw(st.lists(address_texts(), min_size=0, max_size=3))
            lines.append(f"{name}: {draw(separators).join(elements)}")
    return draw(st.permutations(lines))


@given(address_lines(), st.lists(via_texts(), min_size=1, max_size=3), separators)
@example(["From: <sip:a@x>;tag=1", "To: <sip:b@x>", "Contact: *"], ["SIP/2.0/UDP h"], ",")
@example(["Route: <sip:a,b@x;lr>, <sip:c@y>", "Route: sip:d@z", "Route:"], ["SIP/2.0/UDP h"], ",")
@example(['Contact: "A, B" <sip:a@x>', 'Route: "a" <sip:a@x>'], ["SIP/2.0/UDP h"], ",")
@example(['From: "a\\"b" <sip:a@x>;tag=1', 'To: "x\\\\y" <sip:b@x>'], ["SIP/2.0/UDP h"], ",")
@example(["Record-Route: <sip:a@x", "To: Bob  Smith <sips:b@x:5061;a=b>;tag=2"], ["SIP/2.0/UDP h"], ",")
def test_the_address_and_via_lists_built_in_c_are_the_ones_built_in_python(
    lines: list[str], vias: list[str], sep: str
) -> None:
    via_lines = [f"Via: {sep.join(vias[:2])}", *(f"v: {v}" for v in vias[2:])]
    head = [
        "OPTIONS sip:b@example.com SIP/2.0", *via_lines, *lines, "Call-ID: c", "CSeq: 1 OPTIONS",
    ]
    data = ("\r\n".join(head) + "\r\n\r\n").encode()
    fast, pure = both(data)
    assert fast == pure


numbers = st.sampled_from(["0", "70", "255", "256", "007", "4294967295", "4294967296", "1" * 11])
token_lists = st.lists(tokens, max_size=4).flatmap(
    lambda ts: st.sampled_from([",", ", ", " ,\t", ",,", " , "]).map(lambda sep: sep.join(ts))
)
media_types = st.builds(
    lambda t, st_, p: f"{t}/{st_}{p}",
    st.sampled_from(["application", "text", "multipart"]) | tokens,
    st.sampled_from(["sdp", "pidf+xml", "plain"]) | tokens,
    st.sampled_from(["", ";charset=utf-8", ";a", ";a=[::1]", "; a=b", ";a=\"q\"", ";=x"]),
)
events = st.builds(
    lambda p, q: p + q,
    st.sampled_from(["presence", "dialog", "refer"]) | tokens,
    st.sampled_from(["", ";id=1", ";id", " ;id=1", ";id=1;x=[y]", ";", ";id=\"1\""]),
)
request_uris = st.builds(
    lambda scheme, user, host, params: f"{scheme}{user}{host}{params}",
    st.sampled_from(["sip:", "sips:", "SIP:", "tel:", "sip:+"]),
    st.sampled_from(["", "bob@", "a;b@", "a%40b@", "a:pw@", "@"]),
    st.sampled_from(["example.com", "h:5060", "h:65536", "[::1]", ".h", "a..b", "1.2.3.4"]),
    st.sampled_from(["", ";lr", ";transport=tcp;lr", "?subject=x", ";a=b=c", ";"]),
).flatmap(damaged)


@given(
    numbers.flatmap(damaged), numbers.flatmap(damaged), token_lists, token_lists,
    media_types.flatmap(damaged), events.flatmap(damaged), request_uris, st.booleans(),
)  # fmt: skip
def test_the_other_views_built_in_c_are_the_ones_built_in_python(
    max_forwards: str, expires: str, allow: str, supported: str, content_type: str, event: str,
    uri: str, twice: bool,
) -> None:
    lines = [
        f"Max-Forwards: {max_forwards}", f"Expires: {expires}", f"Min-Expires: {expires}",
        f"Allow: {allow}", f"k: {supported}", f"Content-Type: {content_type}", f"o: {event}",
        f"Require: {supported}", f"Proxy-Require: {allow}", f"Unsupported: {allow}",
    ]  # fmt: skip
    if twice:
        lines += ["Allow: INVITE", "Max-Forwards: 1", "Supported:", "c: text/plain"]
    head = [
        f"MESSAGE {uri} SIP/2.0", "Via: SIP/2.0/UDP h;branch=z9hG4bK1", "From: <sip:a@x>;tag=1",
        "To: <sip:b@x>", "Call-ID: c", "CSeq: 1 MESSAGE", *lines,
    ]  # fmt: skip
    data = ("\r\n".join(head) + "\r\n\r\n").encode()
    fast, pure = both(data)
    assert fast == pure


@needs_accelerator
@pytest.mark.parametrize("data", CORPUS_MESSAGES)
def test_the_corpus_gets_its_views_from_the_scan(data: bytes) -> None:
    # Every corpus message writes these in the usual shape: the scan must
    # have built them (the properties above only prove that what it builds
    # is right).
    msg = parse(data)
    assert {"call-id", "cseq", "via"} <= msg.headers._cache.keys()
    assert message_module._fill_views is not None
    left = message_module._fill_views(
        msg.headers._lines, msg.headers._keys, msg.headers._cache, message_module._TYPED_CKEYS
    )
    # Only the corpus's Authorization, Subscription-State and SIP-If-Match
    # are left to the Python views.
    assert left == bool(
        msg.headers._present & {"authorization", "subscription-state", "sip-if-match"}
    )
    built = msg.headers._cache.keys()
    assert {"*via", "from", "to"} <= built
    lists = ("contact", "route", "record-route", "allow", "supported", "require")
    for key in lists:
        assert (key in msg.headers._present) <= ("*" + key in built), key
    for key in ("max-forwards", "expires", "content-type", "event"):
        assert (key in msg.headers._present) <= (key in built), key


@given(st.sampled_from(CORPUS_MESSAGES) | mutated_messages(), st.integers(1, 40), st.integers(8, 400))
def test_same_result_at_the_limits(data: bytes, max_lines: int, max_line: int) -> None:
    limits = Limits(max_header_lines=max_lines, max_line_length=max_line)
    fast, pure = both(data, limits)
    assert fast == pure


def c_head(data: bytes | bytearray, start: int, end: int, limits: Limits = DEFAULT_LIMITS) -> Any:
    assert PARSE_HEAD is not None
    return PARSE_HEAD(
        data, start, end, _KEYS, limits.max_header_lines, limits.max_line_length,
        limits.max_uri_length, limits.max_body_size,
    )  # fmt: skip


@needs_accelerator
@given(st.sampled_from(CORPUS_MESSAGES) | mutated_messages() | raw_spellings().map(lambda r: r[0]))
@example(EDGE_CASES[-1].replace(b"MESSAGE sip:b@x SIP/2.0", b"SIP/2.0 200"))
@example(CORPUS_MESSAGES[0].replace(b"SIP/2.0\r\n", b"SIP/2.0\r\n", 1))
def test_parse_head_accepts_only_what_the_python_path_accepts_alike(data: bytes) -> None:
    end = data.find(b"\r\n\r\n")
    if end <= 0:
        return
    got = c_head(data, 0, end)
    if got is None:
        return  # declining is always allowed
    # Accepting: the index the Python fast path makes, and a message the
    # pure-Python parser makes too.
    h = got.headers
    index = python_index(data, 0, end, DEFAULT_LIMITS)
    assert index is not None
    assert (h._lines, h._keys, h._present) == index[1:]
    assert all(type(k) is str for k in h._keys)
    with PurePython():
        pure = message_module._parse_head(data, 0, end, DEFAULT_LIMITS)
    assert type(pure) is type(got)
    assert pure._content_length == got._content_length
    assert pure.start_line == got.start_line


@needs_accelerator
def test_parse_head_takes_bytearray_and_offsets() -> None:
    data = CORPUS_MESSAGES[0]
    end = data.index(b"\r\n\r\n")
    padded = bytearray(b"\r\n\r\n" + data)
    assert c_head(padded, 4, end + 4).headers._lines == c_head(data, 0, end).headers._lines
    # The buffer was held only while it was read: the framer's bytearray
    # can grow and shrink again.
    padded.extend(b"more")
    del padded[:4]
    assert c_head(data, 0, end + 10**9) is None
    assert c_head(data, -1, end) is None
    with pytest.raises(TypeError):
        c_head(memoryview(data), 0, end)  # type: ignore[arg-type]
    assert PARSE_HEAD is not None
    with pytest.raises(TypeError):
        PARSE_HEAD(data, 0, end, [], 128, 8192, 100, 100)  # type: ignore[arg-type]


def _frames(data: bytes) -> Iterator[Any]:
    framer = StreamFramer()
    try:
        for event in framer.feed(data):
            yield repr(event)
    except SIPParseError as exc:
        yield ("raises", type(exc).__name__, str(exc))


@given(streams().map(lambda s: s[0]) | mutated_messages())
def test_framer_same_result(data: bytes) -> None:
    fast = list(_frames(data))
    with PurePython():
        pure = list(_frames(data))
    assert fast == pure


def test_built_wherever_a_compiler_was() -> None:
    # CI installs with a compiler present: the accelerated path is the one
    # its tests exercise, and a build that silently fell back would hide it.
    if os.environ.get("CI") and not os.environ.get("SIPSTACK_NO_EXTENSIONS"):
        assert ACCELERATED


def test_environment_switch_selects_the_pure_parser() -> None:
    code = (
        "from sipstack.message import ACCELERATED, parse; import sys;"
        "m = parse(sys.stdin.buffer.read()); print(ACCELERATED, m.call_id)"
    )
    env = {**os.environ, "SIPSTACK_NO_EXTENSIONS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=CORPUS_MESSAGES[0],
        env=env,
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.decode().split()[0] == "False"
    assert out.stdout.decode().split()[1] == parse(CORPUS_MESSAGES[0]).call_id


def test_no_reference_is_leaked() -> None:
    # Every path of the C code -- accepted, declined half-way through a
    # list, rejected by the Python path afterwards -- run many times: a
    # reference kept by mistake would leave its object allocated each time.
    samples = [*CORPUS_MESSAGES, *EDGE_CASES]
    for data in CORPUS_MESSAGES:
        for old, new in ((b">", b""), (b",", b",<"), (b";", b";;"), (b"@", b"@@")):
            samples.append(data.replace(old, new, 3))

    def run(rounds: int) -> None:
        views: list[object] = []
        for _ in range(rounds):
            for data in samples:
                try:
                    msg = parse(data)
                    msg.validate()
                    views.append((msg.vias, msg.contacts, msg.routes, msg.from_addr))
                except SIPParseError:
                    pass
            views.clear()

    run(3)
    tracemalloc.start()
    try:
        run(3)
        before = tracemalloc.get_traced_memory()[0]
        run(40)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert after - before < 64 * 1024, f"{after - before} bytes kept over {40 * len(samples)} parses"


@needs_accelerator
def test_the_c_views_decline_what_they_cannot_read() -> None:
    speedups = message_module.SPEEDUPS
    assert speedups is not None
    # Text UTF-8 cannot carry, wrong types, lists of different lengths:
    # declined (None, nothing cached), never an exception.
    assert speedups.address("\udc80 <sip:a@b>") is None
    assert speedups.via("SIP/2.0/UDP \udc80") is None
    cache: dict[str, object] = {}
    typed = message_module._TYPED_CKEYS
    assert speedups.fill_views(["Via: \udc80", "From: <sip:a@b>"], ["via", "from"], cache, typed)
    assert set(cache) == {"from"}
    for args in (
        (("Via: x",), ["via"], {}, typed),
        (["Via: x"], ["via", "to"], {}, typed),
        ([1], ["via"], {}, typed),
        (["Via: x"], ["via"], {}, ()),
    ):
        # Declined: everything is left to the views.
        assert speedups.fill_views(*args) is True  # type: ignore[arg-type]
    assert speedups.address("") is None
    assert speedups.via("") is None


@needs_accelerator
def test_the_name_memo_answers_what_the_key_map_answers() -> None:
    data = CORPUS_MESSAGES[0]
    end = data.index(b"\r\n\r\n")
    assert PARSE_HEAD is not None
    assert c_head(data, 0, end) is not None
    # Another map, then the right one again: nothing remembered from either
    # is taken for the other.
    other = {k: "x-" + v for k, v in _KEYS.items()}
    got = PARSE_HEAD(data, 0, end, other, 128, 8192, 4096, 65535)
    assert got is None or all(k.startswith("x-") for k in got.headers._keys)
    assert PARSE_HEAD(data, 0, end, {}, 128, 8192, 4096, 65535) is None
    assert c_head(data, 0, end).headers._keys == parse(data).headers._keys
    # A name the map learns (the careful path adds it) is found from then on.
    name = b"X-Learned-" + str(len(_KEYS)).encode()
    learned = data.replace(b"\r\n\r\n", b"\r\n" + name + b": 1\r\n\r\n", 1)
    end = learned.index(b"\r\n\r\n")
    first = c_head(learned, 0, end)
    parse(learned)
    again = c_head(learned, 0, end)
    assert again is not None and again.headers._keys[-1] == name.decode().lower()
    assert first is None or first.headers._keys == again.headers._keys
