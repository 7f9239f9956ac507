"""Typed views of the headers the stack itself uses (RFC 3261 §20 and the
extensions named on each class).  Each ``parse_*`` function takes one header
value (one comma-separated element for list headers) and returns an
immutable value or raises :class:`~sipstack.errors.SIPParseError`."""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter

from ..errors import HeaderError, SIPUsageError
from . import _abnf
from ._accel import SPEEDUPS
from ._lex import (
    _PARAMS_TIGHT,
    EMPTY_PARAMS,
    Params,
    _ro,
    lazy_params,
    parse_params,
    plain_find,
    unquote,
)
from ._uri import _is_ipv6_ref

__all__ = [
    "AuthHeader",
    "CSeq",
    "ContentType",
    "Event",
    "RetryAfter",
    "SubscriptionState",
    "Via",
    "parse_auth",
    "parse_call_id",
    "parse_content_type",
    "parse_cseq",
    "parse_date",
    "parse_event",
    "parse_retry_after",
    "parse_subscription_state",
    "parse_token",
    "parse_uint",
    "parse_via",
]

MAX_UINT32 = 2**32 - 1
_TRANSPORTS = frozenset(("UDP", "TCP", "TLS", "SCTP", "WS", "WSS", "TLS-SCTP", "DTLS"))
_METHODS = frozenset(
    "INVITE ACK BYE CANCEL OPTIONS REGISTER MESSAGE SUBSCRIBE NOTIFY PUBLISH INFO PRACK "
    "UPDATE REFER".split()
)
_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
_WEEKDAYS = "Mon Tue Wed Thu Fri Sat Sun".split()
_MAGIC_COOKIE = "z9hG4bK"
_new = object.__new__
_c_via: Callable[[str], Via | None] | None = None if SPEEDUPS is None else SPEEDUPS.via


def parse_uint(text: str, header: str, maximum: int = MAX_UINT32) -> int:
    """A non-negative decimal integer no larger than ``maximum``."""
    v = text.strip(" \t")
    if not (v.isascii() and v.isdigit()) or len(v) > 10:
        raise HeaderError(header, f"{v[:40]!r} is not a number")
    n = int(v)
    if n > maximum:
        raise HeaderError(header, f"{n} is larger than {maximum}")
    return n


def parse_token(text: str, header: str) -> str:
    """A single token (SIP-ETag, Allow element, option tag …)."""
    v = text.strip(" \t")
    if not _abnf.TOKEN.fullmatch(v):
        raise HeaderError(header, f"{v[:40]!r} is not a token")
    return v


def parse_call_id(text: str) -> str:
    """Call-ID = word [ "@" word ]."""
    v = text.strip(" \t")
    if not _abnf.CALL_ID.fullmatch(v):
        raise HeaderError("Call-ID", f"{v[:40]!r} is not a valid Call-ID")
    return v


# In tight parameter text (see _tight_ptext): the received / rport
# parameters a transport replaces when it stamps a Via.
_STAMP_PARAMS = re.compile(r";(?:received|rport)(?:=[^;]*)?(?=;|$)", re.I)


# The usual Via in one pattern: "SIP/2.0/UDP host[:port]" and plain
# parameters.  The quantifiers are possessive (they never give back what they
# took, which spares the engine its backtracking bookkeeping): each class
# stops at a character that nothing after it can match, so giving back could
# never have found another match.
_VIA_FAST = re.compile(
    r"SIP/2\.0/(UDP|TCP|TLS|SCTP|WS|WSS|TLS-SCTP|DTLS) ([A-Za-z0-9_\-.]++)(?::([0-9]{1,5}+))?+"
    # A branch written first (as nearly every Via has it) is a group of its own.
    r"((?:;branch=([A-Za-z0-9\-.!%*_+`'~:\[\]]++))?+"
    r"(?:;[A-Za-z0-9\-.!%*_+`'~]++(?:=[A-Za-z0-9\-.!%*_+`'~:\[\]]++)?+)*+)"
)


