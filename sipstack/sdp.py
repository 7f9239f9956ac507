"""Session descriptions (SDP, RFC 8866 / RFC 4566) and the offer/answer model
(RFC 3264), sans-I/O.

SIP bodies stay bytes everywhere in the stack; this module is a helper for
applications that want to build or inspect offers.

Model
    A :class:`SessionDescription` holds the origin (``o=``), session name
    (``s=``), connection (``c=``), timing (``t=``), session attributes
    (``a=``, ordered ``(name, value)`` pairs, ``None`` for a flag) and a tuple
    of :class:`Media` sections (``m=``).  Every other line (``i= u= e= p= b=
    r= z= k=`` and unknown letters) is kept verbatim in ``extra`` as
    ``(letter, value)`` pairs.  All classes are frozen and validate on
    construction: a CR, LF or NUL inside a value is refused with
    :class:`~sipstack.errors.SIPUsageError`, so nothing we emit can smuggle
    in lines.

Parsing
    :func:`parse_sdp` accepts CRLF or LF line ends, blank lines, runs of
    spaces between fields and lines it does not understand, but it is
    bounded (size, lines, media sections) and raises nothing but
    :class:`SDPError` for any input.

Serialising
    ``bytes(desc)`` writes the lines in the order of the RFC 8866 §5 grammar,
    CRLF-terminated.  ``extra`` lines are stored already sorted into that
    order (``r=`` lines after all ``t=`` lines; unknown letters just before
    the ``a=`` lines), so ``parse_sdp(bytes(d)) == d`` for every ``d``.

Offer/answer
    :func:`make_offer` and :func:`make_answer` build descriptions from
    :class:`Media` "capabilities" (see :func:`audio_media` and
    :func:`desktop_sharing_media`); :func:`hold` and :func:`resume` build
    re-offers (RFC 3264 §8.4).
"""

from __future__ import annotations

import itertools
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from .errors import SIPParseError, SIPUsageError

__all__ = [
    "Connection",
    "Media",
    "Origin",
    "SDPError",
    "SessionDescription",
    "audio_media",
    "desktop_sharing_media",
    "hold",
    "make_answer",
    "make_offer",
    "parse_sdp",
    "resume",
]

_MAX_NUMBER = 2**64 - 1  # o= and t= numbers are 64-bit (NTP-sized) values
_DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_TOKEN = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+")  # RFC 8866 §9 token
_NOT_IN_WORD = re.compile(r"[ \t\r\n\0\ud800-\udfff]")
_NOT_IN_TEXT = re.compile(r"[\r\n\0\ud800-\udfff]")
_FIELD_SEP = re.compile(r"[ \t]+")
# Grammar order of the lines kept in ``extra`` (RFC 8866 §5); other letters
# sort last.  Session: ``iuep`` go before c=, ``b`` between c= and t=, the
# rest after t=.  Media: ``i`` before c=, the rest after.
_SESSION_ORDER = "iuepbrzk"
_MEDIA_ORDER = "ibk"

_Attribute = tuple[str, str | None]


class SDPError(SIPParseError):
    """A session description from a peer is malformed or exceeds a limit.

    The status is 400: the body does not follow its grammar.  A well-formed
    offer the application cannot accept is a different matter (488, decided
    by the application).
    """


# -- validation ---------------------------------------------------------------


def _word(value: str, what: str) -> None:
    if not value or _NOT_IN_WORD.search(value):
        raise SIPUsageError(
            f"{what} must be a non-empty field without spaces or controls: {value!r}"
        )


def _text(value: str, what: str) -> None:
    if _NOT_IN_TEXT.search(value):
        raise SIPUsageError(f"{what} cannot contain CR, LF or NUL: {value!r}")


