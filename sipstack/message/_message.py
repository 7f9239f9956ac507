"""Requests, responses and the datagram parser.

Theory of operation
-------------------
``parse`` validates eagerly what decides whether the bytes are a SIP message
at all and where it ends: the start line, the header section (UTF-8, CRLF
line ends, no control characters, every line ``name: value`` with a token
name, within the limits), the mandatory headers' presence and the
Content-Length.  Header *values* are parsed when first read through a typed
property, and cached.  The original bytes are kept, so an untouched message
serialises to exactly what was received; once edited, untouched header
lines are still written verbatim.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Iterable
from itertools import repeat
from typing import TYPE_CHECKING, TypeVar

from ..errors import (
    BodyTooLarge,
    HeaderError,
    MessageTooLarge,
    SIPParseError,
    SIPUsageError,
    TooManyHeaders,
    URITooLong,
    VersionNotSupported,
)
from . import _abnf
from ._accel import SPEEDUPS
from ._address import Address, stripped_address
from ._headers import (
    _KEYS,
    Headers,
    _value_of,
    canonical_name,
    check_text,
    header_key,
)
from ._lex import EMPTY_PARAMS, Params, quoted_end, split_commas
from ._limits import DEFAULT_LIMITS, Limits
from ._uri import URI, SipURI, parse_uri
from ._values import (
    _METHODS,
    AuthHeader,
    ContentType,
    CSeq,
    Event,
    RetryAfter,
    SubscriptionState,
    Via,
    parse_auth,
    parse_call_id,
    parse_content_type,
    parse_cseq,
    parse_date,
    parse_event,
    parse_retry_after,
    parse_subscription_state,
    parse_token,
    parse_uint,
    parse_via_lazy,
    stripped_via,
)

if TYPE_CHECKING:
    from typing import Self

T = TypeVar("T")

__all__ = ["REASON_PHRASES", "Message", "Request", "Response", "parse"]

REASON_PHRASES: dict[int, str] = {
    100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued",
    183: "Session Progress", 199: "Early Dialog Terminated", 200: "OK", 202: "Accepted",
    204: "No Notification", 300: "Multiple Choices", 301: "Moved Permanently",
    302: "Moved Temporarily", 305: "Use Proxy", 380: "Alternative Service", 400: "Bad Request",
    401: "Unauthorized", 402: "Payment Required", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 406: "Not Acceptable", 407: "Proxy Authentication Required",
    408: "Request Timeout", 410: "Gone", 412: "Conditional Request Failed",
    413: "Request Entity Too Large", 414: "Request-URI Too Long",
    415: "Unsupported Media Type", 416: "Unsupported URI Scheme", 420: "Bad Extension",
    421: "Extension Required", 423: "Interval Too Brief", 428: "Use Identity Header",
    429: "Provide Referrer Identity", 433: "Anonymity Disallowed", 439: "First Hop Lacks Outbound Support",
    480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist",
    482: "Loop Detected", 483: "Too Many Hops", 484: "Address Incomplete", 485: "Ambiguous",
    486: "Busy Here", 487: "Request Terminated", 488: "Not Acceptable Here",
    489: "Bad Event", 491: "Request Pending", 493: "Undecipherable",
    494: "Security Agreement Required", 500: "Server Internal Error", 501: "Not Implemented",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Server Time-out",
    505: "Version Not Supported", 513: "Message Too Large", 580: "Precondition Failure",
    600: "Busy Everywhere", 603: "Decline", 604: "Does Not Exist Anywhere",
    606: "Not Acceptable", 607: "Unwanted",
}  # fmt: skip

_MISS = object()
_new = object.__new__
# Header parameters after a name-addr's '>' that are exactly one tag, as
# nearly every From is written.
_TAG_ONLY = re.compile(r"[ \t]*;[ \t]*[Tt][Aa][Gg][ \t]*=[ \t]*([A-Za-z0-9\-.!%*_+`'~]+)[ \t]*")
_MANDATORY = ("via", "from", "to", "call-id", "cseq")
_MANDATORY_NAMES = {"via": "Via", "from": "From", "to": "To", "call-id": "Call-ID", "cseq": "CSeq"}


def _first_via(value: str) -> Via:
    if "," not in value and '"' not in value:
        # One element: split_commas would give it back as it is.
        return stripped_via(value)
    if '"' in value or "<" in value:
        parts = split_commas(value)
        return parse_via_lazy(parts[0] if parts else "")
    return parse_via_lazy(value.partition(",")[0])


def _contact(value: str) -> Address:
    if value == "*":
        raise HeaderError("Contact", "'*' mixed with other contacts")
    return stripped_address(value, "Contact")


def _contact_elements(values: list[str]) -> tuple[Address, ...] | None:
    """The Contact elements of ``values`` (the values of the Contact lines),
    None for ``Contact: *``.  Cached only when parsed: with a "*" element
    there is nothing to cache, and contact_is_star answers."""
    if len(values) == 1 and "," not in values[0] and '"' not in values[0]:
        # One line, one element (as split_commas would give it).
        value = values[0]
        if value == "*":
            return None
        return (stripped_address(value, "Contact"),) if value else ()
    elements: list[str] = []
    for v in values:
        elements += split_commas(v)
    if "*" in elements:
        if len(elements) != 1:
            raise HeaderError("Contact", "'*' mixed with other contacts")
        return None
    return tuple([_contact(v) for v in elements])


def _route(value: str) -> Address:
    return stripped_address(value, "Route")


def _record_route(value: str) -> Address:
    return stripped_address(value, "Record-Route")


def _from(value: str) -> Address:
    return stripped_address(value, "From")


def _to(value: str) -> Address:
    return stripped_address(value, "To")


def _refer_to(value: str) -> Address:
    return stripped_address(value, "Refer-To")


def _max_forwards(value: str) -> int:
    return parse_uint(value, "Max-Forwards", 255)


def _expires(value: str) -> int:
    # RFC 3261 §20.19: larger values than 2**32-1 are treated as 2**32-1.
    v = value.strip(" \t")
    if v.isdigit() and v.isascii():
        return 2**32 - 1 if len(v) > 10 else min(int(v), 2**32 - 1)
    return parse_uint(v, "Expires", 2**32 - 1)


def _etag(value: str) -> str:
    return parse_token(value, "SIP-ETag")


def _if_match(value: str) -> str:
    return parse_token(value, "SIP-If-Match")


# 1#token with optional whitespace around the commas, in one linear match.
_TOKEN_LIST = re.compile(
    rf"[ \t]*[{_abnf.TOKEN_CHARS}]+(?:[ \t]*,[ \t]*[{_abnf.TOKEN_CHARS}]+)*[ \t]*"
)


# Tokens and commas, as one flat class (a cheap scan); _tokens checks the
# commas' places.
_TOKENS_AND_COMMAS = re.compile(rf"[{_abnf.TOKEN_CHARS},]++")


def _tokens(value: str) -> tuple[str, ...]:
    """The tokens of one line of a token-list header (Allow, Supported …);
    an empty line has none."""
    tight = value.replace(", ", ",")
    if (
        " " not in tight
        and "\t" not in tight
        and _TOKENS_AND_COMMAS.fullmatch(tight)
        and ",," not in tight
        and tight[0] != ","
        and tight[-1] != ","
    ):
        # "a, b,c": tokens joined by commas, each maybe followed by one
        # space.  The general path below gives the same tokens.
        return tuple(tight.split(","))
    return _tokens_general(value)


def _tokens_general(value: str) -> tuple[str, ...]:
    # The general path of _tokens: any spaces and tabs, empty elements.
    if _TOKEN_LIST.fullmatch(value):
        return tuple(t.strip(" \t") for t in value.split(","))
    if not value.strip(" \t"):
        return ()
    # Empty elements ("a,,b") are tolerated; anything else is an error.
    return tuple(parse_token(t, "token list") for t in value.split(",") if t.strip(" \t"))


def _www_auth(value: str) -> AuthHeader:
    return parse_auth(value, "WWW-Authenticate")


def _proxy_auth(value: str) -> AuthHeader:
    return parse_auth(value, "Proxy-Authenticate")


def _authorization(value: str) -> AuthHeader:
    return parse_auth(value, "Authorization")


def _proxy_authorization(value: str) -> AuthHeader:
    return parse_auth(value, "Proxy-Authorization")


# What validate() parses for each header it knows: one value, a comma list,
# or one value per line.
_TYPED: dict[str, tuple[str, Callable[[str], object]]] = {
    "call-id": ("one", parse_call_id),
    "cseq": ("one", parse_cseq),
    "from": ("one", _from),
    "to": ("one", _to),
    "via": ("list", stripped_via),
    "route": ("list", _route),
    "record-route": ("list", _record_route),
    "refer-to": ("one", _refer_to),
    "max-forwards": ("one", _max_forwards),
    "content-type": ("one", parse_content_type),
    "expires": ("one", _expires),
    "min-expires": ("one", _expires),
    "event": ("one", parse_event),
    "subscription-state": ("one", parse_subscription_state),
    "allow": ("tokens", _tokens),
    "supported": ("tokens", _tokens),
    "require": ("tokens", _tokens),
    "proxy-require": ("tokens", _tokens),
    "unsupported": ("tokens", _tokens),
    "sip-etag": ("one", _etag),
    "sip-if-match": ("one", _if_match),
    "www-authenticate": ("lines", _www_auth),
    "proxy-authenticate": ("lines", _proxy_auth),
    "authorization": ("lines", _authorization),
    "proxy-authorization": ("lines", _proxy_authorization),
    "retry-after": ("one", parse_retry_after),
    "date": ("one", parse_date),
}
_TYPED_KEYS = frozenset((*_TYPED, "contact"))
# kind, the key of the parsed value in Headers._cache, parser.
_TYPED_SPEC: dict[str, tuple[str, str, Callable[[str], object]]] = {
    key: (kind, {"one": "", "list": "*", "tokens": "*", "lines": "#"}[kind] + key, parser)
    for key, (kind, parser) in _TYPED.items()
}
# Contact is a list with a twist ("*"), so it has a kind of its own.
_TYPED_SPEC["contact"] = ("contact", "*contact", _contact)
_SINGLE_KEYS = frozenset(k for k, (kind, _) in _TYPED.items() if kind == "one")
# Lookup key -> cache key of every typed header.
_TYPED_CKEYS = {key: ckey for key, (_, ckey, _) in _TYPED_SPEC.items()}


class Message:
    """What requests and responses share: headers, body, typed header views
    and serialisation.  ``bytes(msg)`` serialises."""

    __slots__ = ("_body", "_content_length", "_raw", "headers")

    headers: Headers
    _body: bytes
    _raw: bytes | None
    _content_length: int | None

    # -- construction -------------------------------------------------------
    def _init_common(
        self, headers: Headers | Iterable[tuple[str, str]] | None, body: bytes
    ) -> None:
        if not isinstance(body, bytes | bytearray | memoryview):
            raise SIPUsageError("body must be bytes")
        self.headers = headers.copy() if isinstance(headers, Headers) else Headers(headers or ())
        self._body = bytes(body)
        self._raw = None
        self._content_length = len(self._body)
        if self.headers.get("Content-Length") != str(self._content_length):
            self.headers.set("Content-Length", str(self._content_length))

    # -- body ---------------------------------------------------------------
    @property
    def body(self) -> bytes:
        """The message body (``b""`` when there is none)."""
        return self._body

    @body.setter
    def body(self, value: bytes) -> None:
        if not isinstance(value, bytes | bytearray | memoryview):
            raise SIPUsageError("body must be bytes")
        self._body = bytes(value)
        self._raw = None
        self._content_length = len(self._body)
        self.headers.set("Content-Length", str(self._content_length))

    # -- serialisation ------------------------------------------------------
    def _start_line(self) -> str:
        raise NotImplementedError

    def serialize(self) -> bytes:
        """The message as bytes; an untouched parsed message gives back
        exactly the bytes it was parsed from."""
        raw = self._raw
        h = self.headers
        if raw is not None and not h._dirty:
            return raw
        head = self._start_line() + "\r\n" + h.serialize() + "\r\n"
        raw = self._raw = head.encode("utf-8", "surrogateescape") + self._body
        # Kept until the next change (every change marks the headers dirty
        # or drops _raw), so a message sent twice is serialised once.
        h._dirty = False
        return raw

    __bytes__ = serialize

    @property
    def start_line(self) -> str:
        """The first line of the message, without CRLF."""
        return self._start_line()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message) or type(self) is not type(other):
            return NotImplemented
        return (
            self._start_line() == other._start_line()
            and self.headers == other.headers
            and self._body == other._body
        )

    __hash__ = None  # type: ignore[assignment]

    # -- typed views --------------------------------------------------------
    def _required(self, key: str, parse: Callable[[str], T]) -> T:
        # The slow half of the mandatory views: their cache hit is inline.
        h = self.headers
        try:
            i = h._keys.index(key)
        except ValueError:
            raise SIPParseError(f"missing {_MANDATORY_NAMES[key]} header") from None
        # Every line holds a colon: parsing and the writers make sure.
        v = parse(h._lines[i].partition(":")[2].strip(" \t"))
        h._cache[key] = v
        return v

    @property
    def call_id(self) -> str:
        """Call-ID."""
        v = self.headers._cache.get("call-id")
        return v if v is not None else self._required("call-id", parse_call_id)  # type: ignore[return-value]

    @property
    def cseq(self) -> CSeq:
        """CSeq: ``.seq`` and ``.method``."""
        v = self.headers._cache.get("cseq")
        return v if v is not None else self._required("cseq", parse_cseq)  # type: ignore[return-value]

    @property
    def from_addr(self) -> Address:
        """From."""
        v = self.headers._cache.get("from")
        return v if v is not None else self._required("from", _from)  # type: ignore[return-value]

    @property
    def to_addr(self) -> Address:
        """To."""
        v = self.headers._cache.get("to")
        return v if v is not None else self._required("to", _to)  # type: ignore[return-value]

    @property
    def from_tag(self) -> str | None:
        """The From tag.  A From in the usual ``... <uri>;params`` shape is
        not parsed for it: only its parameters are read."""
        h = self.headers
        v = h._cache.get("from")
        if v is None:
            line = h._first_line("from")
            if line is not None:
                gt = line.rfind(">")
                # No quote after the last '>': it closes the URI, not a
                # display name or a quoted parameter.
                if gt >= 0 and '"' not in line[gt:]:
                    m = _TAG_ONLY.fullmatch(line, gt + 1)
                    if m is not None:
                        return m.group(1)
            v = self.from_addr
        return v.tag  # type: ignore[attr-defined,no-any-return]

    @property
    def to_tag(self) -> str | None:
        """The To tag.  A To whose text cannot hold a tag is not parsed,
        which is the common case for requests outside a dialog."""
        h = self.headers
        v = h._cache.get("to")
        if v is None:
            line = h._first_line("to")
            if line is not None and "tag" not in line[2:].lower():
                return None
            v = self.to_addr
        return v.tag  # type: ignore[attr-defined,no-any-return]

    @property
    def top_via(self) -> Via:
        """The topmost Via element (only it is parsed)."""
        v = self.headers._cache.get("via")
        return v if v is not None else self._required("via", _first_via)  # type: ignore[return-value]

    def set_top_via(self, via: Via) -> None:
        """Replace the topmost Via element (the other elements of its line
        and the other Via lines stay as they are)."""
        h = self.headers
        if "via" not in h._present:
            h.add("Via", str(via))
        else:
            i = h._keys.index("via")
            first = _value_of(h._lines[i])
            rest = split_commas(first)[1:] if "," in first else []
            # A Via's text is valid by construction (its parts were checked
            # when it was parsed or built), so it is written as it is.
            h._lines[i] = "Via: " + ", ".join([str(via), *rest])
            h._cache.clear()
            h._raws = None
            h._dirty = True
        h._cache["via"] = via

    @property
    def vias(self) -> tuple[Via, ...]:
        """Every Via element, top first."""
        h = self.headers
        hit = h._cache.get("*via")
        if hit is None:
            return h._typed_list("via", "*via", stripped_via) if "via" in h._present else ()
        return hit  # type: ignore[return-value]

    @property
    def contact_is_star(self) -> bool:
        """True for ``Contact: *`` (REGISTER removing all bindings)."""
        values = self.headers.get_list("Contact")
        if "*" not in values:
            return False
        if len(values) != 1:
            raise HeaderError("Contact", "'*' mixed with other contacts")
        return True

    @property
    def contacts(self) -> tuple[Address, ...]:
        """Contact elements (empty for ``Contact: *``)."""
        h = self.headers
        hit = h._cache.get("*contact")
        if hit is not None:
            return hit  # type: ignore[return-value]
        if "contact" not in h._present:
            return ()
        result = _contact_elements(h._values("contact"))
        if result is None:
            return ()
        h._cache["*contact"] = result
        return result

    @property
    def routes(self) -> tuple[Address, ...]:
        """Route elements, in order."""
        h = self.headers
        hit = h._cache.get("*route")
        if hit is None:
            return h._typed_list("route", "*route", _route) if "route" in h._present else ()
        return hit  # type: ignore[return-value]

    @property
    def record_routes(self) -> tuple[Address, ...]:
        """Record-Route elements, in order."""
        h = self.headers
        hit = h._cache.get("*record-route")
        if hit is None:
            return (
                h._typed_list("record-route", "*record-route", _record_route)
                if "record-route" in h._present
                else ()
            )
        return hit  # type: ignore[return-value]

    @property
    def refer_to(self) -> Address | None:
        """Refer-To (RFC 3515)."""
        h = self.headers
        hit = h._cache.get("refer-to", _MISS)
        if hit is _MISS:
            return h._typed("refer-to", _refer_to) if "refer-to" in h._present else None
        return hit  # type: ignore[return-value]

    @property
    def max_forwards(self) -> int | None:
        """Max-Forwards (0–255)."""
        h = self.headers
        hit = h._cache.get("max-forwards", _MISS)
        if hit is _MISS:
            return h._typed("max-forwards", _max_forwards) if "max-forwards" in h._present else None
        return hit  # type: ignore[return-value]

    @property
    def content_length(self) -> int:
        """The body length as framed (Content-Length, or the datagram's rest)."""
        cl = self._content_length
        return len(self._body) if cl is None else cl

    @property
    def content_type(self) -> ContentType | None:
        """Content-Type."""
        h = self.headers
        hit = h._cache.get("content-type", _MISS)
        if hit is _MISS:
            return (
                h._typed("content-type", parse_content_type)
                if "content-type" in h._present
                else None
            )
        return hit  # type: ignore[return-value]

    @property
    def expires(self) -> int | None:
        """Expires, in seconds."""
        h = self.headers
        hit = h._cache.get("expires", _MISS)
        if hit is _MISS:
            return h._typed("expires", _expires) if "expires" in h._present else None
        return hit  # type: ignore[return-value]

    @property
    def min_expires(self) -> int | None:
        """Min-Expires (in a 423 response)."""
        h = self.headers
        hit = h._cache.get("min-expires", _MISS)
        if hit is _MISS:
            return h._typed("min-expires", _expires) if "min-expires" in h._present else None
        return hit  # type: ignore[return-value]

    @property
    def event(self) -> Event | None:
        """Event (RFC 6665)."""
        h = self.headers
        hit = h._cache.get("event", _MISS)
        if hit is _MISS:
            return h._typed("event", parse_event) if "event" in h._present else None
        return hit  # type: ignore[return-value]

    @property
    def subscription_state(self) -> SubscriptionState | None:
        """Subscription-State (RFC 6665)."""
        h = self.headers
        hit = h._cache.get("subscription-state", _MISS)
        if hit is _MISS:
            return (
                h._typed("subscription-state", parse_subscription_state)
                if "subscription-state" in h._present
                else None
            )
        return hit  # type: ignore[return-value]

    @property
    def allow(self) -> tuple[str, ...]:
        """Allow: the methods the sender supports."""
        h = self.headers
        hit = h._cache.get("*allow")
        if hit is None:
            return h._typed_joined("allow", "*allow", _tokens) if "allow" in h._present else ()
        return hit  # type: ignore[return-value]

    @property
    def supported(self) -> tuple[str, ...]:
        """Supported option tags."""
        h = self.headers
        hit = h._cache.get("*supported")
        if hit is None:
            return (
                h._typed_joined("supported", "*supported", _tokens)
                if "supported" in h._present
                else ()
            )
        return hit  # type: ignore[return-value]

    @property
    def require(self) -> tuple[str, ...]:
        """Require option tags."""
        h = self.headers
        hit = h._cache.get("*require")
        if hit is None:
            return (
                h._typed_joined("require", "*require", _tokens) if "require" in h._present else ()
            )
        return hit  # type: ignore[return-value]

    @property
    def proxy_require(self) -> tuple[str, ...]:
        """Proxy-Require option tags."""
        h = self.headers
        hit = h._cache.get("*proxy-require")
        if hit is None:
            return (
                h._typed_joined("proxy-require", "*proxy-require", _tokens)
                if "proxy-require" in h._present
                else ()
            )
        return hit  # type: ignore[return-value]

    @property
    def unsupported(self) -> tuple[str, ...]:
        """Unsupported option tags (in a 420 response)."""
        h = self.headers
        hit = h._cache.get("*unsupported")
        if hit is None:
            return (
                h._typed_joined("unsupported", "*unsupported", _tokens)
                if "unsupported" in h._present
                else ()
            )
        return hit  # type: ignore[return-value]

    @property
    def sip_etag(self) -> str | None:
        """SIP-ETag (RFC 3903)."""
        h = self.headers
        hit = h._cache.get("sip-etag", _MISS)
        if hit is _MISS:
            return h._typed("sip-etag", _etag) if "sip-etag" in h._present else None
        return hit  # type: ignore[return-value]

    @property
    def sip_if_match(self) -> str | None:
        """SIP-If-Match (RFC 3903)."""
        h = self.headers
        hit = h._cache.get("sip-if-match", _MISS)
        if hit is _MISS:
            return h._typed("sip-if-match", _if_match) if "sip-if-match" in h._present else None
        return hit  # type: ignore[return-value]

    @property
    def www_authenticate(self) -> tuple[AuthHeader, ...]:
        """WWW-Authenticate challenges, one per header line."""
        h = self.headers
        hit = h._cache.get("#www-authenticate")
        if hit is None:
            return (
                h._typed_lines("www-authenticate", "#www-authenticate", _www_auth)
                if "www-authenticate" in h._present
                else ()
            )
        return hit  # type: ignore[return-value]

    @property
    def proxy_authenticate(self) -> tuple[AuthHeader, ...]:
        """Proxy-Authenticate challenges, one per header line."""
        h = self.headers
        hit = h._cache.get("#proxy-authenticate")
        if hit is None:
            return (
                h._typed_lines("proxy-authenticate", "#proxy-authenticate", _proxy_auth)
                if "proxy-authenticate" in h._present
                else ()
            )
        return hit  # type: ignore[return-value]

    @property
    def authorization(self) -> tuple[AuthHeader, ...]:
        """Authorization credentials, one per header line."""
        h = self.headers
        hit = h._cache.get("#authorization")
        if hit is None:
            return (
                h._typed_lines("authorization", "#authorization", _authorization)
                if "authorization" in h._present
                else ()
            )
        return hit  # type: ignore[return-value]

    @property
    def proxy_authorization(self) -> tuple[AuthHeader, ...]:
        """Proxy-Authorization credentials, one per header line."""
        h = self.headers
        hit = h._cache.get("#proxy-authorization")
        if hit is None:
            return (
                h._typed_lines("proxy-authorization", "#proxy-authorization", _proxy_authorization)
                if "proxy-authorization" in h._present
                else ()
            )
        return hit  # type: ignore[return-value]

    @property
    def retry_after(self) -> RetryAfter | None:
        """Retry-After."""
        h = self.headers
        hit = h._cache.get("retry-after", _MISS)
        if hit is _MISS:
            return (
                h._typed("retry-after", parse_retry_after) if "retry-after" in h._present else None
            )
        return hit  # type: ignore[return-value]

    @property
    def date(self) -> _dt.datetime | None:
        """Date, as an aware UTC datetime."""
        h = self.headers
        hit = h._cache.get("date", _MISS)
        if hit is _MISS:
            return h._typed("date", parse_date) if "date" in h._present else None
        return hit  # type: ignore[return-value]

    def validate(self) -> Self:
        """Parse every typed header this message carries and check the rules
        that tie them together; returns the message or raises SIPParseError.
        A server calls this before acting on a request."""
        h = self.headers
        cache = h._cache
        keys = h._keys
        lines = h._lines
        present = h._present
        # The accelerator builds the usual shapes in one C pass and says
        # whether it left anything for the loop below.
        left = _fill_views is None or _fill_views(lines, keys, cache, _TYPED_CKEYS)
        for key in present & _TYPED_KEYS if left else ():
            kind, ckey, parser = _TYPED_SPEC[key]
            if ckey in cache:
                continue
            if kind == "one":
                # Every line holds a colon: parsing and the writers make sure.
                cache[key] = parser(lines[keys.index(key)].partition(":")[2].strip(" \t"))
            elif kind == "list":
                h._typed_list(key, ckey, parser)
            elif kind == "tokens":
                h._typed_joined(key, ckey, parser)  # type: ignore[arg-type]
            elif kind == "lines":
                h._typed_lines(key, ckey, parser)
            else:
                contacts = _contact_elements(h._values(key))
                if contacts is not None:
                    cache[ckey] = contacts
        for via in cache.get("*via", ()):  # type: ignore[attr-defined]
            # A Via that took the one-pattern path had its parameters
            # validated by that pattern; the others are checked now.
            if not via._tight:
                via.params  # noqa: B018
        if len(keys) != len(present):
            # RFC 3261 §7.3.1: only comma-list headers may span several lines.
            singles = list(filter(_SINGLE_KEYS.__contains__, keys))
            if len(singles) != len(set(singles)):
                key = next(k for k in singles if singles.count(k) > 1)
                raise SIPParseError(f"{canonical_name(key)} appears more than once")
        return self


class Request(Message):
    """A SIP request.  ``Request("MESSAGE", "sip:bob@example.com", headers,
    body)``; Content-Length is set from the body."""

    __slots__ = ("_method", "_uri", "_uri_text")

    _method: str
    _uri: URI | None
    _uri_text: str

    def __init__(
        self,
        method: str,
        uri: URI | str,
        headers: Headers | Iterable[tuple[str, str]] | None = None,
        body: bytes = b"",
    ) -> None:
        if not _abnf.TOKEN.fullmatch(method):
            raise SIPUsageError(f"{method!r} is not a method token")
        self._method = method
        self._set_uri(uri)
        self._init_common(headers, body)

    def _set_uri(self, uri: URI | str) -> None:
        if isinstance(uri, str):
            try:
                parsed = parse_uri(uri)
            except SIPParseError as exc:
                raise SIPUsageError(str(exc)) from None
            self._uri, self._uri_text = parsed, uri
        elif isinstance(uri, URI):
            self._uri, self._uri_text = uri, str(uri)
        else:
            raise SIPUsageError("uri must be a URI or a string")

    @property
    def method(self) -> str:
        """The method token (``INVITE``, ``MESSAGE``, extension methods …)."""
        return self._method

    @method.setter
    def method(self, value: str) -> None:
        if not _abnf.TOKEN.fullmatch(value):
            raise SIPUsageError(f"{value!r} is not a method token")
        self._method = value
        self._raw = None

    @property
    def uri(self) -> URI:
        """The Request-URI, parsed on first use."""
        u = self._uri
        if u is None:
            u = self._uri = parse_uri(self._uri_text)
        return u

    @uri.setter
    def uri(self, value: URI | str) -> None:
        self._set_uri(value)
        self._raw = None

    @property
    def uri_text(self) -> str:
        """The Request-URI as written."""
        return self._uri_text

    def _start_line(self) -> str:
        return f"{self._method} {self._uri_text} SIP/2.0"

    def validate(self) -> Self:
        """As :meth:`Message.validate`, plus the Request-URI and the CSeq
        method matching the request method (RFC 3261 §8.1.1.5)."""
        super().validate()
        uri = self.uri
        if isinstance(uri, SipURI) and uri.headers:
            # RFC 3261 §19.1.1 (table 1): headers are not allowed in a Request-URI.
            raise SIPParseError(f"Request-URI {self._uri_text[:80]!r} carries ?headers")
        if self.cseq.method != self._method:
            raise SIPParseError(f"CSeq method {self.cseq.method} does not match {self._method}")
        return self

    def __repr__(self) -> str:
        return f"<Request {self._method} {self._uri_text}>"


class Response(Message):
    """A SIP response.  The reason phrase defaults to the standard one."""

    __slots__ = ("_reason", "_status")

    _status: int
    _reason: str

    def __init__(
        self,
        status: int,
        reason: str | None = None,
        headers: Headers | Iterable[tuple[str, str]] | None = None,
        body: bytes = b"",
    ) -> None:
        self._set_status(status, reason)
        self._init_common(headers, body)

    @classmethod
    def _assemble(cls, status: int, reason: str | None, headers: Headers, body: bytes) -> Response:
        """A response from headers the caller built and owns, whose
        Content-Length already matches ``body``."""
        self = object.__new__(cls)
        self._set_status(status, reason)
        self.headers = headers
        self._body = body
        self._raw = None
        self._content_length = len(body)
        return self

    def _set_status(self, status: int, reason: str | None) -> None:
        if not isinstance(status, int) or not 100 <= status <= 699:
            raise SIPUsageError(f"status {status!r} is not in 100..699")
        if reason is None:
            reason = REASON_PHRASES.get(status, "")  # known good text
        else:
            check_text("reason phrase", reason)
        self._status, self._reason = status, reason

    @property
    def status(self) -> int:
        """The status code."""
        return self._status

    @status.setter
    def status(self, value: int) -> None:
        self._set_status(value, REASON_PHRASES.get(value, ""))
        self._raw = None

    @property
    def reason(self) -> str:
        """The reason phrase (may be empty)."""
        return self._reason

    @reason.setter
    def reason(self, value: str) -> None:
        self._set_status(self._status, value)
        self._raw = None

    @property
    def is_provisional(self) -> bool:
        """1xx."""
        return self._status < 200

    @property
    def is_success(self) -> bool:
        """2xx."""
        return 200 <= self._status < 300

    def _start_line(self) -> str:
        return f"SIP/2.0 {self._status} {self._reason}"

    def __repr__(self) -> str:
        return f"<Response {self._status} {self._reason}>"


# -- the optional C accelerator (_speedups.c, loaded by _accel.py) -------------

_c_parse_head: Callable[..., Request | Response | None] | None = None
_fill_views: Callable[[list[str], list[str], dict[str, object], dict[str, str]], bool] | None = None
if SPEEDUPS is not None:
    SPEEDUPS.setup(
        Message, Request, Response, Headers, CSeq, Via, Address, SipURI, Params, ContentType,
        Event, EMPTY_PARAMS,
    )  # fmt: skip
    _c_parse_head = SPEEDUPS.parse_head
    _fill_views = SPEEDUPS.fill_views
ACCELERATED = SPEEDUPS is not None
"""ACCELERATED: True when the C accelerator of the parser is in use."""


# -- the parser ---------------------------------------------------------------


def _request_line(line: str, limits: Limits) -> Request:
    parts = line.split(" ")
    if len(parts) != 3:
        raise SIPParseError(f"request line {line[:80]!r} is not 'METHOD URI SIP/2.0'")
    method, uri, version = parts
    if version != "SIP/2.0" and (not version.isascii() or version.upper() != "SIP/2.0"):
        if _abnf.SIP_VERSION.fullmatch(version):
            raise VersionNotSupported(f"SIP version {version} is not supported")
        raise SIPParseError(f"request line {line[:80]!r} does not end in SIP/2.0")
    if method not in _METHODS and not _abnf.TOKEN.fullmatch(method):
        raise SIPParseError(f"{method[:40]!r} is not a method")
    if len(uri) > limits.max_uri_length:
        raise URITooLong(f"Request-URI of {len(uri)} characters")
    if uri[:4] != "sip:":
        scheme = _abnf.SCHEME.match(uri)
        if scheme is None or uri[scheme.end() : scheme.end() + 1] != ":":
            raise SIPParseError(f"Request-URI {uri[:80]!r} has no scheme")
    req = _new(Request)
    req._method = method
    req._uri_text = uri
    req._uri = None
    return req


def _status_line(line: str) -> Response:
    parts = line.split(" ", 2)
    version = parts[0]
    if version != "SIP/2.0" and (not version.isascii() or version.upper() != "SIP/2.0"):
        raise SIPParseError(f"status line {line[:80]!r} does not start with SIP/2.0")
    if len(parts) < 2:
        raise SIPParseError(f"status line {line[:80]!r} has no status code")
    code = parts[1]
    if len(code) != 3 or not code.isdigit() or not code.isascii() or not "100" <= code <= "699":
        raise SIPParseError(f"bad status code {code[:10]!r}")
    resp = _new(Response)
    resp._status = int(code)
    resp._reason = parts[2] if len(parts) == 3 else ""
    return resp


def _unfold(lines: list[str]) -> tuple[list[str], list[str]]:
    """RFC 3261 §7.3.1: a line starting with SP or HT continues the previous
    one; the folding is equivalent to a single SP."""
    logical: list[str] = []
    raws: list[str] = []
    for line in lines:
        if line[:1] in (" ", "\t") and line:
            if not logical:
                raise SIPParseError("continuation line before the first header")
            logical[-1] = logical[-1].rstrip(" \t") + " " + line.lstrip(" \t")
            raws[-1] = raws[-1] + "\r\n" + line
        else:
            logical.append(line)
            raws.append(line)
    return logical, raws


def _slow_headers(lines: list[str]) -> tuple[list[str], list[str], list[str] | None]:
    """The careful path of header indexing: folded lines, unknown names,
    whitespace before the colon, lines without a colon."""
    raws: list[str] | None = None
    if any(line[:1] in (" ", "\t") for line in lines):
        lines, raws = _unfold(lines)
    keys: list[str] = []
    for line in lines:
        name, sep, _ = line.partition(":")
        if not sep:
            raise SIPParseError(f"header line without a colon: {name[:40]!r}")
        keys.append(header_key(name))
    return lines, keys, raws


# Bytes that need no further look: HT, printable ASCII and every byte >= 0x80
# (UTF-8 is checked by decoding).  What is left must be CRLF pairs, or
# control characters escaped as quoted-pairs inside a quoted string
# (RFC 3261 §25.1, RFC 4475 §3.1.1.2).
_PLAIN = b"\t" + bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100))


