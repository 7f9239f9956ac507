"""Building requests and responses (RFC 3261 §8.1.1, §8.2.6)."""

from __future__ import annotations

import os
import re
import secrets
import threading
from collections.abc import Iterable

from ..errors import SIPParseError, SIPUsageError
from . import _abnf
from ._address import Address, parse_address
from ._headers import Headers
from ._lex import quote
from ._message import Request, Response
from ._uri import URI
from ._values import Via

__all__ = [
    "error_response",
    "make_request",
    "make_response",
    "new_branch",
    "new_call_id",
    "new_tag",
]

MAGIC_COOKIE = "z9hG4bK"


class _RandomPool:
    """Bytes from the operating system's CSPRNG, fetched a page at a time:
    an endpoint makes a tag or branch per message, and one system call per
    4 KiB costs far less than one per tag."""

    __slots__ = ("_buf", "_lock", "_pos")

    def __init__(self) -> None:
        self._buf = b""
        self._pos = 0
        # Two threads must never be handed the same bytes.
        self._lock = threading.Lock()

    def hex(self, nbytes: int) -> str:
        with self._lock:
            pos = self._pos
            if pos + nbytes > len(self._buf):
                self._buf, pos = secrets.token_bytes(4096), 0
            self._pos = pos + nbytes
            return self._buf[pos : pos + nbytes].hex()

    def reset(self) -> None:
        """Forget the buffered bytes (a forked child must not reuse its
        parent's)."""
        self._buf, self._pos = b"", 0
        self._lock = threading.Lock()


_random = _RandomPool()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_random.reset)


def new_branch() -> str:
    """A fresh Via branch with the RFC 3261 magic cookie (§8.1.1.7)."""
    return MAGIC_COOKIE + _random.hex(10)


def new_tag() -> str:
    """A fresh From/To tag with 48 bits of cryptographic randomness (§19.3)."""
    return _random.hex(6)


def new_call_id(host: str | None = None) -> str:
    """A fresh, globally unique Call-ID (§8.1.1.4)."""
    ident = secrets.token_hex(12)
    return ident if host is None else f"{ident}@{host}"


def _address(value: Address | str, what: str) -> Address:
    if isinstance(value, Address):
        return value
    if isinstance(value, str):
        try:
            return parse_address(value, what)
        except Exception as exc:
            raise SIPUsageError(f"bad {what} address {value!r}: {exc}") from None
    raise SIPUsageError(f"{what} must be an Address or a string")


def make_request(
    method: str,
    uri: URI | str,
    *,
    from_addr: Address | str,
    to_addr: Address | str,
    call_id: str | None = None,
    cseq: int = 1,
    via: Via | str | None = None,
    contact: Address | str | None = None,
    max_forwards: int = 70,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    content_type: str | None = None,
) -> Request:
    """A new request with the headers RFC 3261 §8.1.1 requires.

    A From without a tag gets a fresh one.  ``via`` may be left out when the
    transport adds it; a Via without a branch gets a fresh branch.
    """
    frm = _address(from_addr, "From")
    if frm.tag is None:
        frm = frm.with_tag(new_tag())
    to = _address(to_addr, "To")
    lines: list[tuple[str, str]] = []
    if via is not None:
        v = via if isinstance(via, Via) else None
        text = str(via)
        if v is not None and v.branch is None:
            text = str(v.with_param("branch", new_branch()))
        lines.append(("Via", text))
    if not 0 <= max_forwards <= 255:
        raise SIPUsageError("Max-Forwards must be 0..255")
    lines += [
        ("Max-Forwards", str(max_forwards)),
        ("From", str(frm)),
        ("To", str(to)),
        ("Call-ID", call_id or new_call_id()),
        ("CSeq", f"{cseq} {method}"),
    ]
    if contact is not None:
        lines.append(("Contact", str(_address(contact, "Contact"))))
    if content_type is not None:
        lines.append(("Content-Type", content_type))
    lines += list(headers)
    return Request(method, uri, lines, body)