def _number(value: int, what: str, maximum: int = _MAX_NUMBER, minimum: int = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise SIPUsageError(f"{what} must be an integer from {minimum} to {maximum}: {value!r}")


def _attributes(pairs: Iterable[_Attribute]) -> tuple[_Attribute, ...]:
    out = tuple((name, value) for name, value in pairs)
    for name, value in out:
        if not _TOKEN.fullmatch(name):
            raise SIPUsageError(f"attribute name must be a token: {name!r}")
        if value is not None:
            _text(value, f"a={name} value")
    return out


def _extras(
    pairs: Iterable[tuple[str, str]], order: str, reserved: str
) -> tuple[tuple[str, str], ...]:
    out = tuple((letter, value) for letter, value in pairs)
    for letter, value in out:
        if len(letter) != 1 or not letter.isascii() or not letter.isalpha() or letter in reserved:
            raise SIPUsageError(f"not a free line type here: {letter!r}")
        _text(value, f"{letter}= value")
    return tuple(sorted(out, key=lambda p: order.index(p[0]) if p[0] in order else len(order)))


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)  # normalising a frozen dataclass field


class _Attributes:
    """Look-ups shared by session- and media-level attribute lists."""

    __slots__ = ()
    attributes: tuple[_Attribute, ...]

    def values(self, name: str) -> tuple[str | None, ...]:
        """The values of every ``a=name`` line, in order (``None`` for a flag)."""
        return tuple(v for n, v in self.attributes if n == name)

    def attribute(self, name: str) -> str | None:
        """The value of the first ``a=name:value`` line (``None`` when absent or a flag)."""
        return next((v for n, v in self.attributes if n == name), None)

    @property
    def direction(self) -> str | None:
        """The direction attribute at this level (sendrecv, sendonly, recvonly,
        inactive), or ``None`` when there is none here."""
        return next((n for n, _ in self.attributes if n in _DIRECTIONS), None)


# -- model ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connection:
    """A ``c=`` line: network type, address type and address (a multicast
    address keeps its ``/ttl`` suffix)."""

    net_type: str
    addr_type: str
    address: str

    def __post_init__(self) -> None:
        _word(self.net_type, "network type")
        _word(self.addr_type, "address type")
        _word(self.address, "connection address")

    @classmethod
    def of(cls, address: str) -> Connection:
        """``IN IP6`` for an address containing a colon, ``IN IP4`` otherwise."""
        return cls("IN", "IP6" if ":" in address else "IP4", address)

    def __str__(self) -> str:
        return f"{self.net_type} {self.addr_type} {self.address}"


@dataclass(frozen=True, slots=True)
class Origin:
    """The ``o=`` line.  ``(username, session_id, net_type, addr_type,
    address)`` identifies the session; ``version`` grows with every change
    (RFC 3264 §8)."""

    username: str
    session_id: int
    version: int
    net_type: str
    addr_type: str
    address: str

    def __post_init__(self) -> None:
        _word(self.username, "origin username")
        _number(self.session_id, "session id")
        _number(self.version, "session version")
        _word(self.net_type, "network type")
        _word(self.addr_type, "address type")
        _word(self.address, "origin address")

    def __str__(self) -> str:
        return (
            f"{self.username} {self.session_id} {self.version} "
            f"{self.net_type} {self.addr_type} {self.address}"
        )


@dataclass(frozen=True, slots=True)
class Media(_Attributes):
    """One media section: ``m=<media_type> <port>[/<port_count>] <proto>
    <formats…>`` and its lines.  ``connection`` overrides the session's;
    port 0 marks a rejected or disabled stream (RFC 3264 §6)."""

    media_type: str
    port: int
    proto: str
    formats: tuple[str, ...]
    port_count: int = 1
    connection: Connection | None = None
    attributes: tuple[_Attribute, ...] = ()
    extra: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        _word(self.media_type, "media type")
        _number(self.port, "port", 65_535)
        _word(self.proto, "transport protocol")
        _number(self.port_count, "port count", 65_535, 1)
        _set(self, "formats", tuple(self.formats))
        for fmt in self.formats:
            _word(fmt, "media format")
        _set(self, "attributes", _attributes(self.attributes))
        _set(self, "extra", _extras(self.extra, _MEDIA_ORDER, "mcav"))

    @property
    def rtpmap(self) -> dict[str, str]:
        """Payload type → encoding (``"PCMU/8000"``) from the ``a=rtpmap`` lines."""
        pairs = (v.split(" ", 1) for v in self.values("rtpmap") if v and " " in v)
        return {pt: enc.strip() for pt, enc in pairs}

    def with_direction(self, direction: str) -> Media:
        """A copy with ``direction`` as its only direction attribute (in the
        place of the first one it had, else last)."""
        if direction not in _DIRECTIONS:
            raise SIPUsageError(f"not a direction: {direction!r}")
        out = [(n, v) for n, v in self.attributes if n not in _DIRECTIONS]
        first = next((i for i, (n, _) in enumerate(self.attributes) if n in _DIRECTIONS), None)
        out.insert(len(out) if first is None else first, (direction, None))
        return replace(self, attributes=tuple(out))

    def _lines(self) -> list[str]:
        port = str(self.port) if self.port_count == 1 else f"{self.port}/{self.port_count}"
        lines = [" ".join(("m=" + self.media_type, port, self.proto, *self.formats))]
        lines += [f"{k}={v}" for k, v in self.extra if k == "i"]
        if self.connection is not None:
            lines.append(f"c={self.connection}")
        lines += [f"{k}={v}" for k, v in self.extra if k != "i"]
        return lines + _attribute_lines(self.attributes)


