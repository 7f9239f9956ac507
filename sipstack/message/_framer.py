"""Stream framing for TCP, TLS and WebSocket-less streams (RFC 3261 §18.3).

Theory of operation
-------------------
Bytes arrive in arbitrary chunks.  Between messages the framer skips CRLF
keep-alives (RFC 5626 §4.4.1): a double CRLF is a *ping*, a single CRLF a
*pong*.  A message begins at the first other byte; once its header section
is complete it is parsed (so a bad start line or header section is found
before any body is awaited) and its Content-Length, mandatory on streams,
says how many body bytes to wait for.  Nothing is ever buffered beyond the
configured message size: a peer that sends more without completing a message
gets an error, and the connection should be closed.

After an error the stream cannot be re-synchronised, so every later call
raises the same error.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import MessageTooLarge, SIPParseError
from ._limits import DEFAULT_LIMITS, Limits
from ._message import Message, Request, Response, _parse_head

__all__ = ["Ping", "Pong", "StreamFramer"]


@dataclass(frozen=True, slots=True)
class Ping:
    """A CRLFCRLF keep-alive ping arrived; a server answers with a CRLF pong."""


@dataclass(frozen=True, slots=True)
class Pong:
    """A single CRLF arrived between messages (a keep-alive pong)."""


PING = Ping()
PONG = Pong()


class StreamFramer:
    """Turns a byte stream into SIP messages and keep-alive events.

    >>> framer = StreamFramer()
    >>> for event in framer.feed(chunk):
    ...     ...  # Request, Response, Ping or Pong
    """

    __slots__ = ("_buf", "_error", "_half_crlf", "_limits", "_pending", "_scan")

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self._limits = limits
        self._buf = bytearray()
        self._scan = 0  # offset from which the end of the head is searched
        self._pending: tuple[Message, int, int] | None = None  # msg, head end, body length
        self._error: SIPParseError | None = None
        self._half_crlf = False  # a lone CRLF was reported as a pong last time

    @property
    def buffered(self) -> int:
        """How many bytes are held waiting for the rest of a message."""
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Request | Response | Ping | Pong]:
        """Add ``data`` and return every event it completes, in order.

        Raises :class:`~sipstack.errors.SIPParseError` when the stream cannot
        be framed; the connection should then be closed (after a 400 when the
        error carries one and a response can be routed).
        """
        if self._error is not None:
            raise self._error
        buf = self._buf
        buf += data
        out: list[Request | Response | Ping | Pong] = []
        try:
            self._drain(buf, out)
        except SIPParseError as exc:
            self._error = exc
            buf.clear()
            raise
        return out

    def _drain(self, buf: bytearray, out: list[Request | Response | Ping | Pong]) -> None:
        limits = self._limits
        pos = 0
        try:
            while True:
                pending = self._pending
                if pending is None:
                    # Keep-alives between messages.
                    while buf.startswith(b"\r\n", pos):
                        if self._half_crlf:
                            # Completes a ping whose first CRLF came alone
                            # and was reported as a pong.
                            out.append(PING)
                            self._half_crlf = False
                            pos += 2
                        elif buf.startswith(b"\r\n\r\n", pos):
                            out.append(PING)
                            pos += 4
                        elif len(buf) - pos == 2:
                            out.append(PONG)
                            self._half_crlf = True
                            pos += 2
                        elif len(buf) - pos == 3 and buf[pos + 2] == 13:
                            break  # "\r\n\r" so far: wait for the byte that decides
                        else:
                            # A lone CRLF; whatever follows starts a message.
                            out.append(PONG)
                            pos += 2
                    if len(buf) - pos < 4 and buf.startswith(b"\r", pos):
                        return
                    if pos >= len(buf):
                        return
                    self._half_crlf = False
                    start = max(pos, self._scan)
                    end = buf.find(b"\r\n\r\n", start)
                    if end < 0:
                        if len(buf) - pos > limits.max_message_size:
                            raise MessageTooLarge(
                                f"no complete header section within {limits.max_message_size} bytes"
                            )
                        self._scan = max(pos, len(buf) - 3)
                        return
                    msg = _parse_head(buf, pos, end, limits)
                    cl = msg._content_length
                    if cl is None:
                        raise SIPParseError("Content-Length is mandatory on stream transports")
                    if end + 4 - pos + cl > limits.max_message_size:
                        raise MessageTooLarge(f"message of {end + 4 - pos + cl} bytes")
                    pending = self._pending = (msg, end - pos, cl)
                    # Rebase so the pending message starts at offset 0.
                    del buf[:pos]
                    pos = 0
                msg, head_len, cl = pending
                total = head_len + 4 + cl
                if len(buf) - pos < total:
                    self._scan = 0
                    return
                raw = bytes(buf[pos : pos + total])
                msg._raw = raw
                msg._body = raw[head_len + 4 :]
                out.append(msg)  # type: ignore[arg-type]
                pos += total
                self._pending = None
                self._scan = pos
        finally:
            if pos:
                del buf[:pos]
                self._scan = max(0, self._scan - pos)