class Via:
    """One Via header element (RFC 3261 §20.42, RFC 3581 rport); immutable."""

    __slots__ = (
        "_branch", "_host", "_params", "_port", "_protocol", "_ptext", "_raw", "_tight", "_transport",
    )  # fmt: skip
    _raw: str | None
    # The branch when the pattern of parse_via_lazy saw it as the first
    # parameter, else None (then it is looked up in the parameters).
    _branch: str | None
    # A parsed Via keeps its parameter text and parses it on first use of
    # .params (the branch alone has a fast path): most readers want only
    # the top Via's branch and sent-by.
    _params: Params | None
    _ptext: str
    # True when _ptext is known to be plain ";name=value" text (see
    # _tight_ptext), so string checks on it need no further validation.
    _tight: bool

    host: str = _ro("_host", "The sent-by host (IPv6 references keep their brackets).")
    port: int | None = _ro("_port", "The sent-by port (None when absent).")
    transport: str = _ro("_transport", "The transport, upper case (UDP, TCP, TLS, WS …).")
    protocol: str = _ro("_protocol", "Protocol name and version, normally ``SIP/2.0``.")

    @property
    def params(self) -> Params:
        """The via-params (branch, received, rport …)."""
        p = self._params
        if p is None:
            p = self._params = parse_params(self._ptext, "Via") if self._ptext else EMPTY_PARAMS
        return p

    def __init__(
        self,
        host: str,
        port: int | None = None,
        transport: str = "UDP",
        params: Params = EMPTY_PARAMS,
        protocol: str = "SIP/2.0",
    ) -> None:
        if not (_abnf.is_hostname(host) or _is_ipv6_ref(host)):
            raise SIPUsageError(f"{host!r} is not a host name or IP address")
        if not _abnf.TOKEN.fullmatch(transport):
            raise SIPUsageError(f"{transport!r} is not a transport token")
        if port is not None and not 0 <= port <= 65535:
            raise SIPUsageError(f"port {port} out of range")
        if not isinstance(params, Params):
            raise SIPUsageError("params must be a Params")
        self._host, self._port, self._transport = host, port, transport.upper()
        self._params, self._protocol, self._raw, self._ptext = params, protocol, None, ""
        self._tight = False
        self._branch = None

    @classmethod
    def _parsed(
        cls, host: str, port: int | None, transport: str, ptext: str, protocol: str, raw: str
    ) -> Via:
        self = object.__new__(cls)
        self._host, self._port, self._transport = host, port, transport
        self._params, self._ptext, self._protocol, self._raw = None, ptext, protocol, raw
        self._tight = False
        self._branch = None
        return self

    def __repr__(self) -> str:
        return f"Via({str(self)!r})"

    @property
    def branch(self) -> str | None:
        """The branch parameter (transaction identifier)."""
        branch = self._branch
        if branch is not None:
            return branch
        text = self._tight_ptext()
        if text is not None and "%" not in text:
            item = plain_find(text, "branch")
            return None if item is None else item[1]
        return self.params.get("branch")

    @property
    def has_magic_cookie(self) -> bool:
        """Whether the branch starts with ``z9hG4bK`` (RFC 3261 §8.1.1.7);
        if not, transactions fall back to RFC 2543 matching."""
        b = self.branch
        return b is not None and b.startswith(_MAGIC_COOKIE)

    @property
    def received(self) -> str | None:
        """The ``received`` parameter (§18.2.1)."""
        text = self._tight_ptext()
        if text is not None and "%" not in text:
            item = plain_find(text, "received")
            return None if item is None else item[1]
        return self.params.get("received")

    def _tight_ptext(self) -> str | None:
        """The parameter text when it has not been split yet and is in the
        plain ``;name=value`` shape: then simple string checks on it give
        the same answers as the parsed parameters."""
        if self._params is None and (self._tight or _PARAMS_TIGHT.fullmatch(self._ptext)):
            self._tight = True
            return self._ptext
        return None

    @property
    def rport_requested(self) -> bool:
        """Whether ``rport`` is present, with or without a value (RFC 3581)."""
        text = self._tight_ptext()
        if text is not None and "%" not in text:
            return plain_find(text, "rport") is not None
        return "rport" in self.params

    @property
    def rport(self) -> int | None:
        """The value of ``rport`` when it has one."""
        v = self.params.get("rport")
        if v is None or not (v.isascii() and v.isdigit()) or len(v) > 5 or int(v) > 65535:
            return None
        return int(v)

    @property
    def maddr(self) -> str | None:
        """The ``maddr`` parameter."""
        text = self._tight_ptext()
        if text is not None and "%" not in text:
            item = plain_find(text, "maddr")
            return None if item is None else item[1]
        return self.params.get("maddr")

    @property
    def ttl(self) -> int | None:
        """The ``ttl`` parameter."""
        v = self.params.get("ttl")
        return int(v) if v is not None and v.isascii() and v.isdigit() and len(v) <= 3 else None

    @property
    def sent_by(self) -> tuple[str, int | None]:
        """``(host, port)`` as sent by the element that added this Via."""
        return self.host, self.port

    def stamped(self, received: str, rport: int | None = None) -> Via:
        """A copy with ``received`` set and, when ``rport`` is given, the
        ``rport`` value filled in (RFC 3261 §18.2.1, RFC 3581 §4); other
        parameters are kept in order.  ``received`` is an IP address as a
        transport reports it (IPv6 without brackets)."""
        text = self._tight_ptext()
        raw = self._raw
        if text is not None and raw is not None and raw.endswith(text):
            head = raw[: len(raw) - len(text)]
        else:
            port = "" if self._port is None else f":{self._port}"
            head = f"{self._protocol}/{self._transport} {self._host}{port}"
        if text is not None:
            low = text.lower()
            if "received" not in low and low.endswith(";rport") and low.count("rport") == 1:
                # The usual request: "...;rport" last, nothing to remove.
                ptext = text[:-6]
            elif "received" in low or "rport" in low:
                ptext = _STAMP_PARAMS.sub("", text)
            else:
                ptext = text
            ptext += f";received={received}"
            if rport is not None:
                ptext += f";rport={rport}"
            via = Via._parsed(
                self._host, self._port, self._transport, ptext, self._protocol, head + ptext
            )
            via._tight = True
            return via
        items = [(n, v) for n, v in self.params if n.lower() not in ("received", "rport")]
        items.append(("received", received))
        if rport is not None:
            items.append(("rport", str(rport)))
        params = Params._trusted(tuple(items))
        via = Via._parsed(
            self._host, self._port, self._transport, "", self._protocol, f"{head}{params}"
        )
        via._params = params
        return via

    def with_param(self, name: str, value: str | None = None) -> Via:
        """A copy with parameter ``name`` set (e.g. ``received``, ``rport``)."""
        return Via(
            self.host, self.port, self.transport, self.params.with_param(name, value), self.protocol
        )

    def __str__(self) -> str:
        if self._raw is not None:
            return self._raw
        port = "" if self.port is None else f":{self.port}"
        return f"{self.protocol}/{self.transport} {self.host}{port}{self.params}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Via):
            return NotImplemented
        return (
            self.host.lower() == other.host.lower()
            and self.port == other.port
            and self.transport.upper() == other.transport.upper()
            and self.protocol.upper() == other.protocol.upper()
            and self.params == other.params
        )

    def __hash__(self) -> int:
        return hash((self.host.lower(), self.port, self.transport.upper()))


