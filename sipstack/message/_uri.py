"""URIs: ``sip:``/``sips:`` (RFC 3261 §19.1), ``tel:`` (RFC 3966) and any
other absolute URI, kept opaque.

``==`` on SIP URIs is the comparison of RFC 3261 §19.1.4, not string
equality: ``sip:%61lice@AtLanTa.CoM;transport=TCP`` equals
``sip:alice@atlanta.com;Transport=tcp``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote as _pct_decode

from ..errors import SIPParseError, SIPUsageError
from . import _abnf
from ._accel import SPEEDUPS
from ._lex import EMPTY_PARAMS, Params, _ro, lazy_params

__all__ = ["URI", "AbsoluteURI", "SipURI", "TelURI", "parse_uri"]

_USER_SAFE = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()&=+$,;?/"
)
_PASSWORD_SAFE = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()&=+$,"
)
_TEL_NUMBER = re.compile(r"\+?[0-9A-Fa-f*#\-.()]+")
_TEL_SEPARATORS = str.maketrans("", "", "-.()")
_OPAQUE = re.compile(r"[^\x00-\x20\x7f<>\"]+")
# RFC 3261 §19.1.4: these must match when either URI has them; the section's
# examples treat transport the same way ("sip:bob@biloxi.com" is not
# "sip:bob@biloxi.com;transport=udp").
_ALWAYS_COMPARED = ("user", "ttl", "method", "maddr", "transport")

# The part of a SIP URI after "sip:" (RFC 3261 §25.1 SIP-URI), in one linear
# pattern: [user[:password]@] host [:port] *(;param) [?headers].
# Plain character classes ("%" included) keep the pattern a tight loop; the
# escapes and the host's label structure are checked after the match.
_USERINFO = r"([A-Za-z0-9\-_.!~*'()&=+$,;?/%]+)(?::([A-Za-z0-9\-_.!~*'()&=+$,%]*))?@"
_HOSTPORT_PARAMS = (
    r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_\-.]+)"
    r"(?::([0-9]{1,5}))?"
    r"((?:;[A-Za-z0-9\-_.!~*'()\[\]/:&+$%]+(?:=[A-Za-z0-9\-_.!~*'()\[\]/:&+$%]+)?)*)"
)
_HOSTPART = _HOSTPORT_PARAMS + r"(?:\?(.*))?"
# Without an "@" there is no userinfo to try, which halves the work on junk.
_SIP_REST = re.compile(_USERINFO + _HOSTPART, re.S)
_SIP_REST_NO_USER = re.compile(r"()()" + _HOSTPART, re.S)


def _escape(text: str, safe: frozenset[str]) -> str:
    if all(c in safe for c in text):
        return text
    return "".join(
        c if c in safe else "".join(f"%{b:02X}" for b in c.encode("utf-8", "surrogateescape"))
        for c in text
    )


def _decode(text: str) -> str:
    return _pct_decode(text, errors="surrogateescape") if "%" in text else text


class URI:
    """Base class of every URI sipstack parses; ``str(uri)`` gives its text."""

    __slots__ = ()

    scheme: str


class SipURI(URI):
    """A ``sip:`` or ``sips:`` URI (immutable).

    ``user`` and ``password`` are unescaped; ``host`` is as written (an IPv6
    reference keeps its brackets); ``params`` are the uri-parameters and
    ``headers`` the ``?name=value`` pairs, both as written.
    """

    __slots__ = ("_headers", "_host", "_params", "_password", "_port", "_raw", "_scheme", "_user")
    _raw: str | None

    host: str = _ro("_host", "The host as written (IPv6 references keep their brackets).")
    user: str | None = _ro("_user", "The user part, unescaped (None when absent).")
    port: int | None = _ro("_port", "The port (None when absent).")
    scheme: str = _ro("_scheme", "``sip`` or ``sips`` (lower case).")
    password: str | None = _ro("_password", "The password, unescaped (None when absent).")
    params: Params = _ro("_params", "The uri-parameters.")
    headers: tuple[tuple[str, str], ...] = _ro("_headers", "The URI headers, escaped as written.")

    def __init__(
        self,
        host: str,
        user: str | None = None,
        port: int | None = None,
        scheme: str = "sip",
        password: str | None = None,
        params: Params = EMPTY_PARAMS,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        if scheme not in ("sip", "sips"):
            raise SIPUsageError(f"SipURI scheme must be sip or sips, not {scheme!r}")
        if not (_abnf.is_hostname(host) or _is_ipv6_ref(host)):
            raise SIPUsageError(f"{host!r} is not a host name or IP address")
        if port is not None and not 0 <= port <= 65535:
            raise SIPUsageError(f"port {port} out of range")
        for name, value in headers:
            if not _abnf.is_hchars(name) or not _abnf.is_hchars(value):
                raise SIPUsageError(f"URI header {name}={value} must be escaped")
        if not isinstance(params, Params):
            raise SIPUsageError("params must be a Params")
        for pname, pvalue in params:
            if not _abnf.is_paramchars(pname) or (
                pvalue is not None and not _abnf.is_paramchars(pvalue)
            ):
                raise SIPUsageError(f"uri-parameter {pname}={pvalue} must be escaped")
        if user == "":
            raise SIPUsageError("the user part of a SIP URI cannot be empty (use None)")
        self._host, self._user, self._port, self._scheme = host, user, port, scheme
        self._password, self._params, self._headers = password, params, tuple(headers)
        self._raw = None

    @classmethod
    def _parsed(
        cls,
        host: str,
        user: str | None,
        port: int | None,
        scheme: str,
        password: str | None,
        params: Params,
        headers: tuple[tuple[str, str], ...],
        raw: str,
    ) -> SipURI:
        self = object.__new__(cls)
        self._host, self._user, self._port, self._scheme = host, user, port, scheme
        self._password, self._params, self._headers, self._raw = password, params, headers, raw
        return self

    @property
    def transport(self) -> str | None:
        """The ``transport`` parameter, lower-cased."""
        t = self._params.get("transport")
        return t.lower() if t else None

    @property
    def maddr(self) -> str | None:
        """The ``maddr`` parameter."""
        return self._params.get("maddr")

    @property
    def lr(self) -> bool:
        """Whether the ``lr`` (loose routing) parameter is present."""
        return "lr" in self._params

    @property
    def secure(self) -> bool:
        """True for ``sips:``."""
        return self._scheme == "sips"

    @property
    def aor(self) -> str:
        """``scheme:user@host`` with no port or parameters: the address of
        record this URI names."""
        user = "" if self._user is None else _escape(self._user, _USER_SAFE) + "@"
        return f"{self._scheme}:{user}{self._host.lower()}"

    def replace(self, **changes: Any) -> SipURI:
        """A copy with some fields changed (``host``, ``user``, ``port``,
        ``scheme``, ``password``, ``params``, ``headers``)."""
        fields: dict[str, Any] = {
            "host": self._host, "user": self._user, "port": self._port, "scheme": self._scheme,
            "password": self._password, "params": self._params, "headers": self._headers,
        }  # fmt: skip
        unknown = changes.keys() - fields.keys()
        if unknown:
            raise SIPUsageError(f"SipURI has no field {sorted(unknown)}")
        fields.update(changes)
        return SipURI(**fields)

    def __str__(self) -> str:
        if self._raw is not None:
            return self._raw
        out = [self._scheme, ":"]
        if self._user is not None:
            out.append(_escape(self._user, _USER_SAFE))
            if self._password is not None:
                out += [":", _escape(self._password, _PASSWORD_SAFE)]
            out.append("@")
        out.append(self._host)
        if self._port is not None:
            out += [":", str(self._port)]
        out.append(str(self._params))
        if self._headers:
            out += ["?", "&".join(f"{n}={v}" for n, v in self._headers)]
        return "".join(out)

    def __repr__(self) -> str:
        return f"SipURI({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SipURI):
            return NotImplemented
        # RFC 3261 §19.1.4
        if (
            self._scheme != other._scheme
            or self._user != other._user
            or self._password != other._password
            or _host_key(self._host) != _host_key(other._host)
            or self._port != other._port
        ):
            return False
        a = {_decode(n).lower(): v for n, v in self._params}
        b = {_decode(n).lower(): v for n, v in other._params}
        for name in a.keys() | b.keys():
            if name in a and name in b:
                va, vb = a[name], b[name]
                if (va is None) != (vb is None):
                    return False
                if va is not None and vb is not None and _decode(va).lower() != _decode(vb).lower():
                    return False
            elif name in _ALWAYS_COMPARED:
                return False
        ha = {_decode(n).lower(): _decode(v) for n, v in self._headers}
        hb = {_decode(n).lower(): _decode(v) for n, v in other._headers}
        return ha == hb

    def __hash__(self) -> int:
        return hash((self._scheme, self._user, _host_key(self._host), self._port))


@dataclass(frozen=True, slots=True, eq=False)
class TelURI(URI):
    """A ``tel:`` URI (RFC 3966); ``number`` is as written."""

    number: str
    params: Params = EMPTY_PARAMS
    _raw: str | None = field(default=None, repr=False)
    scheme: str = "tel"

    def __post_init__(self) -> None:
        if self._raw is None and not _TEL_NUMBER.fullmatch(self.number):
            raise SIPUsageError(f"{self.number!r} is not a telephone number")

    @property
    def is_global(self) -> bool:
        """True for a global number (starting with ``+``)."""
        return self.number.startswith("+")

    def __str__(self) -> str:
        return self._raw if self._raw is not None else f"tel:{self.number}{self.params}"

    def _key(self) -> tuple[str, frozenset[tuple[str, str | None]]]:
        # RFC 3966 §4: visual separators are ignored; parameter order is not significant.
        return (
            self.number.translate(_TEL_SEPARATORS).lower(),
            frozenset((n.lower(), None if v is None else v.lower()) for n, v in self.params),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TelURI):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


@dataclass(frozen=True, slots=True, eq=False)
class AbsoluteURI(URI):
    """A URI of any other scheme, kept opaque: ``scheme`` and the text after
    the colon."""

    scheme: str
    rest: str

    def __post_init__(self) -> None:
        if not _OPAQUE.fullmatch(self.rest):
            raise SIPUsageError(f"{self.rest!r} cannot appear in a URI")

    def __str__(self) -> str:
        return f"{self.scheme}:{self.rest}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AbsoluteURI):
            return NotImplemented
        return self.scheme.lower() == other.scheme.lower() and self.rest == other.rest

    def __hash__(self) -> int:
        return hash((self.scheme.lower(), self.rest))


def _host_key(host: str) -> str:
    """The form of a host that comparison uses: lower case, and IPv6
    references in canonical text (RFC 5954 §4: [::1] equals [0:0::1])."""
    if host[:1] == "[":
        try:
            return "[" + ipaddress.IPv6Address(host[1:-1]).compressed + "]"
        except ValueError:
            pass
    return host.lower()


def _is_ipv6_ref(host: str) -> bool:
    if not _abnf.IPV6_REFERENCE.fullmatch(host):
        return False
    try:
        ipaddress.IPv6Address(host[1:-1])
    except ValueError:
        return False
    return True


def parse_host_port(text: str, what: str) -> tuple[str, int | None]:
    """Split ``host[:port]`` (IPv6 references in brackets) and validate both."""
    if text[:1] == "[":
        end = text.find("]")
        host = text[: end + 1]
        after = text[end + 1 :] if end > 0 else ""
        if end < 0 or not _is_ipv6_ref(host):
            raise SIPParseError(f"bad {what}: invalid IPv6 reference in {text!r}")
        if not after:
            return host, None
        if after[0] != ":":
            raise SIPParseError(f"bad {what}: junk after IPv6 reference in {text!r}")
        port_text = after[1:]
    else:
        host, colon, port_text = text.partition(":")
        if not _abnf.is_hostname(host):
            raise SIPParseError(f"bad {what}: {host!r} is not a host")
        if not colon:
            return host, None
    if not _abnf.PORT.fullmatch(port_text) or int(port_text) > 65535:
        raise SIPParseError(f"bad {what}: bad port {port_text!r}")
    return host, int(port_text)


def _parse_uri_params(text: str) -> Params:
    items: list[tuple[str, str | None]] = []
    for part in text.split(";"):
        name, eq, value = part.partition("=")
        if not _abnf.is_paramchars(name):
            raise SIPParseError(f"bad URI parameter {part!r}")
        if eq:
            if not _abnf.is_paramchars(value):
                raise SIPParseError(f"bad value in URI parameter {part!r}")
            items.append((name, value))
        else:
            items.append((name, None))
    return Params._trusted(tuple(items))


# The usual SIP URI, user@host[:port][;params] with no password, headers or
# %-escapes, in one possessive match (every class stops at a character
# nothing after it can match).  _parse_sip builds what sip_uri_from_match
# would build from it.
_SIP_FAST_HOST = (
    r"(\[[0-9A-Fa-f:.]++\]|[A-Za-z0-9_\-.]++)(?::([0-9]{1,5}+))?+"
    r"((?:;[A-Za-z0-9\-_.!~*'()\[\]/:&+$]++(?:=[A-Za-z0-9\-_.!~*'()\[\]/:&+$]++)?+)*+)"
)
_SIP_FAST = re.compile(r"([A-Za-z0-9\-_.!~*'()&=+$,;?/]++)@" + _SIP_FAST_HOST)
_SIP_FAST_NO_USER = re.compile(r"()" + _SIP_FAST_HOST)
_new = object.__new__
_c_sip_uri: Callable[[str], SipURI | None] | None = None if SPEEDUPS is None else SPEEDUPS.sip_uri


def fast_sip_uri(
    scheme: str, user: str | None, host: str, port: str | None, ptext: str | None, raw: str
) -> SipURI | None:
    """The SipURI of a fast pattern's match (no password, headers or
    escapes), or None when the host or port needs the general parser
    (which then raises its own error)."""
    if host[0] == "[":
        if not _is_ipv6_ref(host):
            return None
    elif host[0] == "." or ".." in host:
        return None
    if port is not None and int(port) > 65535:
        return None
    uri = _new(SipURI)
    uri._host = host
    uri._user = user or None
    uri._port = None if port is None else int(port)
    uri._scheme = scheme
    uri._password = None
    uri._params = lazy_params(ptext or "")
    uri._headers = ()
    uri._raw = raw
    return uri


def _parse_sip(scheme: str, rest: str, raw: str) -> SipURI:
    if _c_sip_uri is not None:
        # The accelerator takes the shapes the patterns below take.
        built: SipURI | None = _c_sip_uri(raw)
        if built is not None:
            return built
    m = (_SIP_FAST if "@" in rest else _SIP_FAST_NO_USER).fullmatch(rest)
    if m is not None:
        user, host, port, ptext = m.groups()
        uri = fast_sip_uri(scheme, user, host, port, ptext, raw)
        if uri is not None:
            return uri
    return _parse_sip_general(scheme, rest, raw)


def _parse_sip_general(scheme: str, rest: str, raw: str) -> SipURI:
    m = (_SIP_REST if "@" in rest else _SIP_REST_NO_USER).fullmatch(rest)
    if m is None:
        raise SIPParseError(f"bad URI {raw[:80]!r}")
    return sip_uri_from_match(scheme, m.groups(), raw)


def sip_uri_from_match(
    scheme: str,
    groups: tuple[str | Any, ...],
    raw: str,
) -> SipURI:
    """Build a SipURI from the groups (user, password, host, port, params,
    headers) of a pattern made of _USERINFO and _HOSTPART pieces, finishing
    the checks the pattern leaves: escapes, host labels, IPv6, port range."""
    u, pw, host, port_text, param_text, hdr_text = groups
    if "%" in raw:
        end = raw.find("?")
        if _abnf.BAD_ESCAPE.search(raw, 0, len(raw) if end < 0 else end):
            raise SIPParseError(f"bad URI {raw[:80]!r}: bad %-escape")
    if host[0] == "[":
        if not _is_ipv6_ref(host):
            raise SIPParseError(f"bad URI {raw[:80]!r}: invalid IPv6 reference")
    elif host[0] == "." or ".." in host:
        raise SIPParseError(f"bad URI {raw[:80]!r}: bad host {host!r}")
    user = None if not u else (_decode(u) if "%" in u else u)
    password = None if pw is None or not u else _decode(pw)
    port: int | None = None
    if port_text is not None:
        port = int(port_text)
        if port > 65535:
            raise SIPParseError(f"bad URI {raw[:80]!r}: port out of range")
    params = Params._lazy(param_text) if param_text else EMPTY_PARAMS
    headers: tuple[tuple[str, str], ...] = ()
    if hdr_text is not None:
        hs: list[tuple[str, str]] = []
        for h in hdr_text.split("&"):
            n, eq, v = h.partition("=")
            if not eq or not n or not _abnf.is_hchars(n) or not _abnf.is_hchars(v):
                raise SIPParseError(f"bad URI {raw[:80]!r}: invalid header {h[:40]!r}")
            hs.append((n, v))
        headers = tuple(hs)
    return SipURI._parsed(host, user, port, scheme, password, params, headers, raw)


def _parse_tel(rest: str, raw: str) -> TelURI:
    number, semi, param_text = rest.partition(";")
    if not _TEL_NUMBER.fullmatch(number):
        raise SIPParseError(f"bad tel URI {raw!r}")
    params = _parse_uri_params(param_text) if semi else EMPTY_PARAMS
    return TelURI(number, params, raw)


def parse_uri(text: str) -> URI:
    """Parse a URI; raises :class:`~sipstack.errors.SIPParseError` when it is
    not one."""
    scheme, colon, rest = text.partition(":")
    if scheme == "sip" or scheme == "sips":
        return _parse_sip(scheme, rest, text)
    if not colon or not _abnf.SCHEME.fullmatch(scheme):
        raise SIPParseError(f"bad URI {text[:80]!r}: no scheme")
    low = scheme.lower()
    if low == "sip" or low == "sips":
        return _parse_sip(low, rest, text)
    if low == "tel":
        return _parse_tel(rest, text)
    if not _OPAQUE.fullmatch(rest):
        raise SIPParseError(f"bad URI {text[:80]!r}")
    return AbsoluteURI(scheme, rest)