def _check_controls(lines: list[str]) -> None:
    """Allow a control character only as a quoted-pair inside quotes.

    Quotes are paired on each header as a whole, continuation lines joined
    (a quote left open on one physical line goes on on the next): checked
    line by line, a control character could pass here and end up outside
    the quotes once the message is re-serialised unfolded."""
    logical: list[str] = []
    for line in lines:
        if line[:1] in (" ", "\t") and logical:
            logical[-1] += " " + line.lstrip(" \t")
        else:
            logical.append(line)
    for line in logical:
        if _abnf.CONTROL_CHARS.search(line) is None:
            continue
        spans: list[tuple[int, int]] = []
        i = line.find('"')
        while i >= 0:
            end = quoted_end(line, i)
            spans.append((i, end))
            i = line.find('"', end)
        for m in _abnf.CONTROL_CHARS.finditer(line):
            pos = m.start()
            escaped = (
                line[pos - 1 : pos] == "\\"
                and (len(line[:pos]) - len(line[:pos].rstrip("\\"))) % 2 == 1
            )
            if not escaped or not any(a < pos < b for a, b in spans):
                raise SIPParseError(f"control character 0x{ord(m.group()):02x} in header section")


_MANDATORY_SET = frozenset(_MANDATORY)
_NOT_CRLF = bytes(b for b in range(256) if b not in (10, 13))


