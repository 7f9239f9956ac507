"""Lexical helpers shared by the header grammars: quoted strings, top-level
comma splitting and generic parameters (RFC 3261 §25.1, §7.3.1)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from itertools import repeat
from operator import attrgetter
from typing import Any
from urllib.parse import unquote as _pct_decode

from ..errors import SIPParseError, SIPUsageError

__all__ = ["Params", "parse_params", "quote", "split_commas", "unquote"]


def _ro(slot: str, doc: str) -> Any:
    """A read-only attribute backed by a private slot; the getter is C code,
    so reading it costs no more than a plain attribute."""
    return property(attrgetter(slot), doc=doc)


_TOKEN_ONLY = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
# gen-value = token / host / quoted-string; hosts add ":" "[" "]" for IPv6.
_GEN_VALUE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~:\[\]]+")
# *( SEMI generic-param ) with unquoted values, validated in one linear match:
# every repetition starts at a ";" and no class below contains ";", "=" or
# whitespace, so there is exactly one way to match.
_PARAMS_PLAIN = re.compile(
    r"[ \t]*(?:;[ \t]*[A-Za-z0-9\-.!%*_+`'~]+(?:[ \t]*=[ \t]*[A-Za-z0-9\-.!%*_+`'~:\[\]]+)?[ \t]*)*"
)
# The same without whitespace, which is how nearly everyone writes them and
# matches in fewer steps.
_PARAMS_TIGHT = re.compile(r"(?:;[A-Za-z0-9\-.!%*_+`'~]+(?:=[A-Za-z0-9\-.!%*_+`'~:\[\]]+)?)*")
_ESCAPE = re.compile(r"\\(.)", re.S)


def quoted_end(text: str, start: int) -> int:
    """Index just past the quoted-string that opens at ``text[start]``."""
    i = start + 1
    n = len(text)
    while True:
        j = text.find('"', i)
        if j < 0:
            raise SIPParseError("unterminated quoted string")
        # A quote is escaped when an odd number of backslashes precede it.
        k = j - 1
        while k >= i and text[k] == "\\":
            k -= 1
        if (j - 1 - k) % 2 == 0:
            return j + 1
        i = j + 1
        if i >= n:
            raise SIPParseError("unterminated quoted string")


def quoted_end_all(text: str) -> None:
    """Check that every quoted string in ``text`` is terminated."""
    i = text.find('"')
    while i >= 0:
        i = text.find('"', quoted_end(text, i))


_LIST_SPECIAL = re.compile(r'[",<]')


def unquote(text: str) -> str:
    """The content of a quoted-string (with its quotes), escapes resolved;
    anything not quoted is returned unchanged."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        inner = text[1:-1]
        return _ESCAPE.sub(r"\1", inner) if "\\" in inner else inner
    return text


_NEEDS_PAIR = re.compile(r'[\\"\x00-\x08\x0b\x0c\x0e-\x1f\x7f]')


def quote(text: str) -> str:
    """``text`` as a quoted-string: ``"``, ``\\`` and control characters
    become quoted-pairs (RFC 3261 §25.1); CR and LF cannot be carried."""
    if "\r" in text or "\n" in text:
        raise SIPUsageError("CR and LF cannot appear in a quoted string")
    return '"' + _NEEDS_PAIR.sub(lambda m: "\\" + m.group(), text) + '"'


def split_commas(value: str) -> list[str]:
    """Split a header value at the commas that separate list elements, not at
    commas inside quoted strings or ``<...>``; elements are stripped and empty
    ones dropped."""
    if "," not in value:
        if '"' in value:
            quoted_end_all(value)
        v = value.strip(" \t")
        return [v] if v else []
    if '"' not in value and "<" not in value:
        return [p for p in (s.strip(" \t") for s in value.split(",")) if p]
    out: list[str] = []
    start = 0
    i = 0
    search = _LIST_SPECIAL.search
    while (m := search(value, i)) is not None:
        j = m.start()
        c = value[j]
        if c == '"':
            i = quoted_end(value, j)
        elif c == "<":
            k = value.find(">", j)
            if k < 0:
                raise SIPParseError("unterminated <...> in header value")
            i = k + 1
        else:
            part = value[start:j].strip(" \t")
            if part:
                out.append(part)
            start = i = j + 1
    part = value[start:].strip(" \t")
    if part:
        out.append(part)
    return out


