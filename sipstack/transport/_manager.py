"""The transports of one endpoint: listening sockets, the connection table,
and the receive path shared by every transport (parse, answer what cannot
be parsed, stamp the Via, hand over)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections import Counter
from collections.abc import Callable

from ..errors import SIPParseError, SIPUsageError
from ..message import Request, Response, error_response, parse
from ._common import Destination, Flow, ListenSpec, TransportConfig, stamp_via
from ._stream import Connection, ConnectionClosed
from ._udp import UdpSocket

__all__ = ["Listener", "TransportManager"]

log = logging.getLogger("sipstack.transport")

MessageSink = Callable[[Request | Response, Flow], None]
ConnKey = tuple[str, str, int]


class Listener:
    """A listening socket: its transport and the address it is bound to."""

    __slots__ = ("_server", "_udp", "local", "transport")

    def __init__(
        self,
        transport: str,
        local: tuple[str, int],
        *,
        udp: UdpSocket | None = None,
        server: asyncio.Server | None = None,
    ) -> None:
        self.transport = transport
        self.local = local
        self._udp = udp
        self._server = server

    def __repr__(self) -> str:
        return f"Listener({self.transport} {self.local[0]}:{self.local[1]})"


class TransportManager:
    """Owns the sockets of an endpoint.

    Every message that arrives, on any transport, goes to ``on_message``
    with its :class:`Flow`, after the Via of a request got ``received`` /
    ``rport`` (§18.2.1).  What cannot be parsed is dropped with a log line,
    or answered with the error's status when enough of it could be read
    (UDP), or ends its connection (streams).
    """

    def __init__(
        self,
        on_message: MessageSink,
        config: TransportConfig | None = None,
        *,
        tls_server: ssl.SSLContext | None = None,
        tls_client: ssl.SSLContext | None = None,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.on_message = on_message
        self.config = config or TransportConfig()
        self.tls_server = tls_server
        self.tls_client = tls_client
        self.listeners: list[Listener] = []
        #: Counters: ``bad_datagrams``, ``bad_streams``, ``refused_connections`` …
        self.stats: Counter[str] = Counter()
        self._udp: list[UdpSocket] = []
        self._conns: dict[ConnKey, Connection] = {}
        self._all_conns: set[Connection] = set()
        self._connecting: dict[ConnKey, asyncio.Future[Connection]] = {}
        self._sweeper: asyncio.TimerHandle | None = None
        #: Called with each TCP/TLS connection that closed (for whatever
        #: reason), so that what waits for an answer on it can stop waiting.
        self.on_connection_lost: Callable[[Connection], None] | None = None
        self._closing = False

    # -- listening ----------------------------------------------------------
    async def listen(self, spec: ListenSpec) -> Listener:
        """Open a listening socket (port 0 picks a free one)."""
        if spec.transport == "UDP":
            udp = UdpSocket(self.loop, spec.host, spec.port, self._datagram, self.config.udp_batch)
            self._udp.append(udp)
            listener = Listener("UDP", udp.local, udp=udp)
        else:
            ctx = None
            if spec.transport == "TLS":
                if self.tls_server is None:
                    raise SIPUsageError("listening on TLS needs a server SSL context")
                ctx = self.tls_server
            transport = spec.transport
            server = await self.loop.create_server(
                lambda: Connection(self, transport, outbound=False),
                spec.host,
                spec.port,
                ssl=ctx,
                ssl_handshake_timeout=self.config.connect_timeout if ctx else None,
                reuse_address=True,
            )
            addr = server.sockets[0].getsockname()
            listener = Listener(transport, (addr[0], addr[1]), server=server)
        self.listeners.append(listener)
        self._arm_sweeper()
        return listener

    def listener_for(self, transport: str, family_of: str | None = None) -> Listener | None:
        """The first listener of ``transport`` (of the address family of the
        host ``family_of``, when given)."""
        v6 = family_of is not None and ":" in family_of
        for lst in self.listeners:
            if lst.transport == transport and (family_of is None or (":" in lst.local[0]) == v6):
                return lst
        return None

    # -- receiving ----------------------------------------------------------
    def _datagram(self, sock: UdpSocket, data: bytes, addr: tuple[str, int]) -> None:
        if data[:1] in (b"\r", b"\n", b"\x00") and not data.strip(b"\r\n\x00"):
            return  # keep-alive
        reply_to = None
        try:
            msg = parse(data, self.config.limits)
            if isinstance(msg, Request):
                reply_to = stamp_via(msg, addr)
        except SIPParseError as exc:
            self.stats["bad_datagrams"] += 1
            reply = error_response(data, exc)
            log.info(
                "dropped a bad datagram from %s:%d (%s)%s",
                addr[0],
                addr[1],
                exc,
                f", answered {exc.status}" if reply else "",
            )
            if reply is not None:
                with contextlib.suppress(OSError):
                    sock.sendto(reply, addr)
            return
        self.on_message(msg, Flow("UDP", sock.local, addr, None, reply_to))

    def _inbound(self, msg: Request | Response, conn: Connection) -> None:
        if isinstance(msg, Request):
            try:
                stamp_via(msg, conn.remote)
            except SIPParseError as exc:
                self.stats["bad_messages"] += 1
                log.info("bad request on %r: %s", conn, exc)
                reply = error_response(bytes(msg), exc)
                if reply is not None:
                    conn.write(reply)
                return
        self.on_message(msg, conn.flow)

    # -- sending ------------------------------------------------------------
    def send_datagram(self, data: bytes, host: str, port: int) -> Flow:
        """Send over the UDP socket of the address family of ``host`` (an IP
        literal); returns the flow it took."""
        udp = self.udp_socket_for(host)
        udp.sendto(data, (host, port))
        return Flow("UDP", udp.local, (host, port))

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None:
        """:meth:`send_datagram` without the flow (the answering path)."""
        self.udp_socket_for(addr[0]).sendto(data, addr)

    def udp_socket_for(self, host: str) -> UdpSocket:
        """The UDP socket that sends to ``host`` (by address family);
        ``OSError`` when there is none."""
        v6 = ":" in host
        for udp in self._udp:
            if udp.v6 == v6:
                return udp
        raise OSError(f"no UDP socket for {'IPv6' if v6 else 'IPv4'}")

    def connection(self, transport: str, host: str, port: int) -> Connection | None:
        """An open connection to ``host:port`` over ``transport``, if any."""
        conn = self._conns.get((transport, host, port))
        return None if conn is None or conn.closed else conn

    async def connect(
        self, transport: str, host: str, port: int, server_name: str | None = None
    ) -> Connection:
        """The open connection to ``host:port`` (an IP literal), or a new one.
        Concurrent callers share one connection attempt."""
        key = (transport, host, port)
        conn = self.connection(*key)
        if conn is not None:
            return conn
        pending = self._connecting.get(key)
        if pending is None:
            # The attempt is a task of its own, so a caller that gives up
            # (is cancelled) does not cancel it for the others waiting.
            pending = asyncio.ensure_future(self._open(transport, host, port, server_name))
            self._connecting[key] = pending
            pending.add_done_callback(lambda f: self._connect_done(key, f))
        return await asyncio.shield(pending)

    def _connect_done(self, key: ConnKey, fut: asyncio.Future[Connection]) -> None:
        if self._connecting.get(key) is fut:
            del self._connecting[key]
        if not fut.cancelled():
            fut.exception()  # retrieved: every waiter sees it through await

    async def _open(
        self, transport: str, host: str, port: int, server_name: str | None
    ) -> Connection:
        if self._closing:
            raise ConnectionClosed("the transports are closing")
        if len(self._all_conns) >= self.config.max_connections:
            self.stats["refused_connections"] += 1
            raise OSError(f"connection limit of {self.config.max_connections} reached")
        ctx = None
        if transport == "TLS":
            ctx = self.tls_client or ssl.create_default_context()
        _, conn = await asyncio.wait_for(
            self.loop.create_connection(
                lambda: Connection(self, transport, outbound=True),
                host,
                port,
                ssl=ctx,
                server_hostname=(server_name or host) if ctx else None,
            ),
            self.config.connect_timeout,
        )
        if conn.closed:
            raise OSError(f"connection limit of {self.config.max_connections} reached")
        return conn

    async def send(
        self,
        data: bytes,
        dest: Destination,
        *,
        connection: Connection | None = None,
        server_name: str | None = None,
    ) -> Flow:
        """Send ``data`` to ``dest`` (host an IP literal): over ``connection``
        when it is still open, else a reused or new connection (streams) or
        the UDP socket."""
        if dest.transport == "UDP":
            return self.send_datagram(data, dest.host, dest.port)
        conn = connection if connection is not None and not connection.closed else None
        if conn is None:
            conn = await self.connect(dest.transport, dest.host, dest.port, server_name)
        conn.write(data)
        return conn.flow

    # -- the connection table ----------------------------------------------
    def _register(self, conn: Connection) -> bool:
        if self._closing or len(self._all_conns) >= self.config.max_connections:
            self.stats["refused_connections"] += 1
            log.info(
                "refused %s connection from %s: limit reached", conn.transport_name, conn.remote
            )
            return False
        self._all_conns.add(conn)
        self._arm_sweeper()
        # The newest connection to an address wins: it is the one the peer
        # expects answers on.
        self._conns[(conn.transport_name, conn.remote[0], conn.remote[1])] = conn
        return True

    def _unregister(self, conn: Connection) -> None:
        if conn not in self._all_conns:
            return
        self._all_conns.discard(conn)
        key = (conn.transport_name, conn.remote[0], conn.remote[1])
        if self._conns.get(key) is conn:
            del self._conns[key]
        if self.on_connection_lost is not None:
            try:
                self.on_connection_lost(conn)
            except Exception:
                log.exception("connection-lost callback failed")

    @property
    def connections(self) -> int:
        """How many TCP/TLS connections are open."""
        return len(self._all_conns)

    def _arm_sweeper(self) -> None:
        if self._sweeper is None and not self._closing:
            cfg = self.config
            period = max(0.05, min(cfg.idle_timeout, cfg.message_timeout) / 4)
            self._sweeper = self.loop.call_later(period, self._sweep)

    def _sweep(self) -> None:
        """Close idle connections and those stuck on a partial message."""
        self._sweeper = None
        now = self.loop.time()
        cfg = self.config
        for conn in list(self._all_conns):
            if now - conn.last_active > cfg.idle_timeout:
                log.info("closing idle %r", conn)
                self.stats["idle_closed"] += 1
                conn.close()
            elif conn.partial_since and now - conn.partial_since > cfg.message_timeout:
                log.info("closing %r: a message did not complete in time", conn)
                self.stats["stalled_closed"] += 1
                conn.abort()
        self._arm_sweeper()

    # -- shutdown -----------------------------------------------------------
    async def close(self) -> None:
        """Close every listener and connection."""
        self._closing = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        servers = []
        for lst in self.listeners:
            if lst._udp is not None:
                lst._udp.close()
            if lst._server is not None:
                lst._server.close()
                servers.append(lst._server)
        conns = list(self._all_conns)
        for conn in conns:
            conn.close()
        if conns:
            await asyncio.wait([asyncio.ensure_future(c.wait_closed()) for c in conns], timeout=2.0)
            for conn in conns:
                if not conn._lost.done():
                    conn.abort()
        for server in servers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 2.0)
        self.listeners.clear()
        self._udp.clear()
