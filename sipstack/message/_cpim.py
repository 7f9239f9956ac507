"""Common Presence and Instant Messaging message format (RFC 3862,
``message/cpim``), sans-I/O.

A conversation focus that relays a MESSAGE wraps it in CPIM so that every
receiver learns who first sent it: the ``From`` inside the body names the
sender, whatever the SIP From header says.  The layout::

    From: "Alice" <sip:alice@example.com>     message headers
    To: <sip:conversation@example.com>
    DateTime: 2024-05-01T10:00:00+02:00
                                              blank line
    Content-Type: text/plain;charset=utf-8    MIME headers of the body
                                              blank line
    Hi all                                    the body, to the last byte

Lines end in CRLF (a bare LF is read too) and header values are UTF-8.
Values other than From, To and DateTime are kept as written, parameters
included (``Subject:;lang=fr Bonjour`` keeps ``;lang=fr Bonjour``) and
escapes uninterpreted.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

from ..errors import SIPParseError, SIPUsageError
from ._abnf import SCHEME
from ._headers import check_text

__all__ = ["CPIM_CONTENT_TYPE", "CPIMError", "CPIMMessage", "decode_cpim", "encode_cpim"]

CPIM_CONTENT_TYPE = "message/cpim"
"""The media type of :func:`encode_cpim`'s output."""

# RFC 5322 §3.6.8 field-name (printable ASCII but ":"): wider than RFC 3862's
# Name, so that a namespaced name like MyFeatures.VitalMessage fits.
_FIELD_NAME = re.compile(r"[!-9;-~]+")
_URI = re.compile(rf"{SCHEME.pattern}:[^\x00-\x20\x7f<>\"]+")
# RFC 3862 §3.2: From/To = [ Formal-name ] "<" URI ">", Formal-name being a
# quoted String or plain words.
_QUOTED_ADDRESS = re.compile(r'"((?:[^"\\]|\\.)*)"[ \t]*<([^<>]*)>')
_PLAIN_ADDRESS = re.compile(r'([^"<>]*)<([^<>]*)>')
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|.)")
# RFC 3339 §5.6 date-time, ASCII digits only.
_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]+))?(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)
_MESSAGE_FIELDS = frozenset(("from", "to", "datetime"))
_MIME_FIELDS = frozenset(("content-type",))
# RFC 2045 §5.2: the type of a MIME body that does not state one.
_MIME_DEFAULT_TYPE = "text/plain;charset=us-ascii"
_MINUTE = _dt.timedelta(minutes=1)


class CPIMError(SIPParseError):
    """A ``message/cpim`` body is not acceptable: no blank line after a
    header section, a header line without a name, non-UTF-8 header text,
    no From or two, a bad address or DateTime, too many headers, or a body
    over the size limit (``status`` 413)."""


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise SIPUsageError(f"{what} must be a str, not {type(value).__name__}")
    check_text(what, value)
    return value


def _uri(value: object, what: str) -> str:
    if _URI.fullmatch(_text(value, what)) is None:
        raise SIPUsageError(f"{what} {str(value)[:60]!r} is not a URI")
    return str(value)


def _fields(value: object, what: str, reserved: frozenset[str]) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, tuple | list):
        raise SIPUsageError(f"{what} must be a tuple of (name, value) pairs")
    fields = []
    for item in value:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise SIPUsageError(f"{what} must be a tuple of (name, value) pairs")
        name = _text(item[0], f"{what} name")
        if _FIELD_NAME.fullmatch(name) is None:
            raise SIPUsageError(f"{name[:40]!r} is not a header name")
        if name.lower() in reserved:
            raise SIPUsageError(f"{name} is a field of CPIMMessage, not one of its {what}")
        fields.append((name, _text(item[1], f"{name} value").strip(" \t")))
    return tuple(fields)