def parse_via(text: str) -> Via:
    """Parse one via-parm, parameters included."""
    via = parse_via_lazy(text)
    via.params  # noqa: B018
    return via


def parse_via_lazy(text: str) -> Via:
    """Parse one via-parm up to its sent-by; the parameters are parsed (and
    any error in them raised) when first read."""
    return stripped_via(text.strip(" \t"))


def stripped_via(value: str) -> Via:
    """:func:`parse_via_lazy` of a value without surrounding whitespace (as
    header values and list elements are once split out of a message)."""
    if _c_via is not None:
        # The accelerator takes the shape the pattern below takes.
        built: Via | None = _c_via(value)
        if built is not None:
            return built
    m = _VIA_FAST.fullmatch(value)
    if m is not None:
        # The usual shape, "SIP/2.0/UDP host[:port];plain=params", in one
        # match that validates the parameters too.
        transport, host, port_text, ptext, branch = m.groups()
        port = None if port_text is None else int(port_text)
        if host[0] != "." and ".." not in host and (port is None or port <= 65535):
            via = _new(Via)
            via._host = host
            via._port = port
            via._transport = transport
            via._protocol = "SIP/2.0"
            via._params = None
            via._ptext = ptext
            via._raw = value
            via._tight = True
            via._branch = branch
            return via
    if value[:8] == "SIP/2.0/":
        # The same shape with parameters the pattern above does not take
        # (quoted, spaced): sent-by without the regex, parameters checked
        # when read.
        sp = value.find(" ", 8)
        transport = value[8:sp]
        if sp > 8 and transport in _TRANSPORTS:
            semi = value.find(";", sp)
            sent_by = value[sp + 1 :] if semi < 0 else value[sp + 1 : semi]
            host, colon, port_text = sent_by.partition(":")
            if (_abnf.HOST_CHARS.fullmatch(host) and host[0] != "." and ".." not in host) and (
                not colon or (port_text.isascii() and port_text.isdigit() and len(port_text) <= 5)
            ):
                fast_port = int(port_text) if colon else None
                if fast_port is None or fast_port <= 65535:
                    rest = "" if semi < 0 else value[semi:]
                    return Via._parsed(host, fast_port, transport, rest, "SIP/2.0", value)
    return _parse_via(value)