def _split_semis(text: str) -> list[str]:
    if '"' not in text:
        return text.split(";")
    out: list[str] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            i = quoted_end(text, i)
            continue
        if c == ";":
            out.append(text[start:i])
            start = i + 1
        i += 1
    out.append(text[start:])
    return out


def plain_find(text: str, low: str) -> tuple[str, str | None] | None:
    """The first parameter named ``low`` (lower case) in ``text``, as
    :meth:`Params._find` would find it, without splitting ``text``.

    ``text`` must be ``;name[=value]`` parameters already validated, with no
    whitespace, no quotes and no ``%`` (which could hide a name behind an
    escape), and ASCII (so lowering keeps every index).  Then every ``;``
    starts a parameter and names hold no ``=``: a ``;low`` followed by
    ``=``, ``;`` or the end is exactly such a parameter.
    """
    if not low or ";" in low or "=" in low:
        # Not a name a parameter can have; a search could match across parameters.
        return None
    ltext = text.lower()
    key = ";" + low
    n = len(key)
    i = ltext.find(key)
    while i >= 0:
        j = i + n
        c = ltext[j : j + 1]
        if c == "=":
            k = text.find(";", j)
            return text[i + 1 : j], text[j + 1 :] if k < 0 else text[j + 1 : k]
        if c == ";" or not c:
            return text[i + 1 : j], None
        i = ltext.find(key, j)
    return None


class Params:
    """An immutable, ordered set of ``;name=value`` parameters.

    Names compare case-insensitively; values are kept as written (a quoted
    value keeps its quotes, so serialising gives the original text back).
    :meth:`get` returns values with quotes removed.  A parameter without a
    value (``;lr``) has the value ``None``.
    """

    __slots__ = ("_it", "_text")

    # Parsed parameters keep their text, already validated, and split it
    # only when they are listed (_all): validating a message needs no split
    # at all, and looking up one parameter in plain text (no spaces or
    # escapes) is a search in the text (plain_find).
    _it: tuple[tuple[str, str | None], ...] | None
    _text: str

    def __init__(self, items: Iterable[tuple[str, str | None]] = ()) -> None:
        pairs = tuple(items)
        for name, val in pairs:
            if not _TOKEN_ONLY.fullmatch(name):
                raise SIPUsageError(f"parameter name {name!r} is not a token")
            if val is not None and not (_GEN_VALUE.fullmatch(val) or _is_quoted(val)):
                raise SIPUsageError(
                    f"parameter value {val!r} must be a token, host or quoted string"
                )
        self._it = pairs
        self._text = ""

    @classmethod
    def _trusted(cls, items: tuple[tuple[str, str | None], ...]) -> Params:
        self = object.__new__(cls)
        self._it = items
        self._text = ""
        return self

    @classmethod
    def _lazy(cls, text: str) -> Params:
        """Parameters from ``;a=b;c`` text that has been validated and holds
        no quoted value."""
        self = object.__new__(cls)
        self._it = None
        self._text = text
        return self

    def _all(self) -> tuple[tuple[str, str | None], ...]:
        it = self._it
        if it is None:
            text = self._text
            if " " in text or "\t" in text:
                items: list[tuple[str, str | None]] = []
                for part in text.split(";")[1:]:
                    name, eq, val = part.partition("=")
                    items.append((name.strip(" \t"), val.strip(" \t") if eq else None))
                it = tuple(items)
            else:
                # Nothing to strip: the splitting runs in C.
                it = tuple(
                    [
                        (name, val if eq else None)
                        for name, eq, val in map(str.partition, text.split(";")[1:], repeat("="))
                    ]
                )
            self._it = it
        return it

    def _find(self, name: str) -> tuple[str, str | None] | None:
        # Parameter lists are short: a scan beats building a dict.
        low = name.lower()
        items = self._it
        if items is None:
            text = self._text
            if " " not in text and "\t" not in text and "%" not in text and text.isascii():
                return plain_find(text, low)
            items = self._all()
        for item in items:
            n = item[0]
            if n == low or n.lower() == low or ("%" in n and _pct_decode(n).lower() == low):
                return item
        return None

    def get(self, name: str, default: str | None = None) -> str | None:
        """The value of parameter ``name`` unquoted, ``default`` when absent
        (and ``None`` for a parameter present without a value)."""
        item = self._find(name)
        if item is None:
            return default
        v = item[1]
        return unquote(v) if v and v[0] == '"' else v

    def raw(self, name: str) -> str | None:
        """The value of ``name`` exactly as written (quotes kept)."""
        item = self._find(name)
        return None if item is None else item[1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._find(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str | None]]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __bool__(self) -> bool:
        return bool(self._all())

    def names(self) -> list[str]:
        """Parameter names in order, as written."""
        return [n for n, _ in self._all()]

    def with_param(self, name: str, value: str | None = None) -> Params:
        """A copy with ``name`` set to ``value`` (replacing it, or appended)."""
        low = name.lower()
        items = [(n, v) for n, v in self._all() if n.lower() != low]
        if value is not None and not _GEN_VALUE.fullmatch(value) and not _is_quoted(value):
            value = quote(value)
        items.append((name, value))
        return Params(items)

    def without(self, *names: str) -> Params:
        """A copy without the parameters ``names``."""
        low = {name.lower() for name in names}
        return Params._trusted(tuple((n, v) for n, v in self._all() if n.lower() not in low))

    def __str__(self) -> str:
        return "".join(f";{n}" if v is None else f";{n}={v}" for n, v in self._all())

    def __repr__(self) -> str:
        return f"Params({list(self._all())!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Params):
            return NotImplemented
        return [(n.lower(), v) for n, v in self._all()] == [(n.lower(), v) for n, v in other._all()]

    def __hash__(self) -> int:
        return hash(tuple((n.lower(), v) for n, v in self._all()))


