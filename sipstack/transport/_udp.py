"""The UDP transport: a non-blocking socket read by ``loop.add_reader``.

asyncio's datagram endpoints hand over one datagram per pass of the event
loop; under load that costs several times the parsing itself.  This reader
drains up to ``udp_batch`` datagrams per wake-up with ``recvfrom_into``
into one preallocated buffer, which is as cheap as uvloop's and works on
every loop that supports ``add_reader`` (the default selector loops and
uvloop; not the Windows proactor).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable

__all__ = ["UdpSocket"]

log = logging.getLogger("sipstack.transport")

# Larger than any UDP payload (65,507 bytes over IPv4), so a datagram that
# fills it entirely cannot be a valid message.
_BUFFER = 65_536
_RCVBUF = 4 << 20


class UdpSocket:
    """One bound UDP socket; every datagram read goes to ``on_datagram``."""

    __slots__ = ("_batch", "_buf", "_loop", "_on_datagram", "_sock", "_view", "local", "v6")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        host: str,
        port: int,
        on_datagram: Callable[[UdpSocket, bytes, tuple[str, int]], None],
        batch: int,
    ) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            # A smaller kernel buffer only means more drops under bursts.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF)
            sock.setblocking(False)
            sock.bind((host, port))
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._loop = loop
        self._on_datagram = on_datagram
        self._batch = batch
        self._buf = bytearray(_BUFFER)
        self._view = memoryview(self._buf)
        addr = sock.getsockname()
        self.local: tuple[str, int] = (addr[0], addr[1])
        #: Whether this is an IPv6 socket.
        self.v6 = family == socket.AF_INET6
        loop.add_reader(sock.fileno(), self._readable)

    def _readable(self) -> None:
        recv = self._sock.recvfrom_into
        buf, view, deliver = self._buf, self._view, self._on_datagram
        for _ in range(self._batch):
            try:
                n, addr = recv(buf)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                # An ICMP error queued on the socket; the datagram it refers
                # to is lost either way and retransmission covers it.
                log.debug("UDP %s: %s", self.local, exc)
                continue
            if n >= _BUFFER:
                log.info("dropped an oversized datagram from %s", addr)
                continue
            try:
                deliver(self, bytes(view[:n]), (addr[0], addr[1]))
            except Exception:
                # One bad datagram must not stop the reader.
                log.exception("error handling a datagram from %s", addr)

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None:
        """Send one datagram; a full socket buffer drops it (the
        transaction layer retransmits), other errors raise ``OSError``."""
        try:
            self._sock.sendto(data, addr)
        except (BlockingIOError, InterruptedError):
            log.info("UDP send buffer full, dropped %d bytes to %s", len(data), addr)

    def close(self) -> None:
        """Stop reading and close the socket."""
        if self._sock.fileno() >= 0:
            self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