def _parse_via(value: str) -> Via:
    """The general path of :func:`parse_via_lazy`, for ``value`` already
    stripped: any protocol, spaces around the slashes and the colon, IPv6."""
    m = _abnf.VIA_HEAD.match(value)
    if m is None:
        raise HeaderError("Via", f"{value[:60]!r} is not sent-protocol sent-by")
    name, version, transport, host, port = m.groups()
    if host[0] == "[" and not _is_ipv6_ref(host):
        raise HeaderError("Via", f"bad IPv6 reference {host!r}")
    p: int | None = None
    if port is not None:
        p = int(port)
        if p > 65535:
            raise HeaderError("Via", f"port {p} out of range")
    rest = value[m.end() :]
    if rest and rest[0] != ";":
        raise HeaderError("Via", f"unexpected {rest[:20]!r} after sent-by")
    protocol = "SIP/2.0" if name == "SIP" and version == "2.0" else f"{name}/{version}"
    return Via._parsed(host, p, transport.upper(), rest, protocol, value)


class CSeq:
    """CSeq (RFC 3261 §20.16): sequence number and method; immutable."""

    __slots__ = ("_method", "_seq")

    seq: int = _ro("_seq", "The sequence number.")
    method: str = _ro("_method", "The method.")

    def __init__(self, seq: int, method: str) -> None:
        if not isinstance(seq, int) or not 0 <= seq <= MAX_UINT32:
            raise SIPUsageError(f"CSeq number {seq!r} out of range")
        if not _abnf.TOKEN.fullmatch(method):
            raise SIPUsageError(f"{method!r} is not a method")
        self._seq, self._method = seq, method

    def __str__(self) -> str:
        return f"{self._seq} {self._method}"

    def __repr__(self) -> str:
        return f"CSeq({self._seq}, {self._method!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CSeq):
            return NotImplemented
        return self._seq == other._seq and self._method == other._method

    def __hash__(self) -> int:
        return hash((self._seq, self._method))


# "number METHOD" as nearly everyone writes it, in one possessive match (no
# class can match the character that ends it).
_CSEQ_FAST = re.compile(rf"([0-9]{{1,10}}+)[ \t]++([{_abnf.TOKEN_CHARS}]++)")


def parse_cseq(text: str) -> CSeq:
    """CSeq = 1*DIGIT LWS Method."""
    m = _CSEQ_FAST.fullmatch(text)
    if m is not None:
        num, method = m.groups()
        seq = int(num)
        if seq <= MAX_UINT32:
            c = _new(CSeq)
            c._seq = seq
            c._method = method
            return c
    return _parse_cseq(text)


# LWS between the number and the method (RFC 3261 §25.1): SP and HT only,
# not the other characters str.split() takes for whitespace (NBSP, VT ...).
_LWS = re.compile(r"[ \t]+")