def _split_head(data: bytes | bytearray, start: int, end: int, limits: Limits) -> list[str]:
    """The lines of ``data[start:end]``, decoded and checked for control
    characters, bare CR or LF and the line limits (the pure-Python half of
    what the accelerator's ``scan_head`` does)."""
    raw = data[start:end]
    try:
        head = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SIPParseError(f"header section is not UTF-8 (byte {exc.start})") from None
    lines = head.split("\r\n")
    nl = len(lines) - 1
    # One pass finds control characters and CR or LF not in a CRLF pair.
    rest = raw.translate(None, _PLAIN)
    if rest != b"\r\n" * nl:
        if rest.translate(None, _NOT_CRLF) != b"\r\n" * nl:
            raise SIPParseError("bare CR or bare LF in header section")
        _check_controls(lines)
    if nl > limits.max_header_lines:
        raise TooManyHeaders(f"{nl} header lines (limit {limits.max_header_lines})")
    if end - start > limits.max_line_length and max(map(len, lines)) > limits.max_line_length:
        raise SIPParseError(
            f"header line longer than {limits.max_line_length}", reason="Header Line Too Long"
        )
    return lines


def _start(first: str, limits: Limits) -> Message:
    start4 = first[:4]
    if start4 == "SIP/" or (start4.upper() == "SIP/" and start4.isascii()):
        return _status_line(first)
    return _request_line(first, limits)


