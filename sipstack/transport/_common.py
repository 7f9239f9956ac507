"""What the transports share: configuration, the description of where a
message came from or goes to, and the RFC 3261 §18 rules that are pure
functions (Via stamping, response routing, default ports)."""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import SIPUsageError
from ..message import DEFAULT_LIMITS, Limits, Request, SipURI, Via

if TYPE_CHECKING:
    from ._stream import Connection

__all__ = [
    "RELIABLE",
    "TRANSPORTS",
    "Destination",
    "Flow",
    "ListenSpec",
    "TransportConfig",
    "default_port",
    "destination_for_request",
    "destination_for_response",
    "host_for_via",
    "is_ip",
    "normalize_host",
    "parse_listen",
    "stamp_via",
]

#: The transports sipstack speaks, upper case as they appear in a Via.
TRANSPORTS = ("UDP", "TCP", "TLS")
#: Transports on which transactions do not retransmit (RFC 3261 §17.1.1.2).
RELIABLE = frozenset({"TCP", "TLS"})


@dataclass(frozen=True, slots=True)
class TransportConfig:
    """Limits and timeouts of an endpoint's transports.

    ``idle_timeout``
        A connection that carries nothing for this long is closed.
    ``message_timeout``
        A connection that holds part of a message for this long without
        completing it is closed (a slow or stalled peer cannot pin memory).
    ``max_connections``
        Connections (accepted and opened) at once; more are refused.
    ``max_write_buffer``
        Bytes queued to a peer that does not read; past it the connection
        is closed rather than buffered without bound.
    ``connect_timeout``
        Opening a TCP connection and completing a TLS handshake.
    ``mtu_threshold``
        A request larger than this goes over TCP instead of UDP
        (RFC 3261 §18.1.1: 200 bytes below a 1500-byte path MTU).
    ``udp_batch``
        Datagrams read per wake-up of the UDP reader before other work of
        the event loop gets a turn.
    """

    limits: Limits = DEFAULT_LIMITS
    idle_timeout: float = 300.0
    message_timeout: float = 32.0
    max_connections: int = 1024
    max_write_buffer: int = 1 << 20
    connect_timeout: float = 10.0
    mtu_threshold: int = 1300
    udp_batch: int = 64

    def __post_init__(self) -> None:
        if self.idle_timeout <= 0 or self.message_timeout <= 0 or self.connect_timeout <= 0:
            raise SIPUsageError("transport timeouts must be positive")
        if self.max_connections < 1 or self.max_write_buffer < 1 or self.udp_batch < 1:
            raise SIPUsageError("transport limits must be positive")


def default_port(transport: str) -> int:
    """5061 for TLS, 5060 otherwise (RFC 3261 §19.1.2)."""
    return 5061 if transport == "TLS" else 5060


@functools.lru_cache(maxsize=4096)
def normalize_host(host: str) -> str:
    """An IP literal in canonical form without brackets (``[::1]`` ->
    ``::1``); host names lower case.  Cached: the same few peers' hosts come
    back on every message, and ``ipaddress`` is slow."""
    h = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return str(ipaddress.ip_address(h))
    except ValueError:
        return h.lower()


@functools.lru_cache(maxsize=4096)
def is_ip(host: str) -> bool:
    """Whether ``host`` (brackets allowed) is an IP literal."""
    h = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(h)
    except ValueError:
        return False
    return True


