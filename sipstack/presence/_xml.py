"""Shared XML plumbing: the one safe way in (bounded, DTD-free parsing), the
one way out (a small writer with exact escaping), and the value types the
three formats share (xs:dateTime, xs:language, unsigned integers).

Why a hand-written writer instead of ``ElementTree.tostring``: the stdlib
serialiser chooses its own namespace prefixes (or needs a process-global
``register_namespace``), and it writes a carriage return in text content
literally, which every XML parser then turns into a line feed (XML 1.0 §2.11).
Ours writes ``&#13;`` so that text survives a round trip exactly.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from ._errors import PresenceError, PresenceUsageError

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_ELEMENTS",
    "DEFAULT_MAX_SIZE",
    "XML_LANG",
    "Node",
    "check_datetime",
    "check_text",
    "clean_text",
    "format_datetime",
    "is_language",
    "parse_datetime",
    "parse_unsigned",
    "parse_xml",
    "require_text",
    "serialize",
    "strip_or_none",
]

DEFAULT_MAX_SIZE = 64 * 1024
"""Largest body, in bytes, a decoder looks at (checked before parsing)."""

DEFAULT_MAX_ELEMENTS = 4096
"""Most elements a decoded document may contain."""

DEFAULT_MAX_DEPTH = 32
"""Deepest element nesting a decoded document may have; real presence
documents stay under ten levels."""

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# XML 1.0 §2.2, production [2] Char: everything else cannot appear in a
# document at all, not even as a character reference.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# xs:language, the type of xml:lang (RFC 3066 shape, as XML Schema gives it).
_LANGUAGE = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")

# xs:dateTime.  ASCII digits only: ``\d`` would also accept other scripts'
# digits, which int() happily converts.
_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]+))?(Z|[+-][0-9]{2}:[0-9]{2})?"
)

_UNSIGNED = re.compile(r"\+?[0-9]{1,20}")


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def parse_xml(
    data: bytes,
    *,
    what: str,
    max_size: int,
    max_elements: int,
    max_depth: int,
) -> Element:
    """Parse an untrusted body into an element tree, or raise PresenceError.

    The size is checked before any parsing.  DTDs are refused outright, which
    also refuses every entity declaration (the billion-laughs bomb) and every
    external reference.  Only UTF-8 is accepted: the bytes are decoded here,
    so an encoding declaration inside the document cannot switch the parser
    to another charset.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise PresenceUsageError(f"{what} body must be bytes, not {type(data).__name__}")
    size = memoryview(data).nbytes
    if size > max_size:
        raise PresenceError(
            f"{what} body of {size} bytes exceeds the limit of {max_size}",
            status=413,
            reason="Request Entity Too Large",
        )
    try:
        text = bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PresenceError(f"{what} body is not UTF-8: {exc.reason}") from None
    try:
        root = fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise PresenceError(f"{what} body uses a forbidden XML feature: {exc!r}") from None
    except ParseError as exc:
        raise PresenceError(f"{what} body is not well-formed XML: {exc}") from None
    except (ValueError, LookupError) as exc:
        # Anything else the parser may throw on odd input still belongs to
        # the error contract.
        raise PresenceError(f"{what} body could not be parsed: {exc}") from None
    _check_shape(root, what=what, max_elements=max_elements, max_depth=max_depth)
    return root


def _check_shape(root: Element, *, what: str, max_elements: int, max_depth: int) -> None:
    # An explicit stack, not recursion: the depth is what is being checked.
    count = 0
    stack: list[tuple[Element, int]] = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        count += 1
        if count > max_elements:
            raise PresenceError(f"{what} body has more than {max_elements} elements")
        if depth > max_depth:
            raise PresenceError(f"{what} body nests elements deeper than {max_depth}")
        stack.extend((child, depth + 1) for child in element)


def strip_or_none(text: str | None) -> str | None:
    """Text content with surrounding white space removed; None when empty."""
    if text is None:
        return None
    text = text.strip()
    return text or None


def is_language(text: str) -> bool:
    """True when *text* is a well-formed xs:language value."""
    return _LANGUAGE.fullmatch(text) is not None


