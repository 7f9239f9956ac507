"""name-addr / addr-spec with header parameters (RFC 3261 §20.10, §25.1):
From, To, Contact, Route, Record-Route, Refer-To, Reply-To, P-Asserted-Identity …"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..errors import SIPParseError, SIPUsageError
from . import _abnf
from ._accel import SPEEDUPS
from ._headers import check_text
from ._lex import EMPTY_PARAMS, Params, _ro, lazy_params, parse_params, quote, quoted_end, unquote
from ._uri import URI, fast_sip_uri, parse_uri

__all__ = ["Address", "parse_address"]

_NO_CONTROLS = {c: None for c in (*range(0x0A), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)}


class Address:
    """A URI with an optional display name and header parameters (immutable).

    ``display_name`` is unquoted (``None`` when absent).  ``params`` are the
    header parameters after the URI (``tag``, ``expires``, ``q`` …), not the
    URI's own parameters.
    """

    __slots__ = ("_display_name", "_params", "_raw", "_tag", "_uri")
    _raw: str | None
    # The tag when the pattern of parse_address saw it as the first header
    # parameter, else None (then it is looked up in the parameters).
    _tag: str | None

    uri: URI = _ro("_uri", "The URI.")
    display_name: str | None = _ro("_display_name", "The display name, unquoted.")
    params: Params = _ro("_params", "The header parameters (tag, expires, q …).")

    def __init__(
        self, uri: URI, display_name: str | None = None, params: Params = EMPTY_PARAMS
    ) -> None:
        if not isinstance(uri, URI):
            raise SIPUsageError("uri must be a URI (use parse_uri for text)")
        if display_name is not None:
            # Control characters other than CR and LF travel as quoted-pairs.
            check_text("display name", display_name.translate(_NO_CONTROLS))
        if not isinstance(params, Params):
            raise SIPUsageError("params must be a Params")
        self._uri, self._display_name, self._params, self._raw = uri, display_name, params, None
        self._tag = None

    @classmethod
    def _parsed(cls, uri: URI, display_name: str | None, params: Params, raw: str) -> Address:
        self = object.__new__(cls)
        self._uri, self._display_name, self._params, self._raw = uri, display_name, params, raw
        self._tag = None
        return self

    def __repr__(self) -> str:
        return f"Address({str(self)!r})"

    @property
    def tag(self) -> str | None:
        """The ``tag`` parameter (From/To)."""
        tag = self._tag
        return tag if tag is not None else self._params.get("tag")

    @property
    def expires(self) -> int | None:
        """The ``expires`` parameter (Contact), or None when absent/invalid."""
        v = self.params.get("expires")
        if v is None or not (v.isascii() and v.isdigit()):
            return None
        # delta-seconds beyond 2**32-1 count as 2**32-1 (RFC 3261 §20.19)
        return 2**32 - 1 if len(v) > 10 or int(v) > 2**32 - 1 else int(v)

    @property
    def q(self) -> float | None:
        """The ``q`` parameter (Contact), or None when absent/invalid."""
        v = self.params.get("q")
        if v is None:
            return None
        try:
            q = float(v)
        except ValueError:
            return None
        return q if 0.0 <= q <= 1.0 else None

    def with_tag(self, tag: str) -> Address:
        """A copy carrying ``;tag=tag`` (replacing any tag)."""
        return Address(self.uri, self.display_name, self.params.with_param("tag", tag))

    def with_params(self, params: Params) -> Address:
        """A copy with other header parameters."""
        return Address(self.uri, self.display_name, params)

    def __str__(self) -> str:
        if self._raw is not None:
            return self._raw
        if self.display_name is None:
            return f"<{self.uri}>{self.params}"
        name = self.display_name
        plain = name and name == name.strip(" ") and "  " not in name
        shown = name if plain and _DISPLAY_WORDS.fullmatch(name) else quote(name)
        return f"{shown} <{self.uri}>{self.params}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Address):
            return NotImplemented
        return (
            self.uri == other.uri
            and self.display_name == other.display_name
            and self.params == other.params
        )

    def __hash__(self) -> int:
        return hash((self.uri, self.params))


# The usual shapes in one linear pattern each: [display-name] <sip-uri>
# and a bare sip-uri (addr-spec), followed by header parameters written
# without spaces.  The URI has no password, no headers and no %-escapes, so
# the groups are the parts as they are; the pattern leaves only the host's
# dots and the port's range to check.  Anything else takes the general path
# (_parse_address), which gives the same result for what the patterns take.
# The quantifiers are possessive: every class stops at a character that
# nothing after it can match, so giving back could never find another match,
# and not keeping the means to give back makes the match cheaper.
_T = _abnf.TOKEN_CHARS
_DISPLAY = rf'(?:"([^"\\\x00-\x1f\x7f]*+)"[ \t]*+|([{_T}]++(?:[ \t]++[{_T}]++)*+)[ \t]*+)?'
_DISPLAY_WORDS = re.compile(rf"[{_T}]+(?:[ \t]+[{_T}]+)*")
_HOST = r"(\[[0-9A-Fa-f:.]++\]|[A-Za-z0-9_\-.]++)(?::([0-9]{1,5}+))?+"
_URI_PARAMS = r"((?:;[A-Za-z0-9\-_.!~*'()\[\]/:&+$]++(?:=[A-Za-z0-9\-_.!~*'()\[\]/:&+$]++)?+)*+)"
# A tag written first (as nearly every From and To has it) is a group of its own.
_HEADER_PARAMS = rf"((?:;tag=([{_T}:\[\]]++))?+(?:;[{_T}]++(?:=[{_T}:\[\]]++)?+)*+)"
_NAME_ADDR = re.compile(
    _DISPLAY
    + r"<((sips?):([A-Za-z0-9\-_.!~*'()&=+$,;?/]++)@"
    + _HOST
    + _URI_PARAMS
    + ")>"
    + _HEADER_PARAMS
)
_NAME_ADDR_NO_USER = re.compile(
    _DISPLAY + r"<((sips?):()" + _HOST + _URI_PARAMS + ")>" + _HEADER_PARAMS
)
# addr-spec: the URI ends at the first ";" (RFC 3261 §20.10), so it has no
# parameters, and a user part with ";", "?" or "," is left to the general path.
_ADDR_SPEC = re.compile(r"((sips?):([A-Za-z0-9\-_.!~*'()&=+$/]++)@" + _HOST + ")" + _HEADER_PARAMS)
_ADDR_SPEC_NO_USER = re.compile(r"((sips?):()" + _HOST + ")" + _HEADER_PARAMS)

_new = object.__new__
_c_address: Callable[[str], Address | None] | None = (
    None if SPEEDUPS is None else SPEEDUPS.address
)


def parse_address(text: str, header: str = "address") -> Address:
    """Parse one name-addr or addr-spec with its parameters."""
    return stripped_address(text.strip(" \t"), header)


def stripped_address(value: str, header: str) -> Address:
    """:func:`parse_address` of a value without surrounding whitespace (as
    header values and list elements are once split out of a message)."""
    if _c_address is not None:
        # The accelerator takes the shapes the patterns below take.
        built: Address | None = _c_address(value)
        if built is not None:
            return built
    if "<" in value:
        m = (_NAME_ADDR if "@" in value else _NAME_ADDR_NO_USER).fullmatch(value)
        if m is None:
            return _parse_address(value, header)
        quoted, words, uri_text, scheme, user, host, port, uparams, hparams, tag = m.groups()
        display = quoted if quoted is not None else words
    else:
        m = (_ADDR_SPEC if "@" in value else _ADDR_SPEC_NO_USER).fullmatch(value)
        if m is None:
            return _parse_address(value, header)
        uri_text, scheme, user, host, port, hparams, tag = m.groups()
        uparams = display = None
    uri = fast_sip_uri(scheme, user, host, port, uparams, uri_text)
    if uri is None:
        return _parse_address(value, header)  # raises the general path's error
    addr = _new(Address)
    addr._uri = uri
    addr._display_name = display
    addr._params = lazy_params(hparams or "")
    addr._raw = value
    addr._tag = tag
    return addr


def _parse_address(value: str, header: str) -> Address:
    """The general path of :func:`parse_address`, for ``value`` already
    stripped: any display name, addr-spec, any URI scheme."""
    raw = value
    display: str | None = None
    if value[:1] == '"':
        end = quoted_end(value, 0)
        display = unquote(value[:end])
        rest = value[end:].lstrip(" \t")
        if rest[:1] != "<":
            raise SIPParseError(f"bad {header}: '<' expected after display name")
        lt = 0
        value = rest
    else:
        lt = value.find("<")
    if lt >= 0:
        gt = value.find(">", lt)
        if gt < 0:
            raise SIPParseError(f"bad {header}: missing '>'")
        if lt > 0:
            words = value[:lt].strip(" \t")
            # display-name = *(token LWS)
            if words and not _DISPLAY_WORDS.fullmatch(words):
                raise SIPParseError(f"bad {header}: bad display name {words!r}")
            display = words or None
        uri_text = value[lt + 1 : gt]
        param_text = value[gt + 1 :]
    else:
        # addr-spec: the URI ends at the first ';' (RFC 3261 §20.10) or whitespace.
        semi = value.find(";")
        uri_text = value if semi < 0 else value[:semi]
        param_text = "" if semi < 0 else value[semi:]
        uri_text = uri_text.rstrip(" \t")
        if "," in uri_text or "?" in uri_text or " " in uri_text:
            raise SIPParseError(f"bad {header}: a URI with ',', '?' or spaces needs <...>")
    if not uri_text:
        raise SIPParseError(f"bad {header}: empty URI")
    uri = parse_uri(uri_text)
    param_text = param_text.strip(" \t")
    params = parse_params(param_text, header) if param_text else EMPTY_PARAMS
    return Address._parsed(uri, display, params, raw)
