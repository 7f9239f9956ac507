"""TCP and TLS connections: one asyncio protocol per connection, framed by
the sans-I/O :class:`~sipstack.message.StreamFramer`."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from ..errors import SIPParseError
from ..message import Ping, Pong, StreamFramer
from ._common import Flow

if TYPE_CHECKING:
    from ._manager import TransportManager

__all__ = ["Connection", "ConnectionClosed"]

log = logging.getLogger("sipstack.transport")


class ConnectionClosed(ConnectionError):
    """The connection a message was to go out on is closed."""


class Connection(asyncio.Protocol):
    """One TCP or TLS connection, accepted or opened.

    Messages it frames go to the transport manager; CRLF keep-alive pings
    are answered with a CRLF pong (RFC 5626 §4.4.1).  It closes itself when
    the stream cannot be framed or its peer stops reading.
    """

    def __init__(self, manager: TransportManager, transport: str, outbound: bool) -> None:
        self.manager = manager
        self.transport_name = transport
        self.outbound = outbound
        self.framer = StreamFramer(manager.config.limits)
        self.local: tuple[str, int] = ("", 0)
        self.remote: tuple[str, int] = ("", 0)
        self.last_active = 0.0
        #: When the framer started holding a partial message (0: it holds none).
        self.partial_since = 0.0
        self.closed = False
        self._transport: asyncio.Transport | None = None
        self._lost = asyncio.get_running_loop().create_future()

    # -- asyncio.Protocol ---------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        sock = transport.get_extra_info("sockname")
        self.remote = (peer[0], peer[1]) if peer else ("", 0)
        self.local = (sock[0], sock[1]) if sock else ("", 0)
        self.last_active = self.manager.loop.time()
        if not self.manager._register(self):
            self.closed = True
            transport.abort()

    def data_received(self, data: bytes) -> None:
        now = self.manager.loop.time()
        self.last_active = now
        try:
            events = self.framer.feed(data)
        except SIPParseError as exc:
            log.info("closing %s %s: %s", self.transport_name, self.remote, exc)
            self.manager.stats["bad_streams"] += 1
            self.abort()
            return
        for event in events:
            if isinstance(event, Ping):
                self.write(b"\r\n")
            elif isinstance(event, Pong):
                pass
            else:
                try:
                    self.manager._inbound(event, self)
                except Exception:
                    # A failure above the transport must not take the
                    # connection (and the messages after this one) down.
                    log.exception("error handling a message from %s", self.remote)
            if self.closed:
                return
        if not self.framer.buffered:
            self.partial_since = 0.0
        elif events or not self.partial_since:
            # A message completed in this read, so what is buffered now
            # started now: a busy pipelined connection is not stalled.
            self.partial_since = now

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.manager._unregister(self)
        if not self._lost.done():
            self._lost.set_result(None)

    # -- used by the manager and the endpoint ------------------------------
    @property
    def flow(self) -> Flow:
        """The flow of messages on this connection."""
        return Flow(self.transport_name, self.local, self.remote, self)

    def write(self, data: bytes) -> None:
        """Queue ``data``; raises :class:`ConnectionClosed` when closed.  A
        peer that lets more than ``max_write_buffer`` bytes pile up is cut
        off."""
        t = self._transport
        if self.closed or t is None or t.is_closing():
            raise ConnectionClosed(f"{self.transport_name} connection to {self.remote} is closed")
        t.write(data)
        self.last_active = self.manager.loop.time()
        if t.get_write_buffer_size() > self.manager.config.max_write_buffer:
            log.info("closing %s %s: it does not read", self.transport_name, self.remote)
            self.abort()

    def close(self) -> None:
        """Close after the queued bytes are written."""
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        """Close at once, dropping queued bytes."""
        self.closed = True
        if self._transport is not None:
            self._transport.abort()

    async def wait_closed(self) -> None:
        """Wait until the connection is gone."""
        await self._lost

    def __repr__(self) -> str:
        return f"Connection({self.transport_name} {self.local} <-> {self.remote})"