def parse_datetime(text: str, what: str) -> _dt.datetime:
    """An xs:dateTime as an aware UTC datetime.

    A value without a zone offset is read as UTC (XML Schema leaves it
    "local"; UTC is the only reading two hosts can agree on).  Fractions
    beyond microseconds are truncated.  Anything else raises PresenceError.
    """
    m = _DATETIME.fullmatch(text.strip())
    if m is None:
        raise PresenceError(f"{what}: {text[:40]!r} is not an xs:dateTime")
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        if zone is None or zone == "Z":
            tz: _dt.tzinfo = _dt.UTC
        else:
            sign = -1 if zone[0] == "-" else 1
            hours, minutes = int(zone[1:3]), int(zone[4:6])
            if hours > 14 or minutes > 59:
                raise ValueError("zone offset out of range")
            tz = _dt.timezone(sign * _dt.timedelta(hours=hours, minutes=minutes))
        value = _dt.datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tz
        )
        return value.astimezone(_dt.UTC)
    except (ValueError, OverflowError) as exc:
        raise PresenceError(f"{what}: {text[:40]!r} is not a valid time: {exc}") from None


def parse_unsigned(text: str, what: str, *, maximum: int = 2**64 - 1) -> int:
    """A non-negative decimal integer no larger than *maximum*."""
    stripped = text.strip()
    if _UNSIGNED.fullmatch(stripped) is None:
        raise PresenceError(f"{what}: {text[:40]!r} is not a non-negative integer")
    value = int(stripped)
    if value > maximum:
        raise PresenceError(f"{what}: {value} exceeds {maximum}")
    return value


# ---------------------------------------------------------------------------
# Validation of values we are asked to send
# ---------------------------------------------------------------------------


def check_text(value: object, what: str) -> str:
    """Refuse a non-string or a string XML 1.0 cannot carry; return it."""
    if not isinstance(value, str):
        raise PresenceUsageError(f"{what} must be a str, not {type(value).__name__}")
    bad = _NOT_XML_CHAR.search(value)
    if bad is not None:
        raise PresenceUsageError(
            f"{what} contains U+{ord(bad.group()):04X}, which XML 1.0 cannot carry"
        )
    return value


def clean_text(value: object, what: str) -> str | None:
    """Validate and normalise an optional text value: None stays None,
    surrounding white space is removed (decoders strip too, so every value
    survives a round trip exactly) and an empty result becomes None."""
    if value is None:
        return None
    text = check_text(value, what).strip()
    return text or None


def require_text(value: object, what: str) -> str:
    """Like clean_text, for a value that must be present."""
    text = clean_text(value, what)
    if text is None:
        raise PresenceUsageError(f"{what} must not be empty")
    return text


def check_datetime(value: object, what: str) -> _dt.datetime:
    """Refuse anything but an aware datetime that UTC can represent."""
    if not isinstance(value, _dt.datetime):
        raise PresenceUsageError(f"{what} must be a datetime, not {type(value).__name__}")
    if value.utcoffset() is None:
        raise PresenceUsageError(f"{what} must be timezone-aware")
    try:
        value.astimezone(_dt.UTC)
    except OverflowError:
        raise PresenceUsageError(f"{what} is out of range in UTC") from None
    return value


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def format_datetime(value: _dt.datetime) -> str:
    """An aware datetime as xs:dateTime in UTC (``...Z``)."""
    utc = value.astimezone(_dt.UTC)
    text = (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
    )
    if utc.microsecond:
        text += f".{utc.microsecond:06d}"
    return text + "Z"


@dataclass(slots=True)
class Node:
    """One element to write: a prefixed tag, attributes in order, and either
    children or text."""

    tag: str
    attrs: list[tuple[str, str]] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)
    text: str | None = None


def _escape_text(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def _escape_attr(text: str) -> str:
    # Literal tab, CR and LF in an attribute value are normalised to spaces by
    # the reader (XML 1.0 §3.3.3); character references are not.
    return _escape_text(text).replace('"', "&quot;").replace("\t", "&#9;").replace("\n", "&#10;")


def _write(node: Node, depth: int, out: list[str]) -> None:
    indent = "  " * depth
    out.append(f"{indent}<{node.tag}")
    for name, value in node.attrs:
        out.append(f' {name}="{_escape_attr(value)}"')
    if node.text is not None:
        out.append(f">{_escape_text(node.text)}</{node.tag}>\n")
    elif node.children:
        out.append(">\n")
        for child in node.children:
            _write(child, depth + 1, out)
        out.append(f"{indent}</{node.tag}>\n")
    else:
        out.append("/>\n")


def serialize(root: Node) -> bytes:
    """The UTF-8 document for *root*, with an XML declaration."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n']
    _write(root, 0, out)
    return "".join(out).encode("utf-8")