EMPTY_PARAMS = Params._trusted(())


def lazy_params(text: str) -> Params:
    """Params over ``;name=value`` text a fast pattern already matched,
    split only when first read (:data:`EMPTY_PARAMS` for none)."""
    if not text:
        return EMPTY_PARAMS
    params: Params = object.__new__(Params)
    params._it = None
    params._text = text
    return params


def _is_quoted(v: str) -> bool:
    if len(v) < 2 or v[0] != '"':
        return False
    try:
        return quoted_end(v, 0) == len(v)
    except SIPParseError:
        return False


def parse_params(text: str, what: str) -> Params:
    """Parse ``;a=b;c;d="q"`` (the leading ``;`` included) into :class:`Params`.

    ``what`` names the element being parsed, for error messages.
    """
    if not text:
        return EMPTY_PARAMS
    if '"' not in text and (_PARAMS_TIGHT.fullmatch(text) or _PARAMS_PLAIN.fullmatch(text)):
        # Validated as a whole: the splitting waits until a parameter is read.
        return Params._lazy(text)
    parts = _split_semis(text)
    if parts[0].strip(" \t"):
        raise SIPParseError(f"bad {what}: unexpected {parts[0].strip()!r} before parameters")
    items: list[tuple[str, str | None]] = []
    for part in parts[1:]:
        name, eq, val = part.partition("=")
        name = name.strip(" \t")
        if not _TOKEN_ONLY.fullmatch(name):
            raise SIPParseError(f"bad {what}: parameter name {name!r} is not a token")
        if not eq:
            items.append((name, None))
            continue
        val = val.strip(" \t")
        if val[:1] == '"':
            if quoted_end(val, 0) != len(val):
                raise SIPParseError(f"bad {what}: text after quoted value of {name}")
        elif not _GEN_VALUE.fullmatch(val):
            raise SIPParseError(f"bad {what}: bad value {val!r} for parameter {name}")
        items.append((name, val))
    return Params._trusted(tuple(items))