def _parse_cseq(text: str) -> CSeq:
    # The general path of parse_cseq: whitespace around and between, and
    # the errors.
    parts = _LWS.split(text.strip(" \t"))
    if len(parts) != 2:
        raise HeaderError("CSeq", f"{text[:40]!r} is not 'number METHOD'")
    num, method = parts
    if not (num.isascii() and num.isdigit()) or len(num) > 10 or int(num) > MAX_UINT32:
        raise HeaderError("CSeq", f"{num[:20]!r} is not a 32-bit sequence number")
    if method not in _METHODS and not _abnf.TOKEN.fullmatch(method):
        raise HeaderError("CSeq", f"{method[:40]!r} is not a method")
    c = object.__new__(CSeq)
    c._seq, c._method = int(num), method
    return c


@dataclass(frozen=True, slots=True)
class ContentType:
    """Content-Type (RFC 3261 §20.15): media type with parameters."""

    type: str
    subtype: str
    params: Params = EMPTY_PARAMS

    @property
    def mime(self) -> str:
        """``type/subtype`` in lower case, e.g. ``application/sdp``."""
        return f"{self.type}/{self.subtype}".lower()

    @property
    def charset(self) -> str | None:
        """The ``charset`` parameter."""
        return self.params.get("charset")

    def __str__(self) -> str:
        return f"{self.type}/{self.subtype}{self.params}"


# type/subtype and plain parameters without spaces, in one possessive match.
_CONTENT_TYPE_FAST = re.compile(
    rf"([{_abnf.TOKEN_CHARS}]++)/([{_abnf.TOKEN_CHARS}]++)"
    rf"((?:;[{_abnf.TOKEN_CHARS}]++(?:=[{_abnf.TOKEN_CHARS}:\[\]]++)?+)*+)"
)


def parse_content_type(text: str) -> ContentType:
    """media-type = m-type SLASH m-subtype *(SEMI m-parameter)."""
    m = _CONTENT_TYPE_FAST.fullmatch(text)
    if m is not None:
        mtype, subtype, ptext = m.groups()
        return ContentType(mtype, subtype, lazy_params(ptext))
    return _parse_content_type(text)


def _parse_content_type(text: str) -> ContentType:
    # The general path of parse_content_type: spaces, quoted values, errors.
    value = text.strip(" \t")
    m = _abnf.MEDIA_TYPE.match(value)
    if m is None:
        raise HeaderError("Content-Type", f"{value[:40]!r} is not a media type")
    rest = value[m.end() :]
    if rest and rest[0] != ";":
        raise HeaderError("Content-Type", f"unexpected {rest[:20]!r}")
    params = parse_params(rest, "Content-Type") if rest else EMPTY_PARAMS
    return ContentType(m.group(1), m.group(2), params)


@dataclass(frozen=True, slots=True)
class Event:
    """Event (RFC 6665 §8.2.1): package name and parameters (``id``)."""

    package: str
    params: Params = EMPTY_PARAMS

    @property
    def id(self) -> str | None:
        """The ``id`` parameter that tells subscriptions in one dialog apart."""
        return self.params.get("id")

    def __str__(self) -> str:
        return f"{self.package}{self.params}"


def parse_event(text: str) -> Event:
    """Event = event-type *( SEMI event-param )."""
    value = text.strip(" \t")
    pkg, semi, rest = value.partition(";")
    pkg = pkg.strip(" \t")
    if not _abnf.TOKEN.fullmatch(pkg):
        raise HeaderError("Event", f"{pkg[:40]!r} is not an event type")
    params = parse_params(";" + rest, "Event") if semi else EMPTY_PARAMS
    return Event(pkg, params)


@dataclass(frozen=True, slots=True)
class SubscriptionState:
    """Subscription-State (RFC 6665 §8.2.3)."""

    state: str
    params: Params = EMPTY_PARAMS

    def __post_init__(self) -> None:
        # substate-value tokens compare case-insensitively; keep one form.
        object.__setattr__(self, "state", self.state.lower())

    @property
    def reason(self) -> str | None:
        """Why a subscription was terminated (``timeout``, ``rejected`` …)."""
        return self.params.get("reason")

    @property
    def expires(self) -> int | None:
        """Seconds left of the subscription."""
        v = self.params.get("expires")
        return int(v) if v is not None and v.isascii() and v.isdigit() and len(v) <= 10 else None

    @property
    def retry_after(self) -> int | None:
        """Seconds to wait before subscribing again."""
        v = self.params.get("retry-after")
        return int(v) if v is not None and v.isascii() and v.isdigit() and len(v) <= 10 else None

    def __str__(self) -> str:
        return f"{self.state}{self.params}"


