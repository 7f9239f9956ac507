"""URIs: ``sip:``/``sips:`` (RFC 3261 §19.1), ``tel:`` (RFC 3966) and any
other absolute URI, kept opaque.

``==`` on SIP URIs is the comparison of RFC 3261 §19.1.4, not string
equality: ``sip:%61lice@AtLanTa.CoM;transport=TCP`` equals
``sip:alice@atlanta.com;Transport=tcp``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import unquote as _pct_decode

from ..errors import SIPParseError, SIPUsageError
from . import _abnf
from ._lex import EMPTY_PARAMS, Params

__all__ = ["URI", "AbsoluteURI", "SipURI", "TelURI", "parse_uri"]

_USER_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()&=+$,;?/")
_PASSWORD_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()&=+$,")
_TEL_NUMBER = re.compile(r"\+?[0-9A-Fa-f*#\-.()]+")
_TEL_SEPARATORS = str.maketrans("", "", "-.()")
_OPAQUE = re.compile(r"[^\x00-\x20\x7f<>\"]+")
_ALWAYS_COMPARED = ("user", "ttl", "method", "maddr")


def _escape(text: str, safe: frozenset[str]) -> str:
    if all(c in safe for c in text):
        return text
    return "".join(c if c in safe else "".join(f"%{b:02X}" for b in c.encode()) for c in text)


def _decode(text: str) -> str:
    return _pct_decode(text, errors="surrogateescape") if "%" in text else text


class URI:
    """Base class of every URI sipstack parses; ``str(uri)`` gives its text."""

    __slots__ = ()

    scheme: str


@dataclass(frozen=True, slots=True, eq=False)
class SipURI(URI):
    """A ``sip:`` or ``sips:`` URI.

    ``user`` and ``password`` are unescaped; ``host`` is as written (an IPv6
    reference keeps its brackets); ``params`` are the uri-parameters and
    ``headers`` the ``?name=value`` pairs, both as written.
    """

    host: str
    user: str | None = None
    port: int | None = None
    scheme: str = "sip"
    password: str | None = None
    params: Params = EMPTY_PARAMS
    headers: tuple[tuple[str, str], ...] = ()
    _raw: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self._raw is None:
            if self.scheme not in ("sip", "sips"):
                raise SIPUsageError(f"SipURI scheme must be sip or sips, not {self.scheme!r}")
            if not (_abnf.HOSTNAME.fullmatch(self.host) or _is_ipv6_ref(self.host)):
                raise SIPUsageError(f"{self.host!r} is not a host name or IP address")
            if self.port is not None and not 0 <= self.port <= 65535:
                raise SIPUsageError(f"port {self.port} out of range")
            for name, value in self.headers:
                if not _abnf.HCHARS.fullmatch(name) or not _abnf.HCHARS.fullmatch(value):
                    raise SIPUsageError(f"URI header {name}={value} must be escaped")

    @property
    def transport(self) -> str | None:
        """The ``transport`` parameter, lower-cased."""
        t = self.params.get("transport")
        return t.lower() if t else None

    @property
    def maddr(self) -> str | None:
        """The ``maddr`` parameter."""
        return self.params.get("maddr")

    @property
    def lr(self) -> bool:
        """Whether the ``lr`` (loose routing) parameter is present."""
        return "lr" in self.params

    @property
    def secure(self) -> bool:
        """True for ``sips:``."""
        return self.scheme == "sips"

    @property
    def host_lower(self) -> str:
        """The host in lower case (the form §19.1.4 compares)."""
        return self.host.lower()

    @property
    def aor(self) -> str:
        """``scheme:user@host`` with no port or parameters: the address of
        record this URI names."""
        user = "" if self.user is None else _escape(self.user, _USER_SAFE) + "@"
        return f"{self.scheme}:{user}{self.host.lower()}"

    def replace(self, **changes: object) -> SipURI:
        """A copy with some fields changed (the copy serialises anew)."""
        from dataclasses import replace

        return replace(self, _raw=None, **changes)  # type: ignore[arg-type]

    def __str__(self) -> str:
        if self._raw is not None:
            return self._raw
        out = [self.scheme, ":"]
        if self.user is not None:
            out.append(_escape(self.user, _USER_SAFE))
            if self.password is not None:
                out += [":", _escape(self.password, _PASSWORD_SAFE)]
            out.append("@")
        out.append(self.host)
        if self.port is not None:
            out += [":", str(self.port)]
        out.append(str(self.params))
        if self.headers:
            out += ["?", "&".join(f"{n}={v}" for n, v in self.headers)]
        return "".join(out)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SipURI):
            return NotImplemented
        # RFC 3261 §19.1.4
        if (
            self.scheme != other.scheme
            or self.user != other.user
            or self.password != other.password
            or self.host.lower() != other.host.lower()
            or self.port != other.port
        ):
            return False
        a = {n.lower(): v for n, v in self.params}
        b = {n.lower(): v for n, v in other.params}
        for name in a.keys() | b.keys():
            if name in a and name in b:
                va, vb = a[name], b[name]
                if (va is None) != (vb is None):
                    return False
                if va is not None and vb is not None and _decode(va).lower() != _decode(vb).lower():
                    return False
            elif name in _ALWAYS_COMPARED:
                return False
        ha = {_decode(n).lower(): _decode(v) for n, v in self.headers}
        hb = {_decode(n).lower(): _decode(v) for n, v in other.headers}
        return ha == hb

    def __hash__(self) -> int:
        return hash((self.scheme, self.user, self.host.lower(), self.port))


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
        if not _abnf.HOSTNAME.fullmatch(host):
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
        if not _abnf.PARAMCHARS.fullmatch(name):
            raise SIPParseError(f"bad URI parameter {part!r}")
        if eq:
            if not _abnf.PARAMCHARS.fullmatch(value):
                raise SIPParseError(f"bad value in URI parameter {part!r}")
            items.append((name, value))
        else:
            items.append((name, None))
    return Params._trusted(tuple(items))


def _parse_sip(scheme: str, rest: str, raw: str) -> SipURI:
    user: str | None = None
    password: str | None = None
    at = rest.find("@")
    if at >= 0:
        userinfo = rest[:at]
        rest = rest[at + 1 :]
        if "@" in rest:
            raise SIPParseError(f"bad URI {raw!r}: more than one '@'")
        u, colon, pw = userinfo.partition(":")
        if not _abnf.USER.fullmatch(u):
            raise SIPParseError(f"bad URI {raw!r}: invalid user part")
        user = _decode(u)
        if colon:
            if not _abnf.PASSWORD.fullmatch(pw):
                raise SIPParseError(f"bad URI {raw!r}: invalid password")
            password = _decode(pw)
    rest, qmark, hdr_text = rest.partition("?")
    headers: tuple[tuple[str, str], ...] = ()
    if qmark:
        hs: list[tuple[str, str]] = []
        for h in hdr_text.split("&"):
            n, eq, v = h.partition("=")
            if not eq or not n or not _abnf.HCHARS.fullmatch(n) or not _abnf.HCHARS.fullmatch(v):
                raise SIPParseError(f"bad URI {raw!r}: invalid header {h!r}")
            hs.append((n, v))
        headers = tuple(hs)
    hostport, semi, param_text = rest.partition(";")
    host, port = parse_host_port(hostport, f"URI {raw!r}")
    params = _parse_uri_params(param_text) if semi else EMPTY_PARAMS
    return SipURI(host, user, port, scheme, password, params, headers, raw)


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
