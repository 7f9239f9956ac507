"""The transport layer over real sockets on the loopback interface (IPv4
and, where it can be bound, IPv6): the pure RFC 3261 §18 / RFC 3581 rules,
UDP, TCP and TLS, the limits of :class:`TransportConfig` and shutdown.

The peers are plain sockets (the ``socket`` module and asyncio streams), so
what is checked here does not depend on sipstack's own sending code.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sipstack.certs import DevCertificates, client_context, server_context, write_dev_certificates
from sipstack.errors import SIPUsageError
from sipstack.message import Limits, Request, Response, make_request, parse, parse_via
from sipstack.transport import (
    Connection,
    ConnectionClosed,
    Destination,
    Flow,
    ListenSpec,
    TransportConfig,
    TransportManager,
    default_port,
    destination_for_request,
    destination_for_response,
    host_for_via,
    is_ip,
    normalize_host,
    parse_listen,
    stamp_via,
)

TIMEOUT = 5.0


def _ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not _ipv6_loopback(), reason="::1 cannot be bound")

HOSTS = [
    pytest.param("127.0.0.1", id="ipv4"),
    pytest.param("::1", id="ipv6", marks=needs_ipv6),
]


# -- messages, written by hand ------------------------------------------------


def request(
    method: str = "OPTIONS",
    *,
    transport: str = "UDP",
    sent_by: str = "client.invalid:5099",
    via_params: str = ";rport",
    call_id: str = "call-1",
    cseq: int = 1,
    to: str = "<sip:bob@example.com>",
    headers: str = "",
    body: bytes = b"",
    content_length: str | None = None,
    with_length: bool = True,
    start: str | None = None,
) -> bytes:
    """The bytes of a request; every part can be spoiled on purpose."""
    start = start or f"{method} sip:bob@example.com SIP/2.0"
    length = str(len(body)) if content_length is None else content_length
    head = (
        f"{start}\r\n"
        f"Via: SIP/2.0/{transport} {sent_by};branch=z9hG4bK{call_id}{via_params}\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:alice@example.com>;tag=a1\r\n"
        f"To: {to}\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} {method}\r\n"
        f"{headers}" + (f"Content-Length: {length}\r\n" if with_length else "") + "\r\n"
    )
    return head.encode() + body


def response(*, transport: str = "UDP", call_id: str = "call-1", status: int = 200) -> bytes:
    return (
        f"SIP/2.0 {status} OK\r\n"
        f"Via: SIP/2.0/{transport} server.invalid:5060;branch=z9hG4bK{call_id}\r\n"
        "From: <sip:alice@example.com>;tag=a1\r\n"
        "To: <sip:bob@example.com>;tag=b1\r\n"
        f"Call-ID: {call_id}\r\n"
        "CSeq: 1 OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def header(data: bytes, name: str) -> list[str]:
    """The values of header ``name`` in a message's header section."""
    head = data.split(b"\r\n\r\n", 1)[0].decode()
    return [
        line.partition(":")[2].strip()
        for line in head.split("\r\n")[1:]
        if line.partition(":")[0].strip().lower() == name.lower()
    ]


# -- the local side: a manager and what it hands over -------------------------


class Sink:
    """The ``on_message`` callback: records ``(message, flow)`` pairs."""

    def __init__(self) -> None:
        self.items: list[tuple[Request | Response, Flow]] = []
        self._queue: asyncio.Queue[tuple[Request | Response, Flow]] = asyncio.Queue()

    def __call__(self, msg: Request | Response, flow: Flow) -> None:
        self.items.append((msg, flow))
        self._queue.put_nowait((msg, flow))

    async def get(self) -> tuple[Request | Response, Flow]:
        return await asyncio.wait_for(self._queue.get(), TIMEOUT)

    async def request(self) -> tuple[Request, Flow]:
        msg, flow = await self.get()
        assert isinstance(msg, Request)
        return msg, flow


MakeManager = Callable[..., Awaitable[tuple[TransportManager, Sink]]]


@pytest.fixture
async def make_manager() -> AsyncIterator[MakeManager]:
    """Creates managers (``config`` and TLS contexts as keywords) and closes
    them all at the end of the test."""
    managers: list[TransportManager] = []

    async def make(
        config: TransportConfig | None = None, **kw: Any
    ) -> tuple[TransportManager, Sink]:
        sink = Sink()
        manager = TransportManager(sink, config, **kw)
        managers.append(manager)
        return manager, sink

    try:
        yield make
    finally:
        for manager in managers:
            await asyncio.wait_for(manager.close(), TIMEOUT)


# -- the remote side: raw sockets and streams ---------------------------------


class Peers:
    """Raw peers, all closed at the end of the test."""

    def __init__(self) -> None:
        self._socks: list[socket.socket] = []
        self._writers: list[asyncio.StreamWriter] = []
        self._servers: list[asyncio.Server] = []

    def udp(self, host: str = "127.0.0.1") -> socket.socket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        self._socks.append(sock)
        sock.setblocking(False)
        sock.bind((host, 0))
        return sock

    def tcp_socket(self, host: str = "127.0.0.1") -> socket.socket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        self._socks.append(sock)
        sock.setblocking(False)
        return sock

    async def tcp(
        self, addr: tuple[str, int], **kw: Any
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(*addr, **kw), TIMEOUT)
        self._writers.append(writer)
        return reader, writer

    async def server(
        self,
        handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
        host: str = "127.0.0.1",
    ) -> int:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._writers.append(writer)  # closed at the end even if still open
            with contextlib.suppress(OSError):
                await handler(reader, writer)

        server = await asyncio.start_server(handle, host, 0)
        self._servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    async def aclose(self) -> None:
        for writer in self._writers:
            writer.close()
        for writer in self._writers:
            with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), TIMEOUT)
        for server in self._servers:
            server.close()
        for sock in self._socks:
            sock.close()


@pytest.fixture
async def peers() -> AsyncIterator[Peers]:
    p = Peers()
    try:
        yield p
    finally:
        await p.aclose()


async def udp_recv(sock: socket.socket) -> tuple[bytes, tuple[str, int]]:
    loop = asyncio.get_running_loop()
    data, addr = await asyncio.wait_for(loop.sock_recvfrom(sock, 65536), TIMEOUT)
    return data, (addr[0], addr[1])


def nothing_queued(sock: socket.socket) -> bool:
    """Whether no datagram waits on the (non-blocking) socket."""
    try:
        sock.recvfrom(65536)
    except BlockingIOError:
        return True
    return False


def addr_of(sock_or_writer: socket.socket | asyncio.StreamWriter) -> tuple[str, int]:
    name = (
        sock_or_writer.getsockname()
        if isinstance(sock_or_writer, socket.socket)
        else sock_or_writer.get_extra_info("sockname")
    )
    return name[0], name[1]


async def read_message(reader: asyncio.StreamReader) -> bytes:
    """One SIP message off a stream (Content-Length framed)."""

    async def read() -> bytes:
        head = await reader.readuntil(b"\r\n\r\n")
        m = re.search(rb"\r\n(?:Content-Length|l)[ \t]*:[ \t]*(\d+)", head, re.IGNORECASE)
        assert m is not None, head
        return head + await reader.readexactly(int(m.group(1)))

    return await asyncio.wait_for(read(), TIMEOUT)