def _parse_head(data: bytes | bytearray, start: int, end: int, limits: Limits) -> Message:
    """Parse the start line and header section ``data[start:end]`` (without
    the final empty line).  Sets ``_content_length``; leaves body and raw
    bytes to the caller."""
    if end - start > limits.max_message_size:
        raise MessageTooLarge(f"header section of {end - start} bytes")
    if _c_parse_head is not None:
        fast = _c_parse_head(
            data, start, end, _KEYS, limits.max_header_lines, limits.max_line_length,
            limits.max_uri_length, limits.max_body_size,
        )  # fmt: skip
        if fast is not None:
            return fast
    lines = _split_head(data, start, end, limits)
    msg = _start(lines[0], limits)
    del lines[0]
    # A line without a colon maps to None too, so the careful path rejects it.
    keys_get = _KEYS.get
    found = [keys_get(p[0]) if p[1] else None for p in map(str.partition, lines, repeat(":"))]
    present: set[str] = set(found)  # type: ignore[arg-type]
    raws: list[str] | None = None
    if None in present:
        lines, keys, raws = _slow_headers(lines)
        present = set(keys)
    else:
        keys = found  # type: ignore[assignment]
    if not present >= _MANDATORY_SET:
        missing = [_MANDATORY_NAMES[k] for k in _MANDATORY if k not in present]
        raise SIPParseError(f"missing {', '.join(missing)} header")
    if "content-length" not in present:
        msg._content_length = None
    else:
        # Content-Length is usually the last line, and the only one.
        unique = len(keys) == len(present)
        cl_i = (
            len(keys) - 1
            if unique and keys[-1] == "content-length"
            else keys.index("content-length")
        )
        cl_text = _value_of(lines[cl_i])
        if not unique and keys.count("content-length") > 1:
            for j in range(cl_i + 1, len(keys)):
                if keys[j] == "content-length" and _value_of(lines[j]) != cl_text:
                    raise SIPParseError("conflicting Content-Length headers")
        if not (cl_text.isascii() and cl_text.isdigit()) or len(cl_text) > 10:
            raise SIPParseError(f"bad Content-Length {cl_text[:20]!r}")
        cl = int(cl_text)
        if cl > limits.max_body_size:
            raise BodyTooLarge(f"Content-Length {cl} exceeds {limits.max_body_size}")
        msg._content_length = cl
    h = _new(Headers)
    h._keys = keys
    h._lines = lines
    h._raws = raws
    h._present = present
    h._cache = {}
    h._dirty = False
    msg.headers = h
    return msg