def parse_subscription_state(text: str) -> SubscriptionState:
    """Subscription-State = substate-value *( SEMI subexp-params )."""
    value = text.strip(" \t")
    state, semi, rest = value.partition(";")
    state = state.strip(" \t")
    if not _abnf.TOKEN.fullmatch(state):
        raise HeaderError("Subscription-State", f"{state[:40]!r} is not a state")
    params = parse_params(";" + rest, "Subscription-State") if semi else EMPTY_PARAMS
    return SubscriptionState(state.lower(), params)


@dataclass(frozen=True, slots=True)
class AuthHeader:
    """A challenge (WWW-Authenticate, Proxy-Authenticate) or credentials
    (Authorization, Proxy-Authorization), RFC 3261 §20.7 / RFC 7616.

    ``params`` keeps each auth-param as written (quoted values keep their
    quotes); :meth:`get` returns them unquoted.  For a scheme whose value is
    not a parameter list (``token68``), ``params`` is empty and ``token68``
    holds it.
    """

    scheme: str
    params: tuple[tuple[str, str], ...] = ()
    token68: str | None = None

    def get(self, name: str) -> str | None:
        """The unquoted value of parameter ``name`` (case-insensitive)."""
        low = name.lower()
        for n, v in self.params:
            if n.lower() == low:
                return unquote(v)
        return None

    @property
    def is_digest(self) -> bool:
        """True for the Digest scheme."""
        return self.scheme.lower() == "digest"

    @property
    def realm(self) -> str | None:
        """The protection realm."""
        return self.get("realm")

    @property
    def nonce(self) -> str | None:
        """The server nonce."""
        return self.get("nonce")

    @property
    def opaque(self) -> str | None:
        """Opaque server data echoed by the client."""
        return self.get("opaque")

    @property
    def algorithm(self) -> str:
        """The digest algorithm (``MD5`` when absent, RFC 7616 §3.3)."""
        return self.get("algorithm") or "MD5"

    @property
    def qop_options(self) -> list[str]:
        """The qop values offered (challenge) or chosen (credentials)."""
        q = self.get("qop")
        return [] if q is None else [x.strip() for x in q.split(",") if x.strip()]

    @property
    def stale(self) -> bool:
        """``stale=true``: the nonce expired but the credentials were right."""
        return (self.get("stale") or "").lower() == "true"

    @property
    def username(self) -> str | None:
        """The user name (credentials)."""
        return self.get("username")

    @property
    def response(self) -> str | None:
        """The request digest (credentials)."""
        return self.get("response")

    @property
    def uri(self) -> str | None:
        """The digest-uri (credentials)."""
        return self.get("uri")

    @property
    def cnonce(self) -> str | None:
        """The client nonce (credentials)."""
        return self.get("cnonce")

    @property
    def nc(self) -> int | None:
        """The nonce count (credentials), parsed from 8 hex digits."""
        v = self.get("nc")
        if v is None or len(v) != 8:
            return None
        try:
            return int(v, 16)
        except ValueError:
            return None

    def __str__(self) -> str:
        if self.token68 is not None:
            return f"{self.scheme} {self.token68}"
        return f"{self.scheme} " + ", ".join(f"{n}={v}" for n, v in self.params)


# auth-param *(COMMA auth-param), RFC 7235 #rule (empty elements allowed),
# validated in one match; the quoted-string is written as an unrolled loop so
# that it runs as tight character-class scans.  Once the whole list matched,
# _AUTH_PARAM finds exactly its parameters (text inside quotes is consumed
# with the value it belongs to).  The quantifiers are possessive: each class
# stops at a character that nothing after it can match, so giving back could
# never find another match (the grammar's greedy form is kept by the tests).
_AUTH_VALUE = r'("[^"\\]*+(?:\\.[^"\\]*+)*+"|[' + _abnf.TOKEN_CHARS + r"]++)"
_AUTH_PARAM = re.compile(rf"([{_abnf.TOKEN_CHARS}]++)[ \t]*+=[ \t]*+" + _AUTH_VALUE)
_AUTH_PARAMS = re.compile(
    rf"[ \t,]*+[{_abnf.TOKEN_CHARS}]++[ \t]*+=[ \t]*+(?:{_AUTH_VALUE[1:-1]})"
    rf"(?:[ \t]*+,[ \t,]*+[{_abnf.TOKEN_CHARS}]++[ \t]*+=[ \t]*+(?:{_AUTH_VALUE[1:-1]}))*+"
    r"[ \t,]*+"
)
_NAME = itemgetter(0)