def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    content_type: str | None = None,
    copy_record_route: bool = False,
) -> Response:
    """A response to ``request`` (RFC 3261 §8.2.6): Via lines, From, To,
    Call-ID and CSeq copied; ``to_tag`` added to a To without a tag (never
    to a 100); Timestamp copied into a 100 (§8.2.6.1); Record-Route copied
    when ``copy_record_route`` (dialog-creating responses, §12.1.1)."""
    h = request.headers
    # The request's lines are copied as they are (they passed the parser's
    # or the builder's checks), which is most of the cost of a response.
    keys = ["via"] * len(via := h._all_lines("via"))
    lines = via
    for key in ("from", "to", "call-id", "cseq"):
        line = h._first_line(key)
        if line is None:
            raise SIPUsageError(f"cannot answer a request without {key}")
        if key == "to" and to_tag is not None and status != 100 and request.to_tag is None:
            if not _abnf.TOKEN.fullmatch(to_tag):
                raise SIPUsageError(f"To tag {to_tag!r} is not a token")
            line = f"{line};tag={to_tag}"
        keys.append(key)
        lines.append(line)
    if status == 100 and (line := h._first_line("timestamp")) is not None:
        keys.append("timestamp")
        lines.append(line)
    if copy_record_route:
        rr = h._all_lines("record-route")
        keys += ["record-route"] * len(rr)
        lines += rr
    extra: list[tuple[str, str]] = list(headers)
    if content_type is not None:
        extra.insert(0, ("Content-Type", content_type))
    if extra:
        more = Headers(extra)
        more.remove("Content-Length")
        keys += more._keys
        lines += more._lines
    if not isinstance(body, bytes | bytearray | memoryview):
        raise SIPUsageError("body must be bytes")
    keys.append("content-length")
    lines.append(f"Content-Length: {len(body)}")
    return Response._assemble(status, reason, Headers._trusted(keys, lines), bytes(body))


# Header names (long and compact) whose lines a response to an unparseable
# request must echo (§8.2.6.2), lower case.
_ECHO = {
    "via": "Via",
    "v": "Via",
    "from": "From",
    "f": "From",
    "to": "To",
    "t": "To",
    "call-id": "Call-ID",
    "i": "Call-ID",
    "cseq": "CSeq",
}
_ECHO_LINE = re.compile(r"[^\x00-\x08\x0a-\x1f\x7f]{1,1024}")
# Any SIP version: a request from a newer one is answered 505 (§8.2.1 is
# silent, but a response in our version tells the sender what we speak).
_REQUEST_LINE = re.compile(r"([A-Za-z]{1,32}) \S{1,4096} SIP/[0-9]{1,3}\.[0-9]{1,3}", re.I)


def error_response(data: bytes, error: SIPParseError) -> bytes | None:
    """The bytes of a response to a request that failed to parse, or None
    when it did not get far enough to be answered.

    RFC 3261 §8.2 wants malformed requests answered (400, or the status the
    error carries: 413, 414, 505, 513 …) rather than silently dropped, but
    a response needs the request's start line, Via, From, To, Call-ID and
    CSeq.  This reads them leniently from the raw bytes, echoes them
    verbatim (they passed a control-character check) and never answers an
    ACK.  The detail of the error goes in a Warning header (code 399).
    """
    head = bytes(data[:16384]).split(b"\r\n\r\n", 1)[0]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.split("\r\n")
    while lines and not lines[0]:
        lines.pop(0)
    if not lines:
        return None
    m = _REQUEST_LINE.fullmatch(lines[0])
    if m is None or m.group(1).upper() == "ACK":
        return None
    found: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        canon = _ECHO.get(name.strip().lower())
        if canon is None or not colon:
            continue
        value = value.strip()
        if not _ECHO_LINE.fullmatch(value):
            return None
        found.setdefault(canon, []).append(value)
    if any(len(found.get(k, ())) != 1 for k in ("From", "To", "Call-ID", "CSeq")):
        return None
    if "Via" not in found:
        return None
    to = found["To"][0]
    if ";tag=" not in to.replace(" ", "").lower():
        to = f"{to};tag={new_tag()}"
    out = [f"SIP/2.0 {error.status} {error.reason}"]
    out += [f"Via: {v}" for v in found["Via"]]
    out += [
        f"From: {found['From'][0]}",
        f"To: {to}",
        f"Call-ID: {found['Call-ID'][0]}",
        f"CSeq: {found['CSeq'][0]}",
        f"Warning: 399 sipstack {quote(_one_line(str(error))[:200])}",
        "Content-Length: 0",
        "",
        "",
    ]
    return "\r\n".join(out).encode("utf-8")


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")