def host_for_via(host: str) -> str:
    """An address as it is written in a Via or URI (IPv6 in brackets)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _check_transport_port(transport: str, port: int, lowest: int) -> None:
    if transport not in TRANSPORTS:
        raise SIPUsageError(f"unsupported transport {transport!r}")
    if not lowest <= port <= 65535:
        raise SIPUsageError(f"port {port} out of range")


@dataclass(frozen=True, slots=True)
class Destination:
    """Where to send: a transport, a host (name or IP) and a port."""

    transport: str
    host: str
    port: int

    def __post_init__(self) -> None:
        _check_transport_port(self.transport, self.port, 1)


class Flow:
    """Where a message came from: transport, local and remote address, and
    for streams the connection it arrived on (RFC 5626 calls this a flow).
    Responses to a request go back along its flow (§18.2.2)."""

    __slots__ = ("connection", "local", "reliable", "remote", "reply_to", "transport")

    def __init__(
        self,
        transport: str,
        local: tuple[str, int],
        remote: tuple[str, int],
        connection: Connection | None = None,
        reply_to: tuple[str, int] | None = None,
    ) -> None:
        self.transport = transport
        #: Whether the transport is a stream (no retransmissions).
        self.reliable = transport in RELIABLE
        self.local = local
        self.remote = remote
        self.connection = connection
        #: Where responses to a request that came as a datagram go
        #: (§18.2.2, worked out from its Via on arrival).
        self.reply_to = reply_to

    def __repr__(self) -> str:
        return f"Flow({self.transport} {self.local} <-> {self.remote})"


@dataclass(frozen=True, slots=True)
class ListenSpec:
    """A socket to listen on: ``udp``, ``tcp`` or ``tls``, host, port."""

    transport: str
    host: str
    port: int

    def __post_init__(self) -> None:
        _check_transport_port(self.transport, self.port, 0)


def parse_listen(text: str) -> ListenSpec:
    """``"udp:127.0.0.1:5060"``, ``"tls:[::1]:5061"``, ``"tcp:0.0.0.0:0"``
    (port 0 picks a free port)."""
    transport, sep, rest = text.partition(":")
    host, sep2, port = rest.rpartition(":")
    if not sep or not sep2 or not host or not (port.isascii() and port.isdigit()):
        raise SIPUsageError(f"listen address {text!r} is not TRANSPORT:HOST:PORT")
    bracketed = host.startswith("[") or host.endswith("]")
    if bracketed and not (host.startswith("[") and host.endswith("]") and is_ip(host)):
        raise SIPUsageError(f"listen address {text!r}: bad IPv6 reference {host!r}")
    if not bracketed and ":" in host:
        raise SIPUsageError(f"listen address {text!r}: write an IPv6 address in brackets")
    return ListenSpec(transport.upper(), normalize_host(host), int(port))


def stamp_via(request: Request, source: tuple[str, int]) -> tuple[str, int] | None:
    """RFC 3261 §18.2.1 and RFC 3581 §4: mark the top Via of a request
    received from ``source`` with ``received`` (when the sent-by host is
    not the source address, or ``rport`` asks for it) and ``rport=PORT``.

    Returns where responses to the request go over UDP (§18.2.2: the
    source address, and the source port with rport or the sent-by port
    without), or None when the Via names a ``maddr``.
    """
    via = request.top_via
    rport = via.rport_requested
    src_host, src_port = source
    if via.maddr is not None:
        reply = None
    elif rport:
        reply = source
    else:
        reply = (src_host, via.port or default_port(via.transport))
        host = via.host
        if (host == src_host or normalize_host(host) == src_host) and via.received in (
            None,
            src_host,
        ):
            return reply
    request.set_top_via(via.stamped(src_host, src_port if rport else None))
    return reply


def destination_for_response(via: Via, transport: str) -> Destination:
    """RFC 3261 §18.2.2: where a response goes by the top Via of its
    request (stamped on arrival) when it is a datagram or its connection is
    gone: ``maddr`` if present, else the ``received`` address (or sent-by
    host), and the ``rport`` port (or sent-by port, or the default)."""
    maddr = via.maddr
    if maddr is not None:
        return Destination(transport, normalize_host(maddr), via.port or default_port(transport))
    host = via.received or via.host
    port = via.rport or via.port or default_port(transport)
    return Destination(transport, normalize_host(host), port)


def destination_for_request(request: Request) -> Destination:
    """Where a request goes next (RFC 3261 §8.1.2, RFC 3263 without DNS
    lookups of SRV/NAPTR): the first Route if it is a loose router, else
    the Request-URI; its ``maddr``, port and ``transport`` parameter; sips
    means TLS."""
    routes = request.routes
    first = routes[0].uri if routes else None
    uri = first if isinstance(first, SipURI) and first.lr else request.uri
    if not isinstance(uri, SipURI):
        raise SIPUsageError(f"cannot send to a {uri.scheme}: URI without a proxy")
    tparam = uri.transport
    if uri.secure:
        transport = "TLS"
    elif tparam is None:
        transport = "UDP"
    else:
        transport = tparam.upper()
        if transport not in TRANSPORTS:
            raise SIPUsageError(f"unsupported transport {tparam!r} in {uri}")
    host = uri.maddr or uri.host
    return Destination(transport, normalize_host(host), uri.port or default_port(transport))
