"""The parser's fast paths give exactly what its general paths give.

Each typed view parses the usual shape of its header with one precompiled
pattern and builds the value directly; anything else goes to the general
parser.  These properties generate header values around those shapes
(written as peers write them, then sometimes damaged by a character or two)
and check, for every value, that the fast path and the general path agree:
the same fields, the same parameters, the same text, or the same error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from hypothesis import example, given, note
from hypothesis import strategies as st
from test_properties import CORPUS_MESSAGES, mutated_messages

from sipstack.errors import SIPParseError
from sipstack.message import (
    Address,
    ContentType,
    CSeq,
    Params,
    SipURI,
    Via,
    _abnf,
    _values,
    parse,
    parse_address,
    parse_content_type,
    parse_cseq,
    parse_uri,
)
from sipstack.message._address import _parse_address, stripped_address
from sipstack.message._lex import _PARAMS_PLAIN, _PARAMS_TIGHT, split_commas
from sipstack.message._message import _expires, _tokens, _tokens_general
from sipstack.message._uri import _parse_sip, _parse_sip_general
from sipstack.message._values import (
    _parse_content_type,
    _parse_cseq,
    _parse_via,
    parse_uint,
    parse_via_lazy,
    stripped_via,
)

# -- outcomes -------------------------------------------------------------------


def outcome(fn: Callable[[], Any]) -> Any:
    """What ``fn()`` returns, or the SIPParseError it raises (type and text)."""
    try:
        return fn()
    except SIPParseError as exc:
        return ("raises", type(exc).__name__, str(exc))


def params_items(p: Params) -> list[tuple[str, str | None]]:
    return list(p)


def uri_fields(u: Any) -> Any:
    if not isinstance(u, SipURI):
        return (type(u).__name__, str(u))
    return (
        "sip",
        u.scheme,
        u.user,
        u.password,
        u.host,
        u.port,
        params_items(u.params),
        u.headers,
        str(u),
    )


def address_fields(a: Address) -> Any:
    # tag first: it has a fast path of its own that reading params would skip.
    tag = a.tag
    return (a.display_name, tag, uri_fields(a.uri), params_items(a.params), str(a))


LAZY_VIA = ("branch", "received", "maddr", "rport_requested", "rport", "ttl", "has_magic_cookie")


def via_fields_fast(v: Via) -> Any:
    """Read the lazy views before the parameters are parsed: that is where
    their own fast paths run."""
    lazy = [outcome(lambda n=n: getattr(v, n)) for n in LAZY_VIA]
    items = outcome(lambda: params_items(v.params))
    return (v.host, v.port, v.transport, v.protocol, str(v), items, lazy)


def via_fields_general(v: Via) -> Any:
    """Parse (and split) the parameters first, so that every view reads them
    from the split list, the reference behaviour."""
    items = outcome(lambda: params_items(v.params))
    lazy = [outcome(lambda n=n: getattr(v, n)) for n in LAZY_VIA]
    return (v.host, v.port, v.transport, v.protocol, str(v), items, lazy)


# -- generated header values ------------------------------------------------------

ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
TOKEN = ALNUM + "-.!%*_+`'~"
# Characters that sit at the edges of the patterns.
NOISE = " \t;=,\"<>@:%[]?&\\/.()+$!~*'`{}é\x7f"

tokens = st.text(TOKEN, min_size=1, max_size=6)
names = st.sampled_from(
    ["tag", "branch", "received", "rport", "maddr", "ttl", "lr", "transport", "expires", "q"]
) | st.text(ALNUM + "-.", min_size=1, max_size=5)


@st.composite
def damaged(draw: st.DrawFn, text: str) -> str:
    """``text``, or ``text`` with a character or two inserted, removed or replaced."""
    for _ in range(draw(st.sampled_from([0, 0, 0, 0, 0, 1, 1, 2]))):
        if not text:
            break
        i = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "case"]))
        c = draw(st.sampled_from(NOISE) | st.sampled_from(TOKEN))
        if op == "insert":
            text = text[:i] + c + text[i:]
        elif op == "delete":
            text = text[:i] + text[i + 1 :]
        elif op == "replace":
            text = text[:i] + c + text[i + 1 :]
        else:
            text = text[:i] + text[i:].swapcase()
    return text


def spelled(name: str) -> st.SearchStrategy[str]:
    """``name`` as written, in another case, or %-escaped."""
    return st.sampled_from(
        [name, name.upper(), name.capitalize(), "%" + f"{ord(name[0]):02x}" + name[1:]]
    )


hostnames = st.lists(st.text(ALNUM + "-_", min_size=1, max_size=5), min_size=1, max_size=3).map(
    ".".join
)
hosts = st.one_of(
    hostnames,
    hostnames,
    hostnames,
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda a: f"[{a.compressed}]"),
    st.sampled_from([".a", "a..b", "a.", "[zz::1]", "[::1", "a_b"]),
)
ports = st.one_of(
    st.just(""),
    st.integers(0, 65535).map(lambda p: f":{p}"),
    st.integers(0, 99999).map(lambda p: f":{p}"),
    st.just(":"),
)


@st.composite
def param_texts(
    draw: st.DrawFn, first: str | None = None, values: st.SearchStrategy[str] = tokens
) -> str:
    """``;name=value`` parameters, usually tight, sometimes spaced or quoted."""
    out = []
    tight = draw(st.integers(0, 3)) > 0
    items = draw(st.lists(st.tuples(names, st.none() | values), max_size=4))
    if first is not None and draw(st.integers(0, 3)) > 0:
        name = first if draw(st.booleans()) else draw(spelled(first))
        items.insert(0, (name, draw(st.none() | values | values)))
    for name, value in items:
        sep = ";" if tight else draw(st.sampled_from([";", " ;", "; "]))
        if value is None:
            out.append(f"{sep}{name}")
        else:
            eq = "=" if tight else draw(st.sampled_from(["=", " = "]))
            if not tight and draw(st.integers(0, 3)) == 0:
                value = '"' + value.replace('"', "") + '"'
            out.append(f"{sep}{name}{eq}{value}")
    return "".join(out)


uri_values = st.text(ALNUM + "-_.!~*'()[]/:&+$", min_size=1, max_size=6)
users = st.text(ALNUM + "-_.!~*'()&=+$,;?/%", min_size=1, max_size=8)


@st.composite
def sip_uri_texts(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["sip", "sip", "sip", "sips", "SIP"]))
    user = draw(st.sampled_from(["", "x", "x"]) | users)
    if user and user != "x":
        if draw(st.integers(0, 5)) == 0:
            user += ":" + draw(st.text(ALNUM, max_size=4))
        user += "@"
    elif user == "x":
        user = draw(st.text(ALNUM, min_size=1, max_size=6)) + "@"
    uparams = draw(param_texts(first="transport", values=uri_values))
    uparams = uparams.replace(" ", "").replace('"', "")
    headers = draw(st.sampled_from(["", "", "", "", "", "?a=b", "?x"]))
    return f"{scheme}:{user}{draw(hosts)}{draw(ports)}{uparams}{headers}"


@st.composite
def address_texts(draw: st.DrawFn) -> str:
    uri = draw(sip_uri_texts() | sip_uri_texts() | st.sampled_from(["tel:+1-555", "mailto:x@y"]))
    hparams = draw(param_texts(first="tag"))
    shape = draw(st.sampled_from(["bracket", "bracket", "display", "quoted", "spec"]))
    if shape == "spec":
        text = uri + hparams
    elif shape == "bracket":
        text = f"<{uri}>{hparams}"
    elif shape == "display":
        words = " ".join(draw(st.lists(tokens, min_size=1, max_size=3)))
        text = f"{words}{draw(st.sampled_from([' ', '', '  ', chr(9)]))}<{uri}>{hparams}"
    else:
        name = draw(st.text(ALNUM + " \\\"'é", max_size=8))
        text = f'"{name}" <{uri}>{hparams}'
    return draw(damaged(text))


@st.composite
def via_texts(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        # The shape the one-pattern path takes (mostly).
        protocol, sp = "SIP/2.0", " "
        transport = draw(st.sampled_from(["UDP", "TCP", "TLS", "WS", "WSS", "TLS-SCTP", "DTLS"]))
        host = draw(hostnames | st.ip_addresses(v=4).map(str))
        port = draw(st.sampled_from(["", ":5060", ":0", ":65535", ":65536"]))
    else:
        protocol = draw(st.sampled_from(["SIP/2.0", "SIP / 2.0", "sip/2.0", "SIP/3.0"]))
        transport = draw(st.sampled_from(["UDP", "udp", "Tcp"]) | tokens)
        sp = draw(st.sampled_from([" ", "  ", "\t"]))
        host, port = draw(hosts), draw(ports)
    values = tokens | st.ip_addresses(v=4).map(str)
    params = draw(param_texts(first="branch", values=values))
    return draw(damaged(f"{protocol}/{transport}{sp}{host}{port}{params}"))


# -- the properties ---------------------------------------------------------------


@given(address_texts())
@example('"Alice Liddell" <sip:alice@atlanta.example.com>;tag=9fxced76sl')
@example("sip:user1@domain.example.com;tag=49583")
@example("<sip:a%40b@host;lr>;TAG=x;tag=y")
@example("<sip:a@b>;tag;tag=2")
def test_address_fast_path_is_the_general_path(text: str) -> None:
    note(repr(text))
    value = text.strip(" \t")
    fast = outcome(lambda: address_fields(stripped_address(value, "To")))
    general = outcome(lambda: address_fields(_parse_address(value, "To")))
    assert fast == general
    assert outcome(lambda: address_fields(parse_address(text, "To"))) == fast


@given(via_texts())
@example("SIP/2.0/UDP h;BRANCH=a;branch=b")
@example("SIP/2.0/UDP h;%62ranch=a;branch=b")
@example("SIP/2.0/UDP h;%72eceived=1.2.3.4")
@example("SIP/2.0/UDP h;%6daddr=1.2.3.4")
@example("SIP/2.0/UDP h;%72port")
@example("SIP/2.0/UDP h;branch;branch=x")
@example("SIP/2.0/UDP h:5060;branch=z9hG4bK1;rport;received=192.0.2.1")
def test_via_fast_paths_are_the_general_path(text: str) -> None:
    note(repr(text))
    value = text.strip(" \t")
    fast = outcome(lambda: via_fields_fast(stripped_via(value)))
    general = outcome(lambda: via_fields_general(_parse_via(value)))
    assert fast == general
    assert outcome(lambda: via_fields_fast(parse_via_lazy(text))) == fast


@given(sip_uri_texts().flatmap(damaged))
@example("sip:bob@client.biloxi.example.com:5060")
@example("sip:host;x=a@b")
def test_sip_uri_fast_path_is_the_general_path(text: str) -> None:
    note(repr(text))
    scheme, _, rest = text.partition(":")
    if scheme.lower() not in ("sip", "sips"):
        return
    scheme = scheme.lower()
    fast = outcome(lambda: uri_fields(_parse_sip(scheme, rest, text)))
    general = outcome(lambda: uri_fields(_parse_sip_general(scheme, rest, text)))
    assert fast == general
    assert outcome(lambda: uri_fields(parse_uri(text))) == fast


def cseq_fields(c: CSeq) -> Any:
    return (c.seq, c.method, str(c))


# CSeq values around the usual "number METHOD".
cseq_texts = st.builds(
    lambda n, sp, m: f"{n}{sp}{m}",
    st.integers(0, 2**33).map(str) | st.sampled_from(["", "01", "00000000001", "١"]),
    st.sampled_from([" ", "  ", "\t", "", " \t", "\xa0"]),
    st.sampled_from(["INVITE", "ACK", "BYE"]) | tokens,
).flatmap(damaged)


@given(cseq_texts)
@example("4294967296 INVITE")
@example("1\xa0INVITE")
def test_cseq_fast_path_is_the_general_path(text: str) -> None:
    fast = outcome(lambda: cseq_fields(parse_cseq(text)))
    assert fast == outcome(lambda: cseq_fields(_parse_cseq(text)))


def content_type_fields(c: ContentType) -> Any:
    return (c.type, c.subtype, params_items(c.params), c.charset, str(c))


@given(
    st.builds(
        lambda a, sp, b, p: f"{a}{sp}/{sp}{b}{p}",
        tokens,
        st.sampled_from(["", "", " "]),
        tokens,
        param_texts(first="charset"),
    ).flatmap(damaged)
)
@example("application/sdp")
@example('text/plain;charset="utf-8"')
def test_content_type_fast_path_is_the_general_path(text: str) -> None:
    fast = outcome(lambda: content_type_fields(parse_content_type(text)))
    assert fast == outcome(lambda: content_type_fields(_parse_content_type(text)))


@given(
    st.lists(tokens, min_size=1, max_size=5)
    .flatmap(
        lambda ts: st.builds(
            lambda seps: "".join(t + s for t, s in zip(ts, [*seps, ""], strict=False)),
            st.lists(
                st.sampled_from([", ", ",", " , ", ",\t", ",,", " "]),
                min_size=len(ts) - 1,
                max_size=len(ts) - 1,
            ),
        )
    )
    .flatmap(damaged)
)
@example("INVITE, ACK, CANCEL")
@example("a b")
@example("")
@example(",a")
def test_token_list_fast_path_is_the_general_path(text: str) -> None:
    assert outcome(lambda: _tokens(text)) == outcome(lambda: _tokens_general(text))


@given(
    param_texts(values=tokens | st.sampled_from(["1.2.3.4", "[::1]", "a:b"])).flatmap(damaged),
    names.flatmap(spelled) | st.sampled_from(["", ";", "a;b", "tag=x", "é"]),
)
@example(";a;b", "a;b")
@example(";tag=1", "TAG")
@example(";%74ag=1", "tag")
def test_parameter_lookup_without_splitting_is_the_split_lookup(text: str, name: str) -> None:
    """Params.get on unsplit text (the fast path) against the split list."""
    if '"' in text or not (_PARAMS_TIGHT.fullmatch(text) or _PARAMS_PLAIN.fullmatch(text)):
        return  # only validated, unquoted text is ever kept unsplit
    fast = Params._lazy(text)
    split = Params._lazy(text)
    split_items = list(split)
    assert [fast.raw(name), fast.get(name), name in fast] == [
        split.raw(name),
        split.get(name),
        name in split,
    ]
    assert list(fast) == split_items


# The Call-ID pattern as RFC 3261 §25.1 writes it (greedy); _abnf's is the
# possessive form of it.
CALL_ID_REFERENCE = re.compile(
    r"[A-Za-z0-9\-.!%*_+`'~()<>:\\\"/\[\]?{}]+(?:@[A-Za-z0-9\-.!%*_+`'~()<>:\\\"/\[\]?{}]+)?"
)


@given(st.text(ALNUM + "-.!%*_+`'~()<>:\\\"/[]?{}@ ;é", max_size=20))
def test_call_id_pattern_matches_the_grammar(text: str) -> None:
    assert bool(_abnf.CALL_ID.fullmatch(text)) == bool(CALL_ID_REFERENCE.fullmatch(text))


# -- whole messages: validate() and the views agree ---------------------------

VIEWS = (
    "call_id", "cseq", "from_addr", "to_addr", "top_via", "vias", "contacts", "routes",
    "record_routes", "refer_to", "max_forwards", "content_type", "expires", "min_expires",
    "event", "subscription_state", "allow", "supported", "require", "proxy_require",
    "unsupported", "sip_etag", "sip_if_match", "www_authenticate", "proxy_authenticate",
    "authorization", "proxy_authorization", "retry_after", "date", "from_tag", "to_tag",
)  # fmt: skip


def view_fields(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(view_fields(v) for v in value)
    if isinstance(value, Address):
        return address_fields(value)
    if isinstance(value, Via):
        return via_fields_general(value)
    if isinstance(value, CSeq):
        return cseq_fields(value)
    return (type(value).__name__, str(value))


@given(mutated_messages() | st.sampled_from(CORPUS_MESSAGES))
def test_validate_caches_what_the_views_compute(data: bytes) -> None:
    """The views of a validated message (read from what validate() cached)
    equal the views of the same message read one by one."""
    try:
        validated = parse(data)
        alone = parse(data)
    except SIPParseError:
        return
    if isinstance(outcome(validated.validate), tuple):
        return  # invalid: validate() stopped somewhere; the views raise on their own
    for name in VIEWS:
        assert outcome(lambda n=name: view_fields(getattr(validated, n))) == outcome(
            lambda n=name: view_fields(getattr(alone, n))
        ), name


# The auth-param patterns as the grammar reads (greedy); _values' are their
# possessive forms, which must accept and find exactly the same.
_T = _abnf.TOKEN_CHARS
_AUTH_VALUE_REFERENCE = r'("[^"\\]*(?:\\.[^"\\]*)*"|[' + _T + r"]+)"
AUTH_PARAM_REFERENCE = re.compile(rf"([{_T}]+)[ \t]*=[ \t]*" + _AUTH_VALUE_REFERENCE)
AUTH_PARAMS_REFERENCE = re.compile(
    rf"[ \t,]*[{_T}]+[ \t]*=[ \t]*(?:{_AUTH_VALUE_REFERENCE[1:-1]})"
    rf"(?:[ \t]*,[ \t,]*[{_T}]+[ \t]*=[ \t]*(?:{_AUTH_VALUE_REFERENCE[1:-1]}))*[ \t,]*"
)


@st.composite
def auth_param_lists(draw: st.DrawFn) -> str:
    out = []
    for name, quoted, value in draw(
        st.lists(st.tuples(tokens, st.booleans(), st.text(ALNUM + ' ,="\\\t', max_size=6)))
    ):
        if quoted:
            value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        eq = draw(st.sampled_from(["=", " = ", "=\t"]))
        sep = draw(st.sampled_from([", ", ",", " , ", ",,", ", ,"]))
        out.append(f"{sep}{name}{eq}{value}")
    return draw(damaged("".join(out)[draw(st.integers(0, 2)) :]))


@given(auth_param_lists())
@example('username="bob", realm="a\\"b", nc=00000001')
@example('a="\\')
def test_auth_patterns_match_the_grammar(text: str) -> None:
    assert bool(_values._AUTH_PARAMS.fullmatch(text)) == bool(AUTH_PARAMS_REFERENCE.fullmatch(text))
    assert _values._AUTH_PARAM.findall(text) == AUTH_PARAM_REFERENCE.findall(text)


def expires_reference(value: str) -> int:
    """Expires as RFC 3261 §20.19 reads it (the former code, kept as the reference)."""
    v = value.strip(" \t")
    if v.isascii() and v.isdigit() and (len(v) > 10 or int(v) > 2**32 - 1):
        return 2**32 - 1
    return parse_uint(v, "Expires", 2**32 - 1)


@given(st.integers(0, 2**40).map(str) | st.text("0123456789 \t١²x", max_size=12))
def test_expires_is_read_as_the_grammar_says(text: str) -> None:
    assert outcome(lambda: _expires(text)) == outcome(lambda: expires_reference(text))


def reference_views(msg: Any) -> dict[str, Any]:
    """Some views computed straight from the header values with the general
    parsers, as the views were defined before their fast paths."""
    h = msg.headers
    out: dict[str, Any] = {}

    def via_list() -> Any:
        return tuple(view_fields(_parse_via(e)) for v in h.get_all("Via") for e in split_commas(v))

    def top_via() -> Any:
        first = h.get_all("Via")[0]
        parts = split_commas(first) if ('"' in first or "<" in first) else [first.split(",")[0]]
        return view_fields(_parse_via((parts[0] if parts else "").strip(" \t")))

    def contacts() -> Any:
        elements = h.get_list("Contact")
        if "*" in elements:
            if len(elements) != 1:
                raise SIPParseError("'*' mixed with other contacts")
            return ()
        return tuple(address_fields(_parse_address(e, "Contact")) for e in elements)

    def tokens_of(name: str) -> Any:
        return view_fields(tuple(t for v in h.get_all(name) for t in _tokens_general(v)))

    out["vias"] = outcome(via_list)
    out["top_via"] = outcome(top_via)
    out["contacts"] = outcome(contacts)
    for name, attr in (("Allow", "allow"), ("Supported", "supported"), ("Require", "require")):
        out[attr] = outcome(lambda name=name: tokens_of(name))
    return out


@given(mutated_messages() | st.sampled_from(CORPUS_MESSAGES))
def test_views_are_the_general_parsers(data: bytes) -> None:
    try:
        msg = parse(data)
    except SIPParseError:
        return
    want = reference_views(msg)
    for attr, expected in want.items():
        got = outcome(lambda attr=attr: view_fields(getattr(msg, attr)))
        if isinstance(expected, tuple) and expected[:1] == ("raises",):
            assert isinstance(got, tuple) and got[:1] == ("raises",), attr
        else:
            assert got == expected, attr
