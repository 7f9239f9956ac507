"""asyncio transports: UDP, TCP and TLS over IPv4 and IPv6 (RFC 3261 §18).

The :class:`TransportManager` owns an endpoint's sockets: it listens,
reuses connections keyed by remote address and transport, closes idle and
stalled connections, bounds how many there are, stamps ``received`` and
``rport`` into the Via of incoming requests (RFC 3581), answers CRLF
keep-alive pings (RFC 5626) and turns away what cannot be parsed.  The
pure §18 rules (where a response goes, where a request goes) are plain
functions beside it.
"""

from ._common import (
    RELIABLE,
    TRANSPORTS,
    Destination,
    Flow,
    ListenSpec,
    TransportConfig,
    default_port,
    destination_for_request,
    destination_for_response,
    host_for_via,
    is_ip,
    normalize_host,
    parse_listen,
    stamp_via,
)
from ._manager import Listener, TransportManager
from ._stream import Connection, ConnectionClosed
from ._udp import UdpSocket

__all__ = [
    "RELIABLE",
    "TRANSPORTS",
    "Connection",
    "ConnectionClosed",
    "Destination",
    "Flow",
    "ListenSpec",
    "Listener",
    "TransportConfig",
    "TransportManager",
    "UdpSocket",
    "default_port",
    "destination_for_request",
    "destination_for_response",
    "host_for_via",
    "is_ip",
    "normalize_host",
    "parse_listen",
    "stamp_via",
]