@dataclass(frozen=True, slots=True)
class SessionDescription(_Attributes):
    """A whole SDP body.  ``bytes(desc)`` serialises it."""

    origin: Origin
    session_name: str = "-"
    connection: Connection | None = None
    timing: tuple[tuple[int, int], ...] = ((0, 0),)
    attributes: tuple[_Attribute, ...] = ()
    media: tuple[Media, ...] = ()
    extra: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        _text(self.session_name, "session name")
        _set(self, "timing", tuple((start, stop) for start, stop in self.timing))
        for start, stop in self.timing:
            _number(start, "start time")
            _number(stop, "stop time")
        _set(self, "attributes", _attributes(self.attributes))
        _set(self, "media", tuple(self.media))
        _set(self, "extra", _extras(self.extra, _SESSION_ORDER, "vosctam"))

    def direction_of(self, media: Media) -> str:
        """The direction in force for ``media``: its own attribute, else the
        session-level one, else sendrecv (RFC 3264 §5.1)."""
        return media.direction or self.direction or "sendrecv"

    def connection_of(self, media: Media) -> Connection | None:
        """Where ``media`` is received: its own ``c=`` line, else the session's."""
        return media.connection or self.connection

    def serialize(self) -> bytes:
        """The description as CRLF-terminated UTF-8 lines."""
        extra = [(k, f"{k}={v}") for k, v in self.extra]
        lines = ["v=0", f"o={self.origin}", f"s={self.session_name}"]
        lines += [line for k, line in extra if k in "iuep"]
        if self.connection is not None:
            lines.append(f"c={self.connection}")
        lines += [line for k, line in extra if k == "b"]
        lines += [f"t={start} {stop}" for start, stop in self.timing]
        lines += [line for k, line in extra if k not in "iuepb"]
        lines += _attribute_lines(self.attributes)
        for media in self.media:
            lines += media._lines()
        return "".join(line + "\r\n" for line in lines).encode()

    __bytes__ = serialize


def _attribute_lines(attributes: Iterable[_Attribute]) -> list[str]:
    return [f"a={n}" if v is None else f"a={n}:{v}" for n, v in attributes]


# -- parsing ----------------------------------------------------------------------


def parse_sdp(
    data: bytes, *, max_size: int = 65_536, max_lines: int = 1_024, max_media: int = 64
) -> SessionDescription:
    """Parse an SDP body; raise :class:`SDPError` if it is malformed or
    exceeds ``max_size`` bytes, ``max_lines`` lines or ``max_media`` media
    sections."""
    data = bytes(data)
    if len(data) > max_size:
        raise SDPError(f"session description larger than {max_size} bytes")
    if b"\0" in data:
        raise SDPError("NUL in session description")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SDPError("session description is not UTF-8") from None
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    lines = [line for line in lines if line]  # tolerate blank lines, a final CRLF included
    if len(lines) > max_lines:
        raise SDPError(f"more than {max_lines} lines in session description")
    for line in lines:
        if len(line) < 2 or line[1] != "=" or not (line[0].isascii() and line[0].isalpha()):
            raise SDPError(f"not a <type>=<value> line: {line[:40]!r}")
        if "\r" in line:
            raise SDPError(f"bare CR in line {line[:40]!r}")
    if not lines or lines[0] != "v=0":
        raise SDPError("session description must start with v=0")
    starts = [i for i, line in enumerate(lines) if line[0] == "m"]
    if len(starts) > max_media:
        raise SDPError(f"more than {max_media} media sections")
    bounds = [*starts, len(lines)]
    try:
        media = tuple(_parse_media(lines[a:b]) for a, b in itertools.pairwise(bounds))
        return _parse_session(lines[1 : bounds[0]], media)
    except SIPUsageError as exc:
        # Values that break the model's rules are peer errors here.
        raise SDPError(str(exc)) from exc


