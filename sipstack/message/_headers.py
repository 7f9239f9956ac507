"""The header multimap: ordered, case-insensitive, aware of compact forms.

Each header line is kept as written, so a message whose headers were not
touched serialises byte for byte, and a message that was edited keeps every
other line verbatim.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from ..errors import SIPParseError, SIPUsageError
from ._lex import split_commas

__all__ = ["COMPACT_FORMS", "Headers", "canonical_name", "header_key"]

T = TypeVar("T")

# RFC 3261 §7.3.3 and the IANA "Header Fields" registry's compact forms.
COMPACT_FORMS: dict[str, str] = {
    "a": "Accept-Contact",  # RFC 3841
    "b": "Referred-By",  # RFC 3892
    "c": "Content-Type",
    "d": "Request-Disposition",  # RFC 3841
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",  # RFC 3841
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "n": "Identity-Info",  # RFC 4474
    "o": "Event",  # RFC 6665
    "r": "Refer-To",  # RFC 3515
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",  # RFC 6665
    "v": "Via",
    "x": "Session-Expires",  # RFC 4028
    "y": "Identity",  # RFC 8224
}

_CANONICAL = [
    "Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow",
    "Allow-Events", "Authentication-Info", "Authorization", "Call-ID", "Call-Info", "Contact",
    "Content-Disposition", "Content-Encoding", "Content-Language", "Content-Length",
    "Content-Type", "CSeq", "Date", "Error-Info", "Event", "Expires", "From", "Identity",
    "Identity-Info", "In-Reply-To", "Max-Forwards", "Min-Expires", "Min-SE", "MIME-Version",
    "Organization", "P-Asserted-Identity", "Path", "Priority", "Proxy-Authenticate",
    "Proxy-Authorization", "Proxy-Require", "RAck", "Reason", "Record-Route", "Refer-To",
    "Referred-By", "Reject-Contact", "Reply-To", "Request-Disposition", "Require",
    "Retry-After", "Route", "RSeq", "Server", "Service-Route", "Session-Expires", "SIP-ETag",
    "SIP-If-Match", "Subject", "Subscription-State", "Supported", "Timestamp", "To",
    "Unsupported", "User-Agent", "Via", "Warning", "WWW-Authenticate",
]  # fmt: skip
_DISPLAY: dict[str, str] = {n.lower(): n for n in _CANONICAL}

# RFC 3261 §25.1 token; header names are tokens.
_NAME = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")

# Raw name as it appears before the colon (whitespace included) -> key.
# Bounded so a peer inventing names cannot grow it without limit.
_KEYS: dict[str, str] = {}
_KEYS_MAX = 4096
# Keys are interned so list searches compare them by identity.
for _n in _CANONICAL:
    _KEYS[_n] = _KEYS[_n.lower()] = sys.intern(_n.lower())
for _short, _long in COMPACT_FORMS.items():
    _KEYS[_short] = _KEYS[_short.upper()] = sys.intern(_long.lower())


def header_key(raw_name: str) -> str:
    """The lookup key for a header name as written: lower case, compact form
    expanded, whitespace before the colon ignored.  Raises SIPParseError for
    a name that is not a token."""
    key = _KEYS.get(raw_name)
    if key is not None:
        return key
    name = raw_name.rstrip(" \t")
    if not _NAME.fullmatch(name):
        raise SIPParseError(f"bad header name {name[:40]!r}")
    low = name.lower()
    key = sys.intern(COMPACT_FORMS[low].lower() if low in COMPACT_FORMS else low)
    if len(_KEYS) < _KEYS_MAX:
        _KEYS[raw_name] = key
    return key


def canonical_name(name: str) -> str:
    """The conventional spelling of a header name (``call-id`` -> ``Call-ID``,
    ``v`` -> ``Via``); unknown names are returned unchanged."""
    key = header_key(name)
    return _DISPLAY.get(key, name.strip())


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def check_text(what: str, value: str) -> None:
    """Refuse text the parser would refuse: CR, LF (header injection), NUL
    and other control characters, and strings that are not valid UTF-8."""
    if _CONTROL.search(value):
        raise SIPUsageError(f"{what} contains CR, LF, NUL or another control character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise SIPUsageError(f"{what} is not valid Unicode text") from None


def _check_value(name: str, value: str) -> None:
    check_text(f"header {name} value", value)


def _value_of(line: str) -> str:
    _, sep, value = line.partition(":")
    if not sep:
        raise SIPParseError(f"header line without a colon: {line[:40]!r}")
    return value.strip(" \t")


def list_elements(values: list[str], parse: Callable[[str], T]) -> tuple[T, ...]:
    """``parse`` applied to every comma-separated element of ``values`` (the
    values of the lines of one list-valued header, in order)."""
    out: list[T] = []
    for value in values:
        if "," in value:
            out += [parse(v) for v in split_commas(value)]
        elif value:
            out.append(parse(value))
    return tuple(out)


def joined_elements(values: list[str], parse: Callable[[str], tuple[T, ...]]) -> tuple[T, ...]:
    """``parse`` applied to each of ``values``, the tuples joined in order."""
    result: tuple[T, ...] = ()
    for value in values:
        result += parse(value)
    return result


def line_elements(values: list[str], parse: Callable[[str], T]) -> tuple[T, ...]:
    """``parse`` applied to each of ``values``."""
    return tuple([parse(v) for v in values])


class Headers:
    """An ordered multimap of header lines.

    Lookups are case-insensitive and see through compact forms
    (``headers.get("Via")`` also finds ``v:`` lines).  Several lines of one
    name are kept in order.  :meth:`get_list` splits list-valued headers at
    top-level commas.  Mutating methods refuse CR, LF, NUL and other control
    characters (no header injection).
    """

    __slots__ = ("_cache", "_dirty", "_keys", "_lines", "_present", "_raws")

    # One entry per header line: its lookup key and its text (unfolded).  A
    # parsed line is split at its colon only when its value is read.  _raws
    # holds the received text when some line was folded; it is dropped once
    # the headers change.
    _keys: list[str]
    _lines: list[str]
    _raws: list[str] | None
    _present: set[str]
    _cache: dict[str, object]
    _dirty: bool

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        keys: list[str] = []
        lines: list[str] = []
        entry = self._entry
        for name, value in items:
            key, line = entry(name, value)
            keys.append(key)
            lines.append(line)
        self._keys = keys
        self._lines = lines
        self._raws = None
        self._present = set(keys)
        self._cache = {}
        self._dirty = True

    @classmethod
    def _trusted(cls, keys: list[str], lines: list[str]) -> Headers:
        """Headers from lines known to be valid (copied from a parsed
        message, or built from checked parts): no checks, no copies."""
        h = object.__new__(cls)
        h._keys = keys
        h._lines = lines
        h._raws = None
        h._present = set(keys)
        h._cache = {}
        h._dirty = True
        return h

    def _first_line(self, key: str) -> str | None:
        """The first line (``Name: value``, unfolded) with lookup key
        ``key``, for copying into another message."""
        if key not in self._present:
            return None
        return self._lines[self._keys.index(key)]

    def _all_lines(self, key: str) -> list[str]:
        """Every line with lookup key ``key``, in order."""
        if key not in self._present:
            return []
        keys = self._keys
        i = keys.index(key)
        if keys.count(key) == 1:
            return [self._lines[i]]
        return [line for k, line in zip(keys, self._lines, strict=True) if k == key]

    def _changed(self) -> None:
        self._present = set(self._keys)
        self._cache.clear()
        self._raws = None
        self._dirty = True

    # -- reading ------------------------------------------------------------
    def get(self, name: str, default: str | None = None) -> str | None:
        """The value of the first line named ``name``."""
        key = _KEYS.get(name) or header_key(name)
        if key not in self._present:
            return default
        return _value_of(self._lines[self._keys.index(key)])

    def get_all(self, name: str) -> list[str]:
        """The values of every line named ``name``, in order."""
        return self._values(_KEYS.get(name) or header_key(name))

    def get_list(self, name: str) -> list[str]:
        """The elements of a list-valued header (Via, Contact, Route, Allow …)
        across all its lines, split at commas outside quotes and ``<...>``."""
        out: list[str] = []
        for v in self.get_all(name):
            out += split_commas(v)
        return out

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            return header_key(name) in self._present
        except SIPParseError:
            return False

    def __iter__(self) -> Iterator[tuple[str, str]]:
        """(name, value) for every line, in order; raises SIPParseError for a
        line that is not ``name: value``."""
        for line in self._lines:
            yield line.partition(":")[0].rstrip(" \t"), _value_of(line)

    def items(self) -> list[tuple[str, str]]:
        """(name, value) for every line, in order (names as written)."""
        return list(self)

    def __len__(self) -> int:
        return len(self._lines)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self._keys == other._keys and [_value_of(x) for x in self._lines] == [
            _value_of(x) for x in other._lines
        ]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Headers({self.items()!r})"

    def typed(self, name: str, parse: Callable[[str], T]) -> T | None:
        """``parse`` applied to the first value of ``name`` (None when
        absent), computed once and cached until the headers change."""
        key = _KEYS.get(name) or header_key(name)
        cache = self._cache
        hit = cache.get(key, cache)
        if hit is not cache:
            return hit  # type: ignore[return-value]
        if key in self._present:
            result: T | None = parse(_value_of(self._lines[self._keys.index(key)]))
        else:
            result = None
        cache[key] = result
        return result

    def _typed(self, key: str, parse: Callable[[str], T]) -> T | None:
        # typed() for a lookup key, on a cache miss.
        if key in self._present:
            # Every line holds a colon: parsing and the writers make sure.
            line = self._lines[self._keys.index(key)]
            result: T | None = parse(line.partition(":")[2].strip(" \t"))
        else:
            result = None
        self._cache[key] = result
        return result

    def _values(self, key: str) -> list[str]:
        # get_all() for a lookup key.
        if key not in self._present:
            return []
        keys = self._keys
        lines = self._lines
        i = keys.index(key)
        # Every line holds a colon: parsing and the writers make sure.
        first = lines[i].partition(":")[2].strip(" \t")
        if len(keys) == len(self._present):
            # No name appears twice (the usual message): nothing to count.
            return [first]
        out = [first]
        for _ in range(keys.count(key) - 1):
            i = keys.index(key, i + 1)
            out.append(lines[i].partition(":")[2].strip(" \t"))
        return out

    def typed_list(self, name: str, parse: Callable[[str], T]) -> tuple[T, ...]:
        """``parse`` applied to every element of list-valued ``name``, cached
        until the headers change."""
        key = _KEYS.get(name) or header_key(name)
        ckey = "*" + key
        hit = self._cache.get(ckey)
        if hit is not None:
            return hit  # type: ignore[return-value]
        return self._typed_list(key, ckey, parse)

    def _typed_list(self, key: str, ckey: str, parse: Callable[[str], T]) -> tuple[T, ...]:
        # typed_list for a lookup key and its cache key, on a cache miss.
        result = self._cache[ckey] = list_elements(self._values(key), parse)
        return result

    def typed_joined(self, name: str, parse: Callable[[str], tuple[T, ...]]) -> tuple[T, ...]:
        """``parse`` applied to each line of list-valued ``name``, giving a
        tuple per line, joined in order and cached until the headers change
        (for token lists, parsed a line at a time)."""
        key = _KEYS.get(name) or header_key(name)
        ckey = "*" + key
        hit = self._cache.get(ckey)
        if hit is not None:
            return hit  # type: ignore[return-value]
        return self._typed_joined(key, ckey, parse)

    def _typed_joined(
        self, key: str, ckey: str, parse: Callable[[str], tuple[T, ...]]
    ) -> tuple[T, ...]:
        # typed_joined for a lookup key and its cache key, on a cache miss.
        result = self._cache[ckey] = joined_elements(self._values(key), parse)
        return result

    def typed_lines(self, name: str, parse: Callable[[str], T]) -> tuple[T, ...]:
        """``parse`` applied to the value of every line of ``name`` (for
        headers whose values contain commas of their own, such as
        WWW-Authenticate), cached until the headers change."""
        key = _KEYS.get(name) or header_key(name)
        ckey = "#" + key
        cache = self._cache
        if ckey in cache:
            return cache[ckey]  # type: ignore[return-value]
        return self._typed_lines(key, ckey, parse)

    def _typed_lines(self, key: str, ckey: str, parse: Callable[[str], T]) -> tuple[T, ...]:
        # typed_lines for a lookup key and its cache key, on a cache miss.
        result: tuple[T, ...] = ()
        if key in self._present:
            result = line_elements(self._values(key), parse)
        self._cache[ckey] = result
        return result

    # -- writing ------------------------------------------------------------
    def _entry(self, name: str, value: str) -> tuple[str, str]:
        try:
            key = header_key(name)
        except SIPParseError:
            raise SIPUsageError(f"header name {name!r} is not a token") from None
        value = str(value)
        _check_value(name, value)
        return key, f"{canonical_name(name)}: {value}"

    def add(self, name: str, value: str, *, first: bool = False) -> None:
        """Append a line; with ``first=True`` insert it before the first line
        of the same name (or at the top), as a proxy adds its Via."""
        key, line = self._entry(name, value)
        if first:
            i = self._keys.index(key) if key in self._present else 0
            self._keys.insert(i, key)
            self._lines.insert(i, line)
        else:
            self._keys.append(key)
            self._lines.append(line)
        self._present.add(key)
        self._cache.clear()
        self._raws = None
        self._dirty = True

    def set(self, name: str, value: str) -> None:
        """Replace every line of ``name`` with one line (in the place of the
        first, or appended)."""
        key, line = self._entry(name, value)
        i = self._keys.index(key) if key in self._present else None
        if i is None:
            self._keys.append(key)
            self._lines.append(line)
        else:
            keep = [j for j, k in enumerate(self._keys) if k != key or j == i]
            self._lines = [line if j == i else self._lines[j] for j in keep]
            self._keys = [self._keys[j] for j in keep]
        self._changed()

    def remove(self, name: str) -> int:
        """Remove every line of ``name``; returns how many were removed."""
        key = header_key(name)
        keep = [j for j, k in enumerate(self._keys) if k != key]
        removed = len(self._keys) - len(keep)
        if removed:
            self._lines = [self._lines[j] for j in keep]
            self._keys = [self._keys[j] for j in keep]
            self._changed()
        return removed

    def pop_first(self, name: str) -> str | None:
        """Remove the first line of ``name`` and return its value."""
        key = header_key(name)
        if key not in self._present:
            return None
        i = self._keys.index(key)
        del self._keys[i]
        line = self._lines.pop(i)
        self._changed()
        return _value_of(line)

    def copy(self) -> Headers:
        """A copy that can be changed independently."""
        h = object.__new__(Headers)
        h._keys = list(self._keys)
        h._lines = list(self._lines)
        h._raws = None if self._raws is None else list(self._raws)
        h._present = set(self._present)
        h._cache = {}
        h._dirty = self._dirty
        return h

    def serialize(self) -> str:
        """The header lines, each ending in CRLF; lines never edited are
        written as received."""
        lines = self._raws if self._raws is not None else self._lines
        return "\r\n".join(lines) + "\r\n" if lines else ""