async def read_until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything until the peer closes (EOF or reset)."""
    data = bytearray()

    async def read() -> None:
        while True:
            try:
                chunk = await reader.read(65536)
            except ConnectionResetError:
                return
            if not chunk:
                return
            data.extend(chunk)

    await asyncio.wait_for(read(), TIMEOUT)
    return bytes(data)


async def sock_read_until_closed(sock: socket.socket) -> None:
    loop = asyncio.get_running_loop()

    async def read() -> None:
        while True:
            try:
                if not await loop.sock_recv(sock, 65536):
                    return
            except ConnectionResetError:
                return

    await asyncio.wait_for(read(), TIMEOUT)


async def until(predicate: Callable[[], bool]) -> None:
    """A short bounded poll, for state that has no event (counters)."""

    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), TIMEOUT)


async def write(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(data)
    await asyncio.wait_for(writer.drain(), TIMEOUT)


# =============================================================================
# Pure functions
# =============================================================================


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("udp:127.0.0.1:5060", ListenSpec("UDP", "127.0.0.1", 5060)),
        ("TCP:0.0.0.0:0", ListenSpec("TCP", "0.0.0.0", 0)),
        ("tls:[::1]:5061", ListenSpec("TLS", "::1", 5061)),
        ("Tls:[2001:DB8:0::1]:5061", ListenSpec("TLS", "2001:db8::1", 5061)),
        ("udp:SIP.Example.COM:65535", ListenSpec("UDP", "sip.example.com", 65535)),
    ],
)
def test_parse_listen(text: str, expected: ListenSpec) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "udp",
        "udp:",
        "udp:127.0.0.1",
        "udp:127.0.0.1:",
        "udp::5060",
        "udp:127.0.0.1:abc",
        "udp:127.0.0.1:-1",
        "udp:127.0.0.1:5060x",
        "udp:127.0.0.1: 5060",
        "udp:127.0.0.1:65536",
        "sctp:127.0.0.1:5060",
        "ws:127.0.0.1:5060",
        ":127.0.0.1:5060",
        "127.0.0.1:5060",
    ],
)
def test_parse_listen_rejects(text: str) -> None:
    with pytest.raises(SIPUsageError):
        parse_listen(text)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "udp:127.0.0.1:²",
            id="superscript-digit",
        ),
        pytest.param(
            "tls:[::1:5061",
            id="unbalanced-bracket",
        ),
    ],
)
def test_parse_listen_rejects_malformed_edge_cases(text: str) -> None:
    with pytest.raises(SIPUsageError):
        parse_listen(text)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("::1", "::1"),
        ("[0:0:0:0:0:0:0:1]", "::1"),
        ("2001:DB8::0:1", "2001:db8::1"),
        ("[2001:db8:0:0::1]", "2001:db8::1"),
        ("Proxy.Example.COM", "proxy.example.com"),
        ("localhost", "localhost"),
    ],
)
def test_normalize_host(host: str, expected: str) -> None:
    assert normalize_host(host) == expected


def test_is_ip_and_host_for_via() -> None:
    assert is_ip("127.0.0.1") and is_ip("::1") and is_ip("[::1]")
    assert not is_ip("example.com") and not is_ip("[example.com]") and not is_ip("1.2.3")
    assert host_for_via("::1") == "[::1]"
    assert host_for_via("[::1]") == "[::1]"
    assert host_for_via("127.0.0.1") == "127.0.0.1"
    assert host_for_via("example.com") == "example.com"
    assert default_port("TLS") == 5061
    assert default_port("UDP") == default_port("TCP") == 5060


@pytest.mark.parametrize(
    "kwargs",
    [
        {"idle_timeout": 0},
        {"message_timeout": -1.0},
        {"connect_timeout": 0},
        {"max_connections": 0},
        {"max_write_buffer": 0},
        {"udp_batch": 0},
    ],
)
def test_transport_config_rejects_nonpositive(kwargs: dict[str, float]) -> None:
    with pytest.raises(SIPUsageError):
        TransportConfig(**kwargs)  # type: ignore[arg-type]


def test_destination_and_listen_spec_validate() -> None:
    with pytest.raises(SIPUsageError):
        Destination("SCTP", "127.0.0.1", 5060)
    with pytest.raises(SIPUsageError):
        Destination("UDP", "127.0.0.1", 0)
    with pytest.raises(SIPUsageError):
        Destination("UDP", "127.0.0.1", 65536)
    with pytest.raises(SIPUsageError):
        ListenSpec("UDP", "127.0.0.1", -1)
    assert ListenSpec("UDP", "127.0.0.1", 0).port == 0
    assert Flow("TCP", ("a", 1), ("b", 2)).reliable
    assert Flow("TLS", ("a", 1), ("b", 2)).reliable
    assert not Flow("UDP", ("a", 1), ("b", 2)).reliable


def _req(uri: str, *routes: str) -> Request:
    return make_request(
        "OPTIONS",
        uri,
        from_addr="<sip:alice@example.com>",
        to_addr="<sip:bob@example.com>",
        headers=[("Route", r) for r in routes],
    )


@pytest.mark.parametrize(
    ("uri", "routes", "expected"),
    [
        ("sip:bob@biloxi.example.com", (), ("UDP", "biloxi.example.com", 5060)),
        ("sip:bob@Biloxi.Example.COM:5070", (), ("UDP", "biloxi.example.com", 5070)),
        ("sip:bob@192.0.2.4", (), ("UDP", "192.0.2.4", 5060)),
        ("sip:bob@[2001:db8::4]:5080", (), ("UDP", "2001:db8::4", 5080)),
        ("sips:bob@biloxi.example.com", (), ("TLS", "biloxi.example.com", 5061)),
        ("sips:bob@biloxi.example.com;transport=tcp", (), ("TLS", "biloxi.example.com", 5061)),
        ("sip:bob@biloxi.example.com;transport=tcp", (), ("TCP", "biloxi.example.com", 5060)),
        ("sip:bob@biloxi.example.com;transport=TCP", (), ("TCP", "biloxi.example.com", 5060)),
        ("sip:bob@biloxi.example.com;transport=tls", (), ("TLS", "biloxi.example.com", 5061)),
        ("sip:bob@biloxi.example.com;transport=udp", (), ("UDP", "biloxi.example.com", 5060)),
        ("sip:bob@biloxi.example.com;maddr=192.0.2.9", (), ("UDP", "192.0.2.9", 5060)),
        (
            "sip:bob@biloxi.example.com:5070;maddr=[2001:db8::9];transport=tcp",
            (),
            ("TCP", "2001:db8::9", 5070),
        ),
        # A loose router wins over the Request-URI.
        (
            "sip:bob@biloxi.example.com",
            ("<sip:p1.example.com;lr>",),
            ("UDP", "p1.example.com", 5060),
        ),
        (
            "sip:bob@biloxi.example.com",
            ("<sip:p1.example.com:5070;lr;transport=tcp>, <sip:p2.example.com;lr>",),
            ("TCP", "p1.example.com", 5070),
        ),
        (
            "sip:bob@biloxi.example.com",
            ("<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"),
            ("UDP", "p1.example.com", 5060),
        ),
        (
            "sips:bob@biloxi.example.com",
            ("<sips:p1.example.com;lr>",),
            ("TLS", "p1.example.com", 5061),
        ),
        ("tel:+15551234567", ("<sip:gw.example.com;lr>",), ("UDP", "gw.example.com", 5060)),
        # A strict router (no ;lr) is ignored: the Request-URI decides.
        (
            "sip:bob@biloxi.example.com",
            ("<sip:p1.example.com>",),
            ("UDP", "biloxi.example.com", 5060),
        ),
    ],
)
def test_destination_for_request(
    uri: str, routes: tuple[str, ...], expected: tuple[str, str, int]
) -> None:
    assert destination_for_request(_req(uri, *routes)) == Destination(*expected)


@pytest.mark.parametrize(
    ("uri", "routes"),
    [
        ("tel:+15551234567", ()),
        ("tel:+15551234567", ("<sip:p1.example.com>",)),
        ("sip:bob@biloxi.example.com;transport=sctp", ()),
    ],
)
def test_destination_for_request_rejects(uri: str, routes: tuple[str, ...]) -> None:
    with pytest.raises(SIPUsageError):
        destination_for_request(_req(uri, *routes))


@pytest.mark.parametrize(
    ("via", "transport", "expected"),
    [
        (
            "SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKa;received=192.0.2.5;rport=4000",
            "UDP",
            ("192.0.2.5", 4000),
        ),
        (
            "SIP/2.0/UDP h.example.com:5070;branch=z9hG4bKa;received=192.0.2.5",
            "UDP",
            ("192.0.2.5", 5070),
        ),
        ("SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKa;rport=4000", "UDP", ("10.0.0.1", 4000)),
        # rport without a value (not stamped) does not change the port.
        ("SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKa;rport", "UDP", ("10.0.0.1", 5070)),
        ("SIP/2.0/UDP H.Example.COM;branch=z9hG4bKa", "UDP", ("h.example.com", 5060)),
        ("SIP/2.0/TLS h.example.com;branch=z9hG4bKa", "TLS", ("h.example.com", 5061)),
        ("SIP/2.0/TCP [2001:db8::1]:5080;branch=z9hG4bKa", "TCP", ("2001:db8::1", 5080)),
        (
            "SIP/2.0/UDP [2001:db8::1];branch=z9hG4bKa;received=2001:db8::2;rport=7000",
            "UDP",
            ("2001:db8::2", 7000),
        ),
        # maddr wins over received and rport, with the sent-by port or the default.
        (
            "SIP/2.0/UDP h.example.com:5070;branch=z9hG4bKa;maddr=239.1.1.1;received=192.0.2.5;rport=4000",
            "UDP",
            ("239.1.1.1", 5070),
        ),
        ("SIP/2.0/UDP h.example.com;branch=z9hG4bKa;maddr=239.1.1.1", "UDP", ("239.1.1.1", 5060)),
    ],
)
def test_destination_for_response(via: str, transport: str, expected: tuple[str, int]) -> None:
    assert destination_for_response(parse_via(via), transport) == Destination(transport, *expected)


def _parsed(via_lines: str) -> Request:
    return parse(
        (
            "OPTIONS sip:bob@example.com SIP/2.0\r\n"
            f"{via_lines}\r\n"
            "Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a1\r\n"
            "To: <sip:bob@example.com>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n"
            "Content-Length: 0\r\n\r\n"
        ).encode()
    )  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("via", "source", "stamped", "reply"),
    [
        # The sent-by host differs from the source: received is added.
        (
            "SIP/2.0/UDP client.example.com:5070;branch=z9hG4bKa",
            ("192.0.2.7", 40000),
            "SIP/2.0/UDP client.example.com:5070;branch=z9hG4bKa;received=192.0.2.7",
            ("192.0.2.7", 5070),
        ),
        (
            "SIP/2.0/UDP 10.1.1.1;branch=z9hG4bKa",
            ("192.0.2.7", 40000),
            "SIP/2.0/UDP 10.1.1.1;branch=z9hG4bKa;received=192.0.2.7",
            ("192.0.2.7", 5060),
        ),
        (
            "SIP/2.0/TLS client.example.com;branch=z9hG4bKa",
            ("192.0.2.7", 40000),
            "SIP/2.0/TLS client.example.com;branch=z9hG4bKa;received=192.0.2.7",
            ("192.0.2.7", 5061),
        ),
        # rport: filled with the source port, and received added even though
        # the host matches (RFC 3581 §4).
        (
            "SIP/2.0/UDP 192.0.2.7:5070;branch=z9hG4bKa;rport",
            ("192.0.2.7", 40000),
            "SIP/2.0/UDP 192.0.2.7:5070;branch=z9hG4bKa;received=192.0.2.7;rport=40000",
            ("192.0.2.7", 40000),
        ),
        (
            "SIP/2.0/UDP client.example.com:5070;rport;branch=z9hG4bKa",
            ("192.0.2.7", 40000),
            "SIP/2.0/UDP client.example.com:5070;branch=z9hG4bKa;received=192.0.2.7;rport=40000",
            ("192.0.2.7", 40000),
        ),
        (
            "SIP/2.0/UDP client.example.com:5070;branch=z9hG4bKa;RPORT",
            ("192.0.2.7", 40000),
            "SIP/2.0/UDP client.example.com:5070;branch=z9hG4bKa;received=192.0.2.7;rport=40000",
            ("192.0.2.7", 40000),
        ),
        # Host matches, no rport: nothing changes.
        (
            "SIP/2.0/UDP 192.0.2.7:5070;branch=z9hG4bKa",
            ("192.0.2.7", 40000),
            "SIP/2.0/UDP 192.0.2.7:5070;branch=z9hG4bKa",
            ("192.0.2.7", 5070),
        ),
        (
            "SIP/2.0/UDP [::1];branch=z9hG4bKa",
            ("::1", 40000),
            "SIP/2.0/UDP [::1];branch=z9hG4bKa",
            ("::1", 5060),
        ),
        (
            "SIP/2.0/UDP [0:0::1]:5070;branch=z9hG4bKa",
            ("::1", 40000),
            "SIP/2.0/UDP [0:0::1]:5070;branch=z9hG4bKa",
            ("::1", 5070),
        ),
        # IPv6 sources.
        (
            "SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bKa",
            ("::1", 40000),
            "SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bKa;received=::1",
            ("::1", 5070),
        ),
        (
            "SIP/2.0/UDP [::1]:5070;branch=z9hG4bKa;rport",
            ("::1", 40000),
            "SIP/2.0/UDP [::1]:5070;branch=z9hG4bKa;received=::1;rport=40000",
            ("::1", 40000),
        ),
        # A received/rport the sender put there is replaced, not repeated.
        (
            "SIP/2.0/UDP client.example.com:5070;branch=z9hG4bKa;received=10.9.9.9;rport=1",
            ("192.0.2.7", 40000),
            "SIP/2.0/UDP client.example.com:5070;branch=z9hG4bKa;received=192.0.2.7;rport=40000",
            ("192.0.2.7", 40000),
        ),
        # maddr: responses go there, so there is no reply address.
        (
            "SIP/2.0/UDP client.example.com:5070;branch=z9hG4bKa;maddr=239.1.1.1",
            ("192.0.2.7", 40000),
            "SIP/2.0/UDP client.example.com:5070;branch=z9hG4bKa;maddr=239.1.1.1;received=192.0.2.7",
            None,
        ),
    ],
)
def test_stamp_via(
    via: str, source: tuple[str, int], stamped: str, reply: tuple[str, int] | None
) -> None:
    req = _parsed(f"Via: {via}")
    before = bytes(req)
    assert stamp_via(req, source) == reply
    assert str(req.top_via) == stamped
    assert header(bytes(req), "Via") == [stamped]
    if stamped == via:
        assert bytes(req) == before
    # The stamped message still parses to the same Via.
    assert str(parse(bytes(req)).top_via) == stamped  # type: ignore[union-attr]


def test_stamp_via_keeps_the_other_via_values() -> None:
    req = _parsed(
        "Via: SIP/2.0/UDP client.example.com:5070;branch=z9hG4bKa;rport,"
        ' SIP/2.0/UDP p1.example.com;branch="z9hG4bK,b" , SIP/2.0/TCP p2.example.com;branch=z9hG4bKc\r\n'
        "v: SIP/2.0/UDP p3.example.com;branch=z9hG4bKd"
    )
    assert stamp_via(req, ("192.0.2.7", 40000)) == ("192.0.2.7", 40000)
    assert [str(v) for v in req.vias] == [
        "SIP/2.0/UDP client.example.com:5070;branch=z9hG4bKa;received=192.0.2.7;rport=40000",
        'SIP/2.0/UDP p1.example.com;branch="z9hG4bK,b"',
        "SIP/2.0/TCP p2.example.com;branch=z9hG4bKc",
        "SIP/2.0/UDP p3.example.com;branch=z9hG4bKd",
    ]
    reparsed = parse(bytes(req))
    assert [str(v) for v in reparsed.vias] == [str(v) for v in req.vias]


def test_stamp_via_compact_header() -> None:
    req = _parsed("v: SIP/2.0/UDP client.example.com;branch=z9hG4bKa;rport")
    assert stamp_via(req, ("::1", 6000)) == ("::1", 6000)
    assert (
        str(req.top_via) == "SIP/2.0/UDP client.example.com;branch=z9hG4bKa;received=::1;rport=6000"
    )


_SOURCES = st.sampled_from(["192.0.2.7", "10.0.0.1", "::1", "2001:db8::5"])


@given(
    source_host=_SOURCES,
    source_port=st.integers(1, 65535),
    sent_by=st.sampled_from(["same", "other-ip", "name"]),
    port=st.none() | st.integers(1, 65535),
    transport=st.sampled_from(["UDP", "TCP", "TLS"]),
    rport=st.booleans(),
)
def test_stamp_via_reply_agrees_with_destination_for_response(
    source_host: str,
    source_port: int,
    sent_by: str,
    port: int | None,
    transport: str,
    rport: bool,
) -> None:
    host = {
        "same": host_for_via(source_host),
        "other-ip": "198.51.100.1",
        "name": "ua.example.com",
    }[sent_by]
    text = f"SIP/2.0/{transport} {host}{'' if port is None else f':{port}'};branch=z9hG4bKa"
    text += ";rport" if rport else ""
    req = _parsed(f"Via: {text}")
    reply = stamp_via(req, (source_host, source_port))
    via = req.top_via
    expected_port = source_port if rport else (port or default_port(transport))
    assert reply == (source_host, expected_port)
    if rport or sent_by != "same":
        assert via.received == source_host
    else:
        assert via.received is None
    assert via.rport == (source_port if rport else None)
    dest = destination_for_response(via, transport)
    assert (dest.host, dest.port) == reply


def test_stamp_via_does_not_trust_a_received_from_the_sender() -> None:
    req = _parsed("Via: SIP/2.0/TCP 192.0.2.7:5070;branch=z9hG4bKa;received=203.0.113.66")
    reply = stamp_via(req, ("192.0.2.7", 40000))
    assert reply == ("192.0.2.7", 5070)
    dest = destination_for_response(req.top_via, "TCP")
    assert (dest.host, dest.port) == reply


# =============================================================================
# UDP
# =============================================================================


@pytest.mark.parametrize("host", HOSTS)
async def test_udp_request_arrives_with_flow_and_stamped_via(
    host: str, make_manager: MakeManager, peers: Peers
) -> None:
    manager, sink = await make_manager()
    listener = await manager.listen(ListenSpec("UDP", host, 0))
    assert listener.transport == "UDP" and listener.local[0] == host and listener.local[1] > 0
    peer = peers.udp(host)
    me = addr_of(peer)

    peer.sendto(request(body=b"hello", headers="Content-Type: text/plain\r\n"), listener.local)
    msg, flow = await sink.request()
    assert msg.method == "OPTIONS" and msg.body == b"hello" and msg.call_id == "call-1"
    assert flow.transport == "UDP" and not flow.reliable
    assert flow.local == listener.local
    assert flow.remote == me
    assert flow.connection is None
    assert flow.reply_to == me
    assert msg.top_via.host == "client.invalid" and msg.top_via.port == 5099
    assert msg.top_via.received == host
    assert msg.top_via.rport == me[1]
    assert msg.top_via.branch == "z9hG4bKcall-1"

    # No rport, sent-by is the source address itself: the Via is untouched
    # and responses go to the sent-by port.
    raw = request(sent_by=f"{host_for_via(host)}:5099", via_params="", call_id="call-2")
    peer.sendto(raw, listener.local)
    msg, flow = await sink.request()
    assert bytes(msg) == raw
    assert msg.top_via.received is None and not msg.top_via.rport_requested
    assert flow.reply_to == (host, 5099)


async def test_udp_response_arrives_unstamped(make_manager: MakeManager, peers: Peers) -> None:
    manager, sink = await make_manager()
    listener = await manager.listen(ListenSpec("UDP", "127.0.0.1", 0))
    peer = peers.udp()
    peer.sendto(response(), listener.local)
    msg, flow = await sink.get()
    assert isinstance(msg, Response) and msg.status == 200
    assert bytes(msg) == response()
    assert flow.transport == "UDP" and flow.remote == addr_of(peer) and flow.reply_to is None


async def test_udp_reads_bursts_larger_than_one_batch(
    make_manager: MakeManager, peers: Peers
) -> None:
    manager, sink = await make_manager(TransportConfig(udp_batch=2))
    listener = await manager.listen(ListenSpec("UDP", "127.0.0.1", 0))
    peer = peers.udp()
    for i in range(25):
        peer.sendto(request(call_id=f"burst-{i}"), listener.local)
    got = [(await sink.request())[0].call_id for _ in range(25)]
    assert got == [f"burst-{i}" for i in range(25)]


STUN_BINDING = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + bytes(range(12))


@pytest.mark.parametrize(
    "garbage",
    [
        pytest.param(os.urandom(300), id="random"),
        pytest.param(STUN_BINDING, id="stun"),
        pytest.param(b"hello world", id="text"),
        pytest.param(b"\xff\xfe" + b"OPTIONS sip:x SIP/2.0\r\n\r\n", id="bad-utf8"),
        pytest.param(b"OPTIONS sip:bob@example.com SIP/2.0\r\n\r\n", id="no-headers"),
    ],
)
async def test_udp_garbage_is_dropped(
    garbage: bytes, make_manager: MakeManager, peers: Peers
) -> None:
    manager, sink = await make_manager()
    listener = await manager.listen(ListenSpec("UDP", "127.0.0.1", 0))
    peer = peers.udp()
    peer.sendto(garbage, listener.local)
    peer.sendto(request(call_id="after"), listener.local)
    msg, _ = await sink.request()
    # Datagrams from one socket over the loopback arrive in order: the
    # garbage was handled (and any answer sent) before this request.
    assert msg.call_id == "after"
    assert len(sink.items) == 1
    assert manager.stats["bad_datagrams"] == 1
    assert nothing_queued(peer)


@pytest.mark.parametrize(
    ("raw", "status", "warning"),
    [
        pytest.param(request(content_length="abc"), 400, "Content-Length", id="bad-content-length"),
        pytest.param(
            request(body=b"abc", content_length="10"), 400, "Content-Length", id="short-body"
        ),
        pytest.param(
            request(headers="Bad Header Name: x\r\n"), 400, "header", id="bad-header-name"
        ),
        pytest.param(request(via_params=";rport=@"), 400, "Via", id="bad-via-param"),
        pytest.param(
            request(to="<sip:bob@example.com>;tag=keep", content_length="abc"),
            400,
            "Content-Length",
            id="to-tag-kept",
        ),
    ],
)
async def test_udp_malformed_request_is_answered(
    raw: bytes, status: int, warning: str, make_manager: MakeManager, peers: Peers
) -> None:
    manager, sink = await make_manager()
    listener = await manager.listen(ListenSpec("UDP", "127.0.0.1", 0))
    peer = peers.udp()
    # The sent-by (client.invalid:5099) is unreachable: the answer goes to
    # the source address.
    peer.sendto(raw, listener.local)
    data, src = await udp_recv(peer)
    assert src == listener.local
    assert data.startswith(f"SIP/2.0 {status} ".encode())
    assert header(data, "Via") == header(raw, "Via")
    assert header(data, "From") == ["<sip:alice@example.com>;tag=a1"]
    assert header(data, "Call-ID") == ["call-1"]
    assert header(data, "CSeq") == ["1 OPTIONS"]
    (to,) = header(data, "To")
    if "tag=keep" in raw.decode():
        assert to == "<sip:bob@example.com>;tag=keep"
    else:
        assert re.fullmatch(r"<sip:bob@example\.com>;tag=[0-9A-Za-z]+", to), to
    (warn,) = header(data, "Warning")
    assert warn.startswith("399 ") and warning.lower() in warn.lower()
    assert header(data, "Content-Length") == ["0"]
    assert data.endswith(b"\r\n\r\n")
    assert sink.items == []
    assert manager.stats["bad_datagrams"] == 1

    peer.sendto(request(call_id="after"), listener.local)
    msg, _ = await sink.request()
    assert msg.call_id == "after"


@pytest.mark.parametrize("host", HOSTS)
async def test_udp_malformed_request_answered_over_ipv4_and_ipv6(
    host: str, make_manager: MakeManager, peers: Peers
) -> None:
    manager, _ = await make_manager()
    listener = await manager.listen(ListenSpec("UDP", host, 0))
    peer = peers.udp(host)
    peer.sendto(request(content_length="abc"), listener.local)
    data, src = await udp_recv(peer)
    assert src == listener.local and data.startswith(b"SIP/2.0 400 ")


async def test_udp_too_large_for_limits_is_answered_513(
    make_manager: MakeManager, peers: Peers
) -> None:
    manager, sink = await make_manager(TransportConfig(limits=Limits(max_message_size=1000)))
    listener = await manager.listen(ListenSpec("UDP", "127.0.0.1", 0))
    peer = peers.udp()
    peer.sendto(request(body=b"x" * 2000, headers="Content-Type: text/plain\r\n"), listener.local)
    data, _ = await udp_recv(peer)
    assert data.startswith(b"SIP/2.0 513 ")
    assert sink.items == [] and manager.stats["bad_datagrams"] == 1


async def test_udp_unsupported_version_is_answered_505(
    make_manager: MakeManager, peers: Peers
) -> None:
    manager, _ = await make_manager()
    listener = await manager.listen(ListenSpec("UDP", "127.0.0.1", 0))
    peer = peers.udp()
    peer.sendto(request(start="OPTIONS sip:bob@example.com SIP/3.0"), listener.local)
    # A request that is answered for sure, as a barrier: the first answer
    # must be the 505.
    peer.sendto(request(call_id="barrier", content_length="abc"), listener.local)
    data, _ = await udp_recv(peer)
    assert data.startswith(b"SIP/2.0 505 "), data[:40]
    assert header(data, "Call-ID") == ["call-1"]


async def test_udp_malformed_ack_is_never_answered(make_manager: MakeManager, peers: Peers) -> None:
    manager, sink = await make_manager()
    listener = await manager.listen(ListenSpec("UDP", "127.0.0.1", 0))
    peer = peers.udp()
    peer.sendto(request("ACK", call_id="ack", content_length="abc"), listener.local)
    peer.sendto(request("ACK", call_id="ack2", headers="Bad Header Name: x\r\n"), listener.local)
    peer.sendto(request(call_id="barrier", content_length="abc"), listener.local)
    data, _ = await udp_recv(peer)
    assert header(data, "Call-ID") == ["barrier"]
    assert nothing_queued(peer)
    assert manager.stats["bad_datagrams"] == 3
    assert sink.items == []


async def test_udp_crlf_keepalives_are_ignored(make_manager: MakeManager, peers: Peers) -> None:
    manager, sink = await make_manager()
    listener = await manager.listen(ListenSpec("UDP", "127.0.0.1", 0))
    peer = peers.udp()
    for keepalive in (b"\r\n\r\n", b"\r\n", b"\r\n\r\n\r\n\r\n", b"\x00"):
        peer.sendto(keepalive, listener.local)
    peer.sendto(request(call_id="after"), listener.local)
    msg, _ = await sink.request()
    assert msg.call_id == "after"
    assert len(sink.items) == 1
    assert manager.stats["bad_datagrams"] == 0
    assert nothing_queued(peer)


async def test_udp_largest_datagrams(make_manager: MakeManager, peers: Peers) -> None:
    manager, sink = await make_manager()
    listener = await manager.listen(ListenSpec("UDP", "127.0.0.1", 0))
    peer = peers.udp()
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 18)

    # The largest IPv4 UDP payload (65,507 bytes), a valid request: intact.
    ctype = "Content-Type: text/plain\r\n"
    overhead = len(request(call_id="big", headers=ctype, content_length="65000"))
    body = bytes(random.Random(7).choices(b"abcdefgh", k=65507 - overhead))
    big = request(call_id="big", headers=ctype, body=body)
    assert len(big) == 65507
    peer.sendto(big, listener.local)
    msg, _ = await sink.request()
    assert msg.call_id == "big" and msg.body == body

    # A 65,000-byte request that is malformed: answered, nothing delivered.
    bad = request(call_id="bad", content_length="abc", headers="Content-Type: text/plain\r\n")
    bad += b"y" * (65000 - len(bad))
    peer.sendto(bad, listener.local)
    data, _ = await udp_recv(peer)
    assert data.startswith(b"SIP/2.0 400 ") and header(data, "Call-ID") == ["bad"]
    assert len(sink.items) == 1 and manager.stats["bad_datagrams"] == 1

    # ... and the socket keeps working.
    peer.sendto(request(call_id="after"), listener.local)
    msg, _ = await sink.request()
    assert msg.call_id == "after"


@pytest.mark.parametrize("host", HOSTS)
async def test_send_datagram_reaches_a_raw_socket(
    host: str, make_manager: MakeManager, peers: Peers
) -> None:
    manager, _ = await make_manager()
    listener = await manager.listen(ListenSpec("UDP", host, 0))
    peer = peers.udp(host)
    flow = manager.send_datagram(response(), *addr_of(peer))
    assert flow.transport == "UDP" and flow.local == listener.local and flow.remote == addr_of(peer)
    data, src = await udp_recv(peer)
    assert data == response() and src == listener.local

    flow = await manager.send(b"second", Destination("UDP", *addr_of(peer)))
    assert flow.transport == "UDP" and flow.connection is None
    data, src = await udp_recv(peer)
    assert data == b"second" and src == listener.local


@needs_ipv6
async def test_send_datagram_picks_the_socket_of_the_family(
    make_manager: MakeManager, peers: Peers
) -> None:
    manager, _ = await make_manager()
    v4 = await manager.listen(ListenSpec("UDP", "127.0.0.1", 0))
    v6 = await manager.listen(ListenSpec("UDP", "::1", 0))
    assert manager.listener_for("UDP") is v4
    assert manager.listener_for("UDP", "::1") is v6
    assert manager.listener_for("UDP", "127.0.0.1") is v4
    assert manager.listener_for("TCP") is None
    p4, p6 = peers.udp("127.0.0.1"), peers.udp("::1")
    manager.send_datagram(b"four", *addr_of(p4))
    manager.send_datagram(b"six", *addr_of(p6))
    assert await udp_recv(p4) == (b"four", v4.local)
    assert await udp_recv(p6) == (b"six", v6.local)


async def test_send_datagram_without_a_socket_of_the_family(make_manager: MakeManager) -> None:
    manager, _ = await make_manager()
    with pytest.raises(OSError):
        manager.send_datagram(b"x", "127.0.0.1", 5060)
    await manager.listen(ListenSpec("UDP", "127.0.0.1", 0))
    with pytest.raises(OSError):
        manager.send_datagram(b"x", "::1", 5060)


# =============================================================================
# TCP
# =============================================================================


@pytest.mark.parametrize("host", HOSTS)
async def test_tcp_request_arrives_with_flow_and_stamped_via(
    host: str, make_manager: MakeManager, peers: Peers
) -> None:
    manager, sink = await make_manager()
    listener = await manager.listen(ListenSpec("TCP", host, 0))
    assert listener.transport == "TCP" and listener.local[0] == host
    _, writer = await peers.tcp(listener.local)
    me = addr_of(writer)
    await write(writer, request(transport="TCP", body=b"hi"))
    msg, flow = await sink.request()
    assert msg.body == b"hi"
    assert flow.transport == "TCP" and flow.reliable
    assert flow.local == listener.local and flow.remote == me
    assert isinstance(flow.connection, Connection)
    assert flow.connection.transport_name == "TCP" and not flow.connection.outbound
    assert flow.connection.remote == me and flow.connection.local == listener.local
    assert manager.connection("TCP", *me) is flow.connection
    assert manager.connections == 1
    assert msg.top_via.received == host and msg.top_via.rport == me[1]


async def test_a_failing_receiver_does_not_end_the_connection(
    make_manager: MakeManager, peers: Peers
) -> None:
    """An exception above the transport is logged; the next message on the
    same connection still arrives."""
    manager, sink = await make_manager()
    calls = 0

    def flaky(msg: Request | Response, flow: Flow) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("a bug above the transport")
        sink(msg, flow)

    manager.on_message = flaky
    listener = await manager.listen(ListenSpec("TCP", "127.0.0.1", 0))
    _, writer = await peers.tcp(listener.local)
    await write(writer, request(transport="TCP", call_id="first"))
    await write(writer, request(transport="TCP", call_id="second"))
    msg, flow = await sink.request()
    assert msg.call_id == "second" and calls == 2
    assert flow.connection is not None and not flow.connection.closed


async def test_tcp_messages_split_at_any_byte_boundary(
    make_manager: MakeManager, peers: Peers
) -> None:
    manager, sink = await make_manager()
    listener = await manager.listen(ListenSpec("TCP", "127.0.0.1", 0))
    _, writer = await peers.tcp(listener.local)

    def plain(**kw: Any) -> bytes:
        # sent-by is the source address and no rport: the Via stays as sent.
        return request(transport="TCP", sent_by="127.0.0.1:5099", via_params="", **kw)

    # One message, one byte per write.
    one = plain(call_id="bytewise", body=b"body\r\n\r\nbytes")
    for i in range(len(one)):
        writer.write(one[i : i + 1])
        await writer.drain()
        await asyncio.sleep(0)  # let the other side read this byte alone
    msg, _ = await sink.request()
    assert msg.call_id == "bytewise" and msg.body == b"body\r\n\r\nbytes"
    assert bytes(msg) == one

    # Several messages (and keep-alives) in one write.
    many = [plain(call_id=f"m{i}", body=b"x" * i) for i in range(4)]
    await write(writer, many[0] + b"\r\n" + many[1] + many[2] + b"\r\n\r\n" + many[3])
    got = [await sink.request() for _ in range(4)]
    assert [bytes(m) for m, _ in got] == many

    # A stream of messages cut at random points.
    stream_msgs = [plain(call_id=f"r{i}", body=os.urandom(i * 7)) for i in range(12)]
    stream = b"".join(stream_msgs)
    rng = random.Random(3261)
    pos = 0
    while pos < len(stream):
        step = rng.randint(1, 60)
        writer.write(stream[pos : pos + step])
        await writer.drain()
        await asyncio.sleep(0)
        pos += step
    got = [await sink.request() for _ in range(12)]
    assert [bytes(m) for m, _ in got] == stream_msgs
    assert manager.stats["bad_streams"] == 0 and manager.connections == 1


async def test_tcp_ping_is_answered_with_pong(make_manager: MakeManager, peers: Peers) -> None:
    manager, sink = await make_manager()
    listener = await manager.listen(ListenSpec("TCP", "127.0.0.1", 0))
    reader, writer = await peers.tcp(listener.local)

    await write(writer, b"\r\n\r\n")
    assert await asyncio.wait_for(reader.readexactly(2), TIMEOUT) == b"\r\n"

    # A ping whose halves come in separate writes.
    await write(writer, b"\r\n")
    await asyncio.sleep(0)
    await write(writer, b"\r\n")
    assert await asyncio.wait_for(reader.readexactly(2), TIMEOUT) == b"\r\n"

    # Between messages, and the messages still arrive.
    await write(writer, request(transport="TCP", call_id="a") + b"\r\n\r\n")
    assert await asyncio.wait_for(reader.readexactly(2), TIMEOUT) == b"\r\n"
    await write(writer, request(transport="TCP", call_id="b"))
    assert [(await sink.request())[0].call_id for _ in range(2)] == ["a", "b"]
    assert manager.connections == 1


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(b"hello world\r\n\r\n", id="garbage-start-line"),
        pytest.param(b"\x00\x01\x02\x03 binary junk\r\n\r\n", id="binary"),
        pytest.param(request(transport="TCP", with_length=False), id="missing-content-length"),
        pytest.param(request(transport="TCP", content_length="abc"), id="bad-content-length"),
        pytest.param(
            request(transport="TCP", headers="Bad Header Name: x\r\n"), id="bad-header-name"
        ),
    ],
)
async def test_tcp_unframeable_stream_is_closed(
    bad: bytes, make_manager: MakeManager, peers: Peers
) -> None:
    manager, sink = await make_manager()
    listener = await manager.listen(ListenSpec("TCP", "127.0.0.1", 0))
    _, good_writer = await peers.tcp(listener.local)
    await write(good_writer, request(transport="TCP", call_id="good-1"))
    assert (await sink.request())[0].call_id == "good-1"

    bad_reader, bad_writer = await peers.tcp(listener.local)
    await write(bad_writer, bad)
    assert await read_until_closed(bad_reader) == b""
    assert manager.stats["bad_streams"] == 1
    await until(lambda: manager.connections == 1)

    await write(good_writer, request(transport="TCP", call_id="good-2"))
    assert (await sink.request())[0].call_id == "good-2"
    assert [m.call_id for m, _ in sink.items] == ["good-1", "good-2"]


async def test_tcp_request_with_bad_via_is_answered_on_its_connection(
    make_manager: MakeManager, peers: Peers
) -> None:
    manager, sink = await make_manager()
    listener = await manager.listen(ListenSpec("TCP", "127.0.0.1", 0))
    reader, writer = await peers.tcp(listener.local)
    await write(writer, request(transport="TCP", via_params=";rport=@", call_id="badvia"))
    data = await read_message(reader)
    assert data.startswith(b"SIP/2.0 400 ")
    assert header(data, "Call-ID") == ["badvia"]
    assert header(data, "Warning")[0].startswith("399 ")
    assert manager.stats["bad_messages"] == 1 and sink.items == []
    # The stream is still in sync.
    await write(writer, request(transport="TCP", call_id="after"))
    assert (await sink.request())[0].call_id == "after"


async def test_tcp_response_arrives(make_manager: MakeManager, peers: Peers) -> None:
    manager, sink = await make_manager()
    listener = await manager.listen(ListenSpec("TCP", "127.0.0.1", 0))
    _, writer = await peers.tcp(listener.local)
    await write(writer, response(transport="TCP"))
    msg, flow = await sink.get()
    assert isinstance(msg, Response) and bytes(msg) == response(transport="TCP")
    assert flow.transport == "TCP" and flow.connection is not None


async def test_accepted_connection_is_reused_to_send_back(
    make_manager: MakeManager, peers: Peers
) -> None:
    manager, sink = await make_manager()
    listener = await manager.listen(ListenSpec("TCP", "127.0.0.1", 0))
    reader, writer = await peers.tcp(listener.local)
    me = addr_of(writer)
    await write(writer, request(transport="TCP"))
    _, flow = await sink.request()
    conn = manager.connection("TCP", *me)
    assert conn is flow.connection and conn is not None

    sent = await manager.send(response(transport="TCP"), Destination("TCP", *me))
    assert sent.connection is conn and sent.remote == me
    assert await read_message(reader) == response(transport="TCP")
    assert manager.connections == 1

    # The flow's connection can be given explicitly too.
    await manager.send(b"\r\n", Destination("TCP", "127.0.0.1", 9), connection=conn)
    assert await asyncio.wait_for(reader.readexactly(2), TIMEOUT) == b"\r\n"


async def test_connection_is_forgotten_when_the_peer_closes(
    make_manager: MakeManager, peers: Peers
) -> None:
    manager, sink = await make_manager()
    listener = await manager.listen(ListenSpec("TCP", "127.0.0.1", 0))
    _, writer = await peers.tcp(listener.local)
    me = addr_of(writer)
    await write(writer, request(transport="TCP"))
    _, flow = await sink.request()
    conn = flow.connection
    assert conn is not None
    writer.close()
    await asyncio.wait_for(conn.wait_closed(), TIMEOUT)
    assert conn.closed
    assert manager.connection("TCP", *me) is None
    assert manager.connections == 0
    with pytest.raises(ConnectionClosed):
        conn.write(b"x")


@pytest.mark.parametrize("host", HOSTS)
async def test_connect_reuses_the_connection(host: str, make_manager: MakeManager) -> None:
    server, server_sink = await make_manager()
    listener = await server.listen(ListenSpec("TCP", host, 0))
    client, client_sink = await make_manager()

    conn = await asyncio.wait_for(client.connect("TCP", *listener.local), TIMEOUT)
    assert conn.outbound and conn.transport_name == "TCP" and conn.remote == listener.local
    assert await client.connect("TCP", *listener.local) is conn
    assert client.connection("TCP", *listener.local) is conn
    assert client.connections == 1

    flow = await client.send(request(transport="TCP"), Destination("TCP", *listener.local))
    assert flow.connection is conn and flow.transport == "TCP"
    msg, sflow = await server_sink.request()
    assert msg.call_id == "call-1" and sflow.remote == conn.local
    assert client.connections == 1

    # And back, over the accepted connection.
    assert sflow.connection is not None
    sflow.connection.write(response(transport="TCP"))
    reply, cflow = await client_sink.get()
    assert isinstance(reply, Response) and cflow.connection is conn

    # Once it is closed, a new one is opened.
    sflow.connection.close()
    await asyncio.wait_for(conn.wait_closed(), TIMEOUT)
    assert client.connection("TCP", *listener.local) is None
    again = await asyncio.wait_for(client.connect("TCP", *listener.local), TIMEOUT)
    assert again is not conn and not again.closed


async def test_concurrent_connects_share_one_attempt(
    make_manager: MakeManager, peers: Peers
) -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    port = await peers.server(handle)
    client, _ = await make_manager()
    conns = await asyncio.wait_for(
        asyncio.gather(*(client.connect("TCP", "127.0.0.1", port) for _ in range(8))), TIMEOUT
    )
    assert all(c is conns[0] for c in conns)
    assert client.connections == 1
    await until(lambda: len(accepted) == 1)
    assert addr_of(accepted[0])[1] == port
    assert accepted[0].get_extra_info("peername")[1] == conns[0].local[1]


async def test_concurrent_connects_share_the_failure(make_manager: MakeManager) -> None:
    with socket.socket() as s:  # bound, not listening: connections are refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        client, _ = await make_manager()
        results = await asyncio.wait_for(
            asyncio.gather(
                *(client.connect("TCP", "127.0.0.1", port) for _ in range(3)),
                return_exceptions=True,
            ),
            TIMEOUT,
        )
        assert all(isinstance(r, ConnectionRefusedError) for r in results), results
        # Nothing is left pending: the next attempt fails afresh.
        with pytest.raises(ConnectionRefusedError):
            await asyncio.wait_for(client.connect("TCP", "127.0.0.1", port), TIMEOUT)
        assert client.connections == 0


async def test_cancelling_one_connect_does_not_cancel_the_others(
    make_manager: MakeManager, peers: Peers
) -> None:
    accepted = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Accepts and never answers the TLS handshake.
        accepted.set()
        await reader.read()

    port = await peers.server(silent)
    client, _ = await make_manager(TransportConfig(connect_timeout=0.5))
    first = asyncio.create_task(client.connect("TLS", "127.0.0.1", port, server_name="localhost"))
    second = asyncio.create_task(client.connect("TLS", "127.0.0.1", port, server_name="localhost"))
    await asyncio.wait_for(accepted.wait(), TIMEOUT)
    first.cancel()
    done, _ = await asyncio.wait({second}, timeout=TIMEOUT)
    assert second in done
    # The second caller must see the attempt's own outcome (here the
    # handshake timing out), not a cancellation it never asked for.
    assert not second.cancelled()
    assert isinstance(second.exception(), OSError | TimeoutError)


# =============================================================================
# Limits
# =============================================================================


async def test_idle_timeout_closes_an_idle_connection(
    make_manager: MakeManager, peers: Peers
) -> None:
    manager, sink = await make_manager(TransportConfig(idle_timeout=0.3))
    listener = await manager.listen(ListenSpec("TCP", "127.0.0.1", 0))
    loop = asyncio.get_running_loop()

    idle_reader, idle_writer = await peers.tcp(listener.local)
    await write(idle_writer, request(transport="TCP", call_id="idle"))
    await sink.request()
    last = loop.time()

    # Another connection stays busy with keep-alives the whole time.
    busy_reader, busy_writer = await peers.tcp(listener.local)
    done = asyncio.Event()

    async def keep_busy() -> None:
        while not done.is_set():
            await write(busy_writer, b"\r\n\r\n")
            assert await asyncio.wait_for(busy_reader.readexactly(2), TIMEOUT) == b"\r\n"
            await asyncio.sleep(0.05)  # the peer's pace, well under the idle timeout

    busy = asyncio.create_task(keep_busy())
    try:
        assert await read_until_closed(idle_reader) == b""
        assert loop.time() - last >= 0.25
        assert manager.stats["idle_closed"] == 1
    finally:
        done.set()
        await asyncio.wait_for(busy, TIMEOUT)
    await write(busy_writer, request(transport="TCP", call_id="busy"))
    assert (await sink.request())[0].call_id == "busy"
    assert manager.connections == 1


async def test_idle_timeout_applies_to_a_manager_without_listeners(
    make_manager: MakeManager, peers: Peers
) -> None:
    closed = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if await reader.read() == b"":
            closed.set()

    port = await peers.server(handle)
    client, _ = await make_manager(TransportConfig(idle_timeout=0.2))
    await asyncio.wait_for(client.connect("TCP", "127.0.0.1", port), TIMEOUT)
    await asyncio.wait_for(closed.wait(), 1.5)


async def test_message_timeout_closes_a_stalled_connection(
    make_manager: MakeManager, peers: Peers
) -> None:
    manager, sink = await make_manager(TransportConfig(message_timeout=0.3))
    listener = await manager.listen(ListenSpec("TCP", "127.0.0.1", 0))
    loop = asyncio.get_running_loop()
    _, quiet_writer = await peers.tcp(listener.local)  # idle, but holds no partial message
    await write(quiet_writer, request(transport="TCP", call_id="quiet-1"))
    await sink.request()

    reader, writer = await peers.tcp(listener.local)
    partial = request(transport="TCP", call_id="stalled", body=b"0123456789")
    await write(writer, partial[:-4])
    start = loop.time()
    assert await read_until_closed(reader) == b""
    assert loop.time() - start >= 0.25
    assert manager.stats["stalled_closed"] == 1
    assert [m.call_id for m, _ in sink.items] == ["quiet-1"]

    await write(quiet_writer, request(transport="TCP", call_id="quiet-2"))
    assert (await sink.request())[0].call_id == "quiet-2"


async def test_message_timeout_cuts_a_trickling_peer(
    make_manager: MakeManager, peers: Peers
) -> None:
    manager, sink = await make_manager(TransportConfig(message_timeout=0.3, idle_timeout=30))
    listener = await manager.listen(ListenSpec("TCP", "127.0.0.1", 0))
    reader, writer = await peers.tcp(listener.local)
    data = request(transport="TCP", body=b"z" * 400)  # ~30 s at this pace
    stop = asyncio.Event()

    async def trickle() -> None:
        for i in range(len(data)):
            if stop.is_set():
                return
            try:
                await write(writer, data[i : i + 1])
            except (ConnectionError, RuntimeError):
                return
            await asyncio.sleep(0.05)  # the peer's pace: always active, never done

    task = asyncio.create_task(trickle())
    try:
        await read_until_closed(reader)
    finally:
        stop.set()
        await asyncio.wait_for(task, TIMEOUT)
    assert manager.stats["stalled_closed"] == 1
    assert sink.items == []


async def test_message_timeout_spares_a_busy_pipelined_connection(
    make_manager: MakeManager, peers: Peers
) -> None:
    manager, sink = await make_manager(TransportConfig(message_timeout=0.5))
    listener = await manager.listen(ListenSpec("TCP", "127.0.0.1", 0))
    _, writer = await peers.tcp(listener.local)
    msgs = [request(transport="TCP", call_id=f"p{i:02d}") for i in range(24)]
    stream = b"".join(msgs)
    size = len(msgs[0])
    # Every write completes one message and starts the next: each message
    # takes 0.05 s, but the stream never rests on a message boundary.
    chunks = [stream[: size // 2]] + [
        stream[size // 2 + i * size : size // 2 + (i + 1) * size] for i in range(len(msgs))
    ]
    for chunk in chunks:
        if chunk:
            with contextlib.suppress(ConnectionError):
                await write(writer, chunk)
        await asyncio.sleep(0.05)
    assert manager.stats["stalled_closed"] == 0
    got = [(await sink.request())[0].call_id for _ in range(len(msgs))]
    assert got == [f"p{i:02d}" for i in range(24)]


async def test_max_connections_refuses_beyond_the_limit(
    make_manager: MakeManager, peers: Peers
) -> None:
    manager, sink = await make_manager(TransportConfig(max_connections=2))
    listener = await manager.listen(ListenSpec("TCP", "127.0.0.1", 0))
    _, w1 = await peers.tcp(listener.local)
    await write(w1, request(transport="TCP", call_id="c1"))
    _, f1 = await sink.request()
    _, w2 = await peers.tcp(listener.local)
    await write(w2, request(transport="TCP", call_id="c2"))
    await sink.request()
    assert manager.connections == 2

    r3, _ = await peers.tcp(listener.local)
    assert await read_until_closed(r3) == b""
    assert manager.stats["refused_connections"] == 1
    assert manager.connections == 2

    await write(w1, request(transport="TCP", call_id="c1-again"))
    await write(w2, request(transport="TCP", call_id="c2-again"))
    assert {(await sink.request())[0].call_id for _ in range(2)} == {"c1-again", "c2-again"}

    # A slot freed is a slot available.
    assert f1.connection is not None
    w1.close()
    await asyncio.wait_for(f1.connection.wait_closed(), TIMEOUT)
    _, w4 = await peers.tcp(listener.local)
    await write(w4, request(transport="TCP", call_id="c4"))
    assert (await sink.request())[0].call_id == "c4"
    assert manager.connections == 2


async def test_max_connections_applies_to_connect(make_manager: MakeManager, peers: Peers) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    port_a = await peers.server(handle)
    port_b = await peers.server(handle)
    client, _ = await make_manager(TransportConfig(max_connections=1))
    conn = await asyncio.wait_for(client.connect("TCP", "127.0.0.1", port_a), TIMEOUT)
    with pytest.raises(OSError):
        await asyncio.wait_for(client.connect("TCP", "127.0.0.1", port_b), TIMEOUT)
    assert client.stats["refused_connections"] == 1
    assert client.connections == 1
    assert await client.connect("TCP", "127.0.0.1", port_a) is conn


async def test_max_write_buffer_disconnects_a_peer_that_does_not_read(
    make_manager: MakeManager, peers: Peers
) -> None:
    manager, sink = await make_manager(TransportConfig(max_write_buffer=64 * 1024))
    listener = await manager.listen(ListenSpec("TCP", "127.0.0.1", 0))
    loop = asyncio.get_running_loop()
    peer = peers.tcp_socket()
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    await asyncio.wait_for(loop.sock_connect(peer, listener.local), TIMEOUT)
    await asyncio.wait_for(loop.sock_sendall(peer, request(transport="TCP")), TIMEOUT)
    _, flow = await sink.request()
    conn = flow.connection
    assert conn is not None

    chunk = b"x" * 65536
    written = 0
    with contextlib.suppress(ConnectionClosed):
        for _ in range(4096):  # 256 MiB at most; the kernel holds a few MiB
            conn.write(chunk)
            written += len(chunk)
            if conn.closed:
                break
    assert conn.closed, f"still open after {written} bytes"
    await asyncio.wait_for(conn.wait_closed(), TIMEOUT)
    assert manager.connections == 0
    with pytest.raises(ConnectionClosed):
        conn.write(b"more")
    await sock_read_until_closed(peer)


# =============================================================================
# TLS
# =============================================================================


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> DevCertificates:
    return write_dev_certificates(tmp_path_factory.mktemp("transport-tls") / "certs")


async def _tls_pair(
    make_manager: MakeManager, dev: DevCertificates, host: str = "127.0.0.1"
) -> tuple[TransportManager, Sink, tuple[str, int]]:
    server, sink = await make_manager(
        tls_server=server_context(dev.server_cert, dev.server_key),
        tls_client=client_context(ca=dev.ca_cert),
    )
    listener = await server.listen(ListenSpec("TLS", host, 0))
    assert listener.transport == "TLS"
    return server, sink, listener.local


async def test_tls_listener_receives_from_an_ssl_client(
    make_manager: MakeManager, peers: Peers, dev: DevCertificates
) -> None:
    server, sink, addr = await _tls_pair(make_manager, dev)
    reader, writer = await peers.tcp(
        addr, ssl=client_context(ca=dev.ca_cert), server_hostname="localhost"
    )
    me = addr_of(writer)
    await write(writer, request(transport="TLS", body=b"secret"))
    msg, flow = await sink.request()
    assert msg.body == b"secret"
    assert flow.transport == "TLS" and flow.reliable and flow.remote == me
    assert flow.connection is not None and flow.connection.transport_name == "TLS"
    assert server.connection("TLS", *me) is flow.connection
    assert msg.top_via.received == "127.0.0.1" and msg.top_via.rport == me[1]

    # Answered over the same TLS connection; pings work over TLS too.
    await server.send(response(transport="TLS"), Destination("TLS", *me))
    assert await read_message(reader) == response(transport="TLS")
    await write(writer, b"\r\n\r\n")
    assert await asyncio.wait_for(reader.readexactly(2), TIMEOUT) == b"\r\n"


async def test_tls_connect_and_send(make_manager: MakeManager, dev: DevCertificates) -> None:
    _, server_sink, addr = await _tls_pair(make_manager, dev)
    client, client_sink = await make_manager(tls_client=client_context(ca=dev.ca_cert))
    conn = await asyncio.wait_for(client.connect("TLS", *addr, server_name="localhost"), TIMEOUT)
    assert conn.transport_name == "TLS" and conn.outbound
    assert await client.connect("TLS", *addr, server_name="localhost") is conn

    flow = await client.send(
        request(transport="TLS", call_id="over-tls"),
        Destination("TLS", *addr),
        server_name="localhost",
    )
    assert flow.connection is conn and flow.transport == "TLS"
    msg, sflow = await server_sink.request()
    assert msg.call_id == "over-tls" and sflow.transport == "TLS" and sflow.remote == conn.local

    assert sflow.connection is not None
    sflow.connection.write(response(transport="TLS", call_id="over-tls"))
    reply, cflow = await client_sink.get()
    assert isinstance(reply, Response) and reply.call_id == "over-tls"
    assert cflow.connection is conn and cflow.transport == "TLS"


@pytest.mark.parametrize("host", HOSTS)
async def test_tls_connect_by_ip_address(
    host: str, make_manager: MakeManager, dev: DevCertificates
) -> None:
    # The development certificate names 127.0.0.1 and ::1 as well.
    _, server_sink, addr = await _tls_pair(make_manager, dev, host)
    client, _ = await make_manager(tls_client=client_context(ca=dev.ca_cert))
    conn = await asyncio.wait_for(client.connect("TLS", *addr), TIMEOUT)
    conn.write(request(transport="TLS", call_id="by-ip"))
    msg, flow = await server_sink.request()
    assert msg.call_id == "by-ip" and flow.remote == conn.local


@pytest.mark.parametrize(
    ("which", "server_name"),
    [
        pytest.param("system-store", "localhost", id="context-without-our-ca"),
        pytest.param("default", "localhost", id="no-client-context"),
        pytest.param("our-ca", "wrong.example.com", id="name-mismatch"),
    ],
)
async def test_tls_connect_to_an_untrusted_server_fails(
    which: str, server_name: str, make_manager: MakeManager, dev: DevCertificates
) -> None:
    _, server_sink, addr = await _tls_pair(make_manager, dev)
    ctx = {
        "system-store": client_context(),
        "default": None,
        "our-ca": client_context(ca=dev.ca_cert),
    }[which]
    client, _ = await make_manager(TransportConfig(connect_timeout=3.0), tls_client=ctx)
    with pytest.raises(ssl.SSLCertVerificationError):
        await asyncio.wait_for(client.connect("TLS", *addr, server_name=server_name), TIMEOUT)
    assert client.connections == 0
    assert client.connection("TLS", *addr) is None
    assert server_sink.items == []


async def test_listen_tls_without_a_server_context(make_manager: MakeManager) -> None:
    manager, _ = await make_manager()
    with pytest.raises(SIPUsageError):
        await manager.listen(ListenSpec("TLS", "127.0.0.1", 0))
    assert manager.listeners == []


# =============================================================================
# close()
# =============================================================================


async def test_close_releases_everything(make_manager: MakeManager, peers: Peers) -> None:
    outbound_closed = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if await reader.read() == b"":
            outbound_closed.set()

    remote_port = await peers.server(handle)
    manager, sink = await make_manager()
    udp = await manager.listen(ListenSpec("UDP", "127.0.0.1", 0))
    tcp = await manager.listen(ListenSpec("TCP", "127.0.0.1", 0))
    reader, writer = await peers.tcp(tcp.local)
    await write(writer, request(transport="TCP"))
    _, flow = await sink.request()
    out = await asyncio.wait_for(manager.connect("TCP", "127.0.0.1", remote_port), TIMEOUT)
    assert manager.connections == 2

    await asyncio.wait_for(manager.close(), TIMEOUT)

    assert manager.listeners == []
    assert manager.connections == 0
    assert flow.connection is not None and flow.connection.closed and out.closed
    assert manager.connection("TCP", "127.0.0.1", remote_port) is None
    # Both peers see their connection end.
    assert await read_until_closed(reader) == b""
    await asyncio.wait_for(outbound_closed.wait(), TIMEOUT)
    # The listening sockets are gone: the ports can be bound again / refuse.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(udp.local)
    with pytest.raises(ConnectionRefusedError):
        await asyncio.wait_for(asyncio.open_connection(*tcp.local), TIMEOUT)
    # Nothing can be sent any more, and closing twice is harmless.
    with pytest.raises(OSError):
        manager.send_datagram(b"x", "127.0.0.1", udp.local[1])
    with pytest.raises(ConnectionClosed):
        await manager.connect("TCP", "127.0.0.1", remote_port)
    await asyncio.wait_for(manager.close(), TIMEOUT)