def _fields(value: str, count: int, what: str, *, more: bool = False) -> list[str]:
    fields = _FIELD_SEP.split(value.strip(" \t"))
    if len(fields) < count or (len(fields) > count and not more):
        raise SDPError(f"{what} needs {count} fields: {value[:60]!r}")
    return fields


def _int(text: str, what: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 20:
        raise SDPError(f"{what} is not a number: {text[:40]!r}")
    return int(text)


def _attribute(value: str) -> _Attribute:
    name, colon, rest = value.partition(":")
    return (name, rest if colon else None)


def _connection(value: str) -> Connection:
    return Connection(*_fields(value, 3, "c="))


def _parse_session(lines: list[str], media: tuple[Media, ...]) -> SessionDescription:
    origin: Origin | None = None
    name: str | None = None
    connection: Connection | None = None
    timing: list[tuple[int, int]] = []
    attributes: list[_Attribute] = []
    extra: list[tuple[str, str]] = []
    seen: set[str] = set()
    for line in lines:
        key, value = line[0], line[2:]
        if key in "osc":
            if key in seen:
                raise SDPError(f"more than one {key}= line in the session section")
            seen.add(key)
        if key == "o":
            user, sid, version, net, addr_type, address = _fields(value, 6, "o=")
            origin = Origin(
                user, _int(sid, "session id"), _int(version, "version"), net, addr_type, address
            )
        elif key == "s":
            name = value
        elif key == "c":
            connection = _connection(value)
        elif key == "t":
            start, stop = _fields(value, 2, "t=")
            timing.append((_int(start, "start time"), _int(stop, "stop time")))
        elif key == "a":
            attributes.append(_attribute(value))
        elif key == "v":
            raise SDPError("more than one v= line")
        else:
            extra.append((key, value))
    if origin is None or name is None:
        raise SDPError("session description needs an o= and an s= line")
    return SessionDescription(
        origin, name, connection, tuple(timing), tuple(attributes), media, tuple(extra)
    )


def _parse_media(lines: list[str]) -> Media:
    media_type, port_text, proto, *formats = _fields(lines[0][2:], 3, "m=", more=True)
    port, slash, count = port_text.partition("/")
    connection: Connection | None = None
    attributes: list[_Attribute] = []
    extra: list[tuple[str, str]] = []
    for line in lines[1:]:
        key, value = line[0], line[2:]
        if key == "c":
            if connection is not None:
                raise SDPError("more than one c= line in a media section")
            connection = _connection(value)
        elif key == "a":
            attributes.append(_attribute(value))
        elif key == "v":
            raise SDPError("v= line inside a media section")
        else:
            extra.append((key, value))
    return Media(
        media_type,
        _int(port, "port"),
        proto,
        tuple(formats),
        _int(count, "port count") if slash else 1,
        connection,
        tuple(attributes),
        tuple(extra),
    )


# -- building and offer/answer ---------------------------------------------------------

# name → (payload type, rtpmap encoding, fmtp parameters); static types per RFC 3551.
_CODECS: dict[str, tuple[int, str, str | None]] = {
    "pcmu": (0, "PCMU/8000", None),
    "pcma": (8, "PCMA/8000", None),
    "g722": (9, "G722/8000", None),
    "opus": (111, "opus/48000/2", None),
    "telephone-event": (101, "telephone-event/8000", "0-16"),
}
# Static payload types an offer may use without an a=rtpmap (RFC 3551 §6).
_STATIC_RTPMAP = {
    "0": "pcmu/8000", "3": "gsm/8000", "4": "g723/8000", "8": "pcma/8000",
    "9": "g722/8000", "18": "g729/8000", "26": "jpeg/90000", "31": "h261/90000",
    "32": "mpv/90000", "34": "h263/90000",
}  # fmt: skip
# RFC 4145 §4.1: the answerer takes the other role; for actpass it may pick.
_SETUP_ANSWER = {
    "actpass": "active",
    "active": "passive",
    "passive": "active",
    "holdconn": "holdconn",
}
_NEGOTIATED = frozenset(("rtpmap", "fmtp", "setup", *_DIRECTIONS))
_DIRECTION_OF = {
    (True, True): "sendrecv",
    (True, False): "sendonly",
    (False, True): "recvonly",
    (False, False): "inactive",
}
_HOLD = {
    "sendrecv": "sendonly",
    "sendonly": "sendonly",
    "recvonly": "inactive",
    "inactive": "inactive",
}
_RESUME = {
    "sendrecv": "sendrecv",
    "sendonly": "sendrecv",
    "recvonly": "recvonly",
    "inactive": "recvonly",
}


def audio_media(
    port: int,
    codecs: Sequence[str] = ("PCMU", "PCMA", "telephone-event"),
    *,
    ptime: int | None = 20,
    direction: str = "sendrecv",
) -> Media:
    """An ``m=audio <port> RTP/AVP …`` section with an ``a=rtpmap`` per codec
    (PCMU, PCMA, G722, opus, telephone-event), in order of preference."""
    formats: list[str] = []
    attributes: list[_Attribute] = []
    for codec in codecs:
        if codec.lower() not in _CODECS:
            raise SIPUsageError(f"unknown codec {codec!r}; known: {', '.join(_CODECS)}")
        pt, encoding, fmtp = _CODECS[codec.lower()]
        formats.append(str(pt))
        attributes.append(("rtpmap", f"{pt} {encoding}"))
        if fmtp is not None:
            attributes.append(("fmtp", f"{pt} {fmtp}"))
    if ptime is not None:
        attributes.append(("ptime", str(ptime)))
    media = Media("audio", port, "RTP/AVP", tuple(formats), attributes=tuple(attributes))
    return media if direction == "sendrecv" else media.with_direction(direction)


def desktop_sharing_media(
    port: int, *, setup: str = "actpass", direction: str = "sendrecv"
) -> Media:
    """An application-sharing section, ``m=application <port> TCP/RDP *``.

    Remote desktop runs over TCP, so the section follows RFC 4145 (TCP-based
    media: ``a=setup`` and ``a=connection:new``) and, like BFCP's ``TCP/BFCP
    *`` (RFC 8856), has no payload formats (``*``).  ``TCP/RDP`` is not an
    IANA-registered proto: both ends must agree on it, and an answerer that
    does not know it rejects the stream with port 0.
    """
    attributes = (("setup", setup), ("connection", "new"))
    media = Media("application", port, "TCP/RDP", ("*",), attributes=attributes)
    return media if direction == "sendrecv" else media.with_direction(direction)


def _origin(address: str, username: str, session_id: int | None, version: int | None) -> Origin:
    # RFC 8866 §5.2 suggests an NTP timestamp but needs only uniqueness; a
    # random id keeps the core off the clock and leaks nothing about it.
    sid = secrets.randbits(62) if session_id is None else session_id
    conn = Connection.of(address)
    return Origin(
        username, sid, sid if version is None else version, conn.net_type, conn.addr_type, address
    )


def make_offer(
    address: str,
    media: Iterable[Media],
    *,
    username: str = "-",
    session_id: int | None = None,
    version: int | None = None,
    session_name: str = "-",
) -> SessionDescription:
    """An offer (RFC 3264 §5) from us at ``address`` with the given media
    sections.  ``session_id`` defaults to a random number and ``version`` to
    the session id."""
    return SessionDescription(
        _origin(address, username, session_id, version),
        session_name,
        Connection.of(address),
        media=tuple(media),
    )


def make_answer(
    offer: SessionDescription,
    address: str,
    media: Iterable[Media],
    *,
    username: str = "-",
    session_id: int | None = None,
    version: int | None = None,
) -> SessionDescription:
    """The answer (RFC 3264 §6) to ``offer`` from us at ``address``.

    ``media`` lists what we accept, as :class:`Media` sections with our
    ports.  Each offered stream, in order, is answered by the first of them
    with the same media type and proto and a format in common; otherwise
    (or if the offer disabled it) it is rejected with port 0.  Formats are
    the common ones in our order of preference, with the offer's payload
    numbers and ``rtpmap``/``fmtp`` lines; the direction is the offer's
    mirrored (sendonly ↔ recvonly) and limited by ours; an ``a=setup`` is
    answered per RFC 4145.  For a later answer in the same session pass our
    previous ``session_id`` and an incremented ``version``.
    """
    ours = tuple(media)
    return SessionDescription(
        _origin(address, username, session_id, version),
        "-",
        Connection.of(address),
        offer.timing,  # RFC 3264 §6: the t= line of the answer equals the offer's
        media=tuple(_answer_stream(offer, stream, ours) for stream in offer.media),
    )


def _codec_key(media: Media, fmt: str) -> str:
    if "RTP" not in media.proto.upper():
        return fmt
    encoding = media.rtpmap.get(fmt, "").lower() or _STATIC_RTPMAP.get(fmt, fmt)
    # RFC 8866 §6.6: one channel is the default, so PCMU/8000/1 is PCMU/8000.
    return encoding.removesuffix("/1") if encoding.count("/") == 2 else encoding


def _answer_stream(offer: SessionDescription, stream: Media, ours: Sequence[Media]) -> Media:
    # RFC 3264 §6: a rejected stream keeps its place and a format, port 0.
    rejected = Media(stream.media_type, 0, stream.proto, stream.formats)
    if stream.port == 0:
        return rejected
    offered: dict[str, str] = {}
    for fmt in stream.formats:
        offered.setdefault(_codec_key(stream, fmt), fmt)
    for mine in ours:
        if mine.port == 0 or mine.media_type != stream.media_type:
            continue
        if mine.proto.upper() != stream.proto.upper():
            continue
        common = [offered[k] for k in (_codec_key(mine, f) for f in mine.formats) if k in offered]
        formats = tuple(dict.fromkeys(common))
        if not formats:
            continue
        attributes: list[_Attribute] = [
            (n, v)
            for fmt in formats
            for n, v in stream.attributes
            if n in ("rtpmap", "fmtp") and v is not None and v.split(" ", 1)[0] == fmt
        ]
        attributes += [(n, v) for n, v in mine.attributes if n not in _NEGOTIATED]
        setup = _SETUP_ANSWER.get(stream.attribute("setup") or "")
        if setup is not None:
            attributes.append(("setup", setup))
        theirs, wanted = offer.direction_of(stream), mine.direction or "sendrecv"
        # RFC 3264 §6.1: we send only what they receive, receive only what they send.
        send = theirs in ("sendrecv", "recvonly") and wanted in ("sendrecv", "sendonly")
        receive = theirs in ("sendrecv", "sendonly") and wanted in ("sendrecv", "recvonly")
        direction = _DIRECTION_OF[send, receive]
        if direction != "sendrecv":
            attributes.append((direction, None))
        return Media(
            stream.media_type,
            mine.port,
            stream.proto,
            formats,
            mine.port_count,
            mine.connection,
            tuple(attributes),
        )
    return rejected


def _redirect(desc: SessionDescription, table: dict[str, str]) -> SessionDescription:
    media = []
    for m in desc.media:
        now = desc.direction_of(m)
        media.append(m if m.port == 0 or table[now] == now else m.with_direction(table[now]))
    if media == list(desc.media):
        return desc
    # RFC 3264 §8: a changed description carries the next version.
    origin = replace(desc.origin, version=desc.origin.version + 1)
    return replace(desc, origin=origin, media=tuple(media))


def hold(desc: SessionDescription) -> SessionDescription:
    """The re-offer that puts our last description ``desc`` on hold (RFC 3264
    §8.4): sendrecv streams become sendonly, recvonly ones inactive, and the
    origin version is incremented.  Already on hold: ``desc`` unchanged.
    A version of 2**64 - 1 cannot grow: :class:`SIPUsageError`."""
    return _redirect(desc, _HOLD)


def resume(desc: SessionDescription) -> SessionDescription:
    """The re-offer that takes ``desc`` off hold: sendonly streams become
    sendrecv, inactive ones recvonly, and the origin version is incremented.
    Not on hold: ``desc`` unchanged."""
    return _redirect(desc, _RESUME)