def parse(
    data: bytes | bytearray | memoryview, limits: Limits = DEFAULT_LIMITS
) -> Request | Response:
    """Parse one SIP message from a datagram (or any complete buffer).

    Content-Length is optional (absent means the rest of the datagram); a
    datagram longer than Content-Length is truncated to it, a shorter one is
    rejected (RFC 3261 §18.3).  Raises :class:`~sipstack.errors.SIPParseError`
    (with the status to answer) for anything that is not a valid message.
    """
    if type(data) is not bytes:
        data = bytes(data)
    n = len(data)
    if n > limits.max_message_size:
        raise MessageTooLarge(f"message of {n} bytes (limit {limits.max_message_size})")
    start = 0
    # RFC 3261 §7.5: CRLFs before the start line are ignored.
    while data.startswith(b"\r\n", start):
        start += 2
    end = data.find(b"\r\n\r\n", start)
    if end < 0:
        raise SIPParseError("header section does not end with an empty line")
    msg = _parse_head(data, start, end, limits)
    body_start = end + 4
    cl = msg._content_length
    if cl is None:
        body_end = n
        if n - body_start > limits.max_body_size:
            raise BodyTooLarge(f"body of {n - body_start} bytes")
    else:
        body_end = body_start + cl
        if body_end > n:
            raise SIPParseError(f"body shorter ({n - body_start}) than Content-Length ({cl})")
    msg._body = data[body_start:body_end]
    msg._raw = data if start == 0 and body_end == n else data[start:body_end]
    return msg  # type: ignore[return-value]