@dataclass(frozen=True, slots=True)
class CPIMMessage:
    """A ``message/cpim`` message: who sent it to whom and when, then one
    MIME body.

    ``sender`` and ``recipients`` are URIs (``sip:alice@example.com``) and
    ``sender_name`` the sender's display name.  ``datetime`` must be
    timezone-aware.  ``headers`` are the other message headers (``Subject``,
    ``NS``, ``MyFeatures.VitalMessage``...) and ``mime_headers`` the body's
    headers besides Content-Type, both as (name, value) pairs in order.
    Validated on construction: a CR, LF or other control character in any
    text raises :class:`~sipstack.errors.SIPUsageError`.
    """

    sender: str
    recipients: tuple[str, ...] = ()
    datetime: _dt.datetime | None = None
    content_type: str = "text/plain;charset=utf-8"
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    sender_name: str | None = None
    mime_headers: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        _uri(self.sender, "sender")
        if not isinstance(self.recipients, tuple | list):
            raise SIPUsageError("recipients must be a tuple of URIs")
        recipients = tuple(_uri(uri, "recipient") for uri in self.recipients)
        object.__setattr__(self, "recipients", recipients)
        when = self.datetime
        if when is not None:
            if not isinstance(when, _dt.datetime) or when.utcoffset() is None:
                raise SIPUsageError("datetime must be a timezone-aware datetime")
            try:
                _format_datetime(when)
            except OverflowError:
                raise SIPUsageError("datetime is out of range in UTC") from None
        content_type = _text(self.content_type, "content_type").strip(" \t")
        if not content_type:
            raise SIPUsageError("content_type must not be empty")
        object.__setattr__(self, "content_type", content_type)
        if not isinstance(self.body, bytes | bytearray | memoryview):
            raise SIPUsageError(f"body must be bytes, not {type(self.body).__name__}")
        object.__setattr__(self, "body", bytes(self.body))
        object.__setattr__(self, "headers", _fields(self.headers, "headers", _MESSAGE_FIELDS))
        mime = _fields(self.mime_headers, "mime_headers", _MIME_FIELDS)
        object.__setattr__(self, "mime_headers", mime)
        if self.sender_name is not None:
            object.__setattr__(self, "sender_name", _text(self.sender_name, "sender_name") or None)


def _format_datetime(value: _dt.datetime) -> str:
    offset = value.utcoffset()
    if offset is None or offset % _MINUTE:
        # RFC 3339 offsets have no seconds.
        value, offset = value.astimezone(_dt.UTC), _dt.timedelta(0)
    text = value.replace(tzinfo=None).isoformat()
    if not offset:
        return text + "Z"
    minutes = abs(offset) // _MINUTE
    return (
        f"{text}{'-' if offset < _dt.timedelta(0) else '+'}{minutes // 60:02d}:{minutes % 60:02d}"
    )


def _lines(fields: list[tuple[str, str]]) -> str:
    # Parameters follow the colon directly (RFC 3862 §3.1: Subject:;lang=fr).
    return "".join(
        f"{name}:{value}\r\n" if value[:1] in ("", ";") else f"{name}: {value}\r\n"
        for name, value in fields
    )


def encode_cpim(msg: CPIMMessage) -> bytes:
    """Write *msg* as a ``message/cpim`` body."""
    if not isinstance(msg, CPIMMessage):
        raise SIPUsageError(f"encode_cpim() takes a CPIMMessage, not {type(msg).__name__}")
    sender = f"<{msg.sender}>"
    if msg.sender_name is not None:
        name = msg.sender_name.replace("\\", "\\\\").replace('"', '\\"')
        sender = f'"{name}" {sender}'
    message = [("From", sender), *(("To", f"<{uri}>") for uri in msg.recipients)]
    if msg.datetime is not None:
        message.append(("DateTime", _format_datetime(msg.datetime)))
    message += msg.headers
    mime = [("Content-Type", msg.content_type), *msg.mime_headers]
    return f"{_lines(message)}\r\n{_lines(mime)}\r\n".encode() + msg.body