def parse_auth(text: str, header: str) -> AuthHeader:
    """challenge / credentials = auth-scheme LWS auth-param *(COMMA auth-param)."""
    value = text.strip(" \t")
    scheme, _, rest = value.partition(" ")
    if not _abnf.TOKEN.fullmatch(scheme):
        raise HeaderError(header, f"{scheme[:40]!r} is not an auth scheme")
    rest = rest.strip(" \t")
    if not rest:
        return AuthHeader(scheme)
    if "=" not in rest.rstrip("="):
        return AuthHeader(scheme, (), rest)
    if not _AUTH_PARAMS.fullmatch(rest):
        raise HeaderError(header, f"bad auth-param list {rest[:60]!r}")
    params = _AUTH_PARAM.findall(rest)
    if len(set(map(str.lower, map(_NAME, params)))) != len(params):
        raise HeaderError(header, "a parameter appears twice")
    return AuthHeader(scheme, tuple(params))


@dataclass(frozen=True, slots=True)
class RetryAfter:
    """Retry-After (RFC 3261 §20.33): seconds, optional comment, parameters."""

    seconds: int
    comment: str | None = None
    params: Params = EMPTY_PARAMS

    @property
    def duration(self) -> int | None:
        """The ``duration`` parameter, in seconds."""
        v = self.params.get("duration")
        return int(v) if v is not None and v.isascii() and v.isdigit() and len(v) <= 10 else None

    def __str__(self) -> str:
        comment = "" if self.comment is None else f" ({self.comment})"
        return f"{self.seconds}{comment}{self.params}"


def parse_retry_after(text: str) -> RetryAfter:
    """Retry-After = delta-seconds [ comment ] *( SEMI retry-param )."""
    value = text.strip(" \t")
    i = 0
    while i < len(value) and value[i].isascii() and value[i].isdigit():
        i += 1
    if i == 0 or i > 10:
        raise HeaderError("Retry-After", f"{value[:40]!r} does not start with seconds")
    seconds = int(value[:i])
    rest = value[i:].lstrip(" \t")
    comment: str | None = None
    if rest[:1] == "(":
        depth = 0
        for j, c in enumerate(rest):
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    comment = rest[1:j]
                    rest = rest[j + 1 :].lstrip(" \t")
                    break
        else:
            raise HeaderError("Retry-After", "unterminated comment")
    if rest and rest[0] != ";":
        raise HeaderError("Retry-After", f"unexpected {rest[:20]!r}")
    params = parse_params(rest, "Retry-After") if rest else EMPTY_PARAMS
    return RetryAfter(seconds, comment, params)


def parse_date(text: str) -> _dt.datetime:
    """SIP-date = rfc1123-date, e.g. ``Sat, 13 Nov 2010 23:29:00 GMT``
    (RFC 3261 §20.17), as an aware UTC datetime."""
    m = _abnf.SIP_DATE.fullmatch(text.strip(" \t"))
    if m is None:
        raise HeaderError("Date", f"{text[:40]!r} is not an RFC 1123 date")
    wkday, day, mon, year, hh, mm, ss = m.groups()
    try:
        d = _dt.datetime(
            int(year), _MONTHS[mon], int(day), int(hh), int(mm), int(ss), tzinfo=_dt.UTC
        )
    except ValueError as exc:
        raise HeaderError("Date", str(exc)) from None
    # A wrong weekday name is tolerated: the date itself is unambiguous.
    del wkday
    return d


def format_date(d: _dt.datetime) -> str:
    """Format an aware datetime as a SIP-date."""
    d = d.astimezone(_dt.UTC)
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
    return (
        f"{_WEEKDAYS[d.weekday()]}, {d.day:02d} {months[d.month - 1]} {d.year:04d} "
        f"{d.hour:02d}:{d.minute:02d}:{d.second:02d} GMT"
    )