def _read_fields(data: bytes, pos: int, room: int) -> tuple[list[tuple[str, str]], int]:
    fields: list[tuple[str, str]] = []
    while True:
        end = data.find(b"\n", pos)
        if end < 0:
            raise CPIMError("CPIM header section does not end in a blank line")
        line, pos = data[pos:end].removesuffix(b"\r"), end + 1
        if not line:
            return fields, pos
        if len(fields) == room:
            raise CPIMError("CPIM message has too many headers")
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            raise CPIMError("CPIM header is not UTF-8") from None
        name, colon, value = text.partition(":")
        if not colon or _FIELD_NAME.fullmatch(name) is None:
            raise CPIMError(f"CPIM header line {text[:60]!r} has no header name")
        fields.append((name, value.strip(" \t")))


def _unescape(match: re.Match[str]) -> str:
    escape = match.group(1)
    if len(escape) == 5:
        return chr(int(escape[1:], 16))
    if escape in "\"'\\":
        return escape
    raise CPIMError(f"display name has an unknown escape \\{escape}")


def _address(value: str) -> tuple[str | None, str]:
    if m := _QUOTED_ADDRESS.fullmatch(value):
        return _ESCAPE.sub(_unescape, m.group(1)), m.group(2).strip(" \t")
    if m := _PLAIN_ADDRESS.fullmatch(value):
        return m.group(1).strip(" \t") or None, m.group(2).strip(" \t")
    # Liberal: a bare URI without the angle brackets.
    return None, value


def _datetime(value: str) -> _dt.datetime:
    m = _DATETIME.fullmatch(value)
    if m is None:
        raise CPIMError(f"DateTime {value[:40]!r} is not an RFC 3339 date-time")
    year, month, day, hour, minute, second, fraction, sign, zone_h, zone_m = m.groups()
    try:
        offset = _dt.timedelta(hours=int(zone_h or 0), minutes=int(zone_m or 0))
        return _dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int((fraction or "0")[:6].ljust(6, "0")),
            _dt.timezone(-offset if sign == "-" else offset),
        )
    except ValueError as exc:
        raise CPIMError(f"DateTime {value[:40]!r} is not a valid time: {exc}") from None


def decode_cpim(data: bytes, *, max_size: int = 64 * 1024, max_headers: int = 64) -> CPIMMessage:
    """Read a ``message/cpim`` body.

    Display names of recipients are not kept; a body without Content-Type
    reads as MIME's default, ``text/plain;charset=us-ascii``.  Raises
    :class:`CPIMError`, and nothing else, for any bytes it cannot accept.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise SIPUsageError(f"CPIM body must be bytes, not {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_size:
        raise CPIMError(
            f"CPIM body of {len(data)} bytes exceeds the limit of {max_size}",
            status=413,
            reason="Request Entity Too Large",
        )
    message, pos = _read_fields(data, 0, max_headers)
    mime, pos = _read_fields(data, pos, max_headers - len(message))
    known: dict[str, list[str]] = {name: [] for name in _MESSAGE_FIELDS}
    headers = []
    for name, value in message:
        if (values := known.get(name.lower())) is not None:
            values.append(value)
        else:
            headers.append((name, value))
    types = [value for name, value in mime if name.lower() in _MIME_FIELDS]
    if len(known["from"]) != 1 or len(known["datetime"]) > 1 or len(types) > 1:
        raise CPIMError("CPIM message needs one From and at most one DateTime and Content-Type")
    sender_name, sender = _address(known["from"][0])
    try:
        return CPIMMessage(
            sender,
            tuple(_address(value)[1] for value in known["to"]),
            _datetime(known["datetime"][0]) if known["datetime"] else None,
            types[0] if types else _MIME_DEFAULT_TYPE,
            data[pos:],
            tuple(headers),
            sender_name=sender_name,
            mime_headers=tuple(f for f in mime if f[0].lower() not in _MIME_FIELDS),
        )
    except SIPUsageError as exc:
        raise CPIMError(f"CPIM message not acceptable: {exc}") from None
