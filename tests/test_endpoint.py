"""The Endpoint over real sockets on the loopback interface: routing and the
default answers, bad requests, the client side (timeouts, transport errors,
retransmissions, the MTU rule), INVITE, CANCEL and ACK, the hook points,
graceful shutdown and a transaction table that drains.

Two endpoints talk to each other, or an endpoint talks to a raw UDP or TCP
socket when a test needs to see or shape the exact bytes on the wire.
Every wait is bounded; timers are shortened where they matter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar, cast

import pytest

from sipstack.certs import DevCertificates, client_context, server_context, write_dev_certificates
from sipstack.endpoint import Endpoint, Hook, HookPoint, IncomingRequest, MessageInfo
from sipstack.errors import SIPUsageError
from sipstack.message import (
    Request,
    Response,
    make_request,
    make_response,
    new_branch,
    new_tag,
    parse,
)
from sipstack.transaction import TimerConfig
from sipstack.transport import Destination, ListenSpec, host_for_via

T = TypeVar("T")
Message = Request | Response

#: Bound on any single wait for something that should happen promptly.
TIMEOUT = 5.0
#: Timers small enough that Timer F (64*T1) fires in well under a second.
FAST = TimerConfig(t1=0.01, t2=0.04, t4=0.05)
#: Retransmitting quickly, but with room (Timer F = 1.28 s) for a slow machine.
QUICK = TimerConfig(t1=0.02, t2=0.08, t4=0.1)


# -- helpers -----------------------------------------------------------------


async def within(aw: Awaitable[T], timeout: float = TIMEOUT) -> T:
    return await asyncio.wait_for(aw, timeout)


async def until(predicate: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    """Poll ``predicate`` (for state that has no event to await), bounded."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.005)


@contextlib.asynccontextmanager
async def running(ep: Endpoint, close_timeout: float = 1.0) -> AsyncIterator[Endpoint]:
    await ep.start()
    try:
        yield ep
    finally:
        await ep.close(timeout=close_timeout)


def uri(ep: Endpoint, transport: str = "UDP", *, param: bool = True, user: str = "bob") -> str:
    host, port = ep.listener(transport).local[:2]
    suffix = f";transport={transport.lower()}" if param else ""
    return f"sip:{user}@{host_for_via(host)}:{port}{suffix}"


def new_request(method: str, target: str, **kw: Any) -> Request:
    kw.setdefault("from_addr", "Alice <sip:alice@example.com>")
    kw.setdefault("to_addr", "Bob <sip:bob@example.com>")
    return make_request(method, target, **kw)


def cancel_for(invite: Request) -> Request:
    """The CANCEL of §9.1: the INVITE's Request-URI, Call-ID, From, To,
    CSeq number and top Via."""
    return make_request(
        "CANCEL",
        invite.uri,
        from_addr=invite.headers.get("From") or "",
        to_addr=invite.headers.get("To") or "",
        call_id=invite.call_id,
        cseq=invite.cseq.seq,
        via=invite.headers.get_list("Via")[0],
    )


def ack_for_2xx(invite: Request, ok: Response) -> Request:
    """The ACK for a 2xx (§13.2.2.4): a new transaction, the To of the 2xx."""
    return make_request(
        "ACK",
        invite.uri,
        from_addr=invite.headers.get("From") or "",
        to_addr=ok.headers.get("To") or "",
        call_id=invite.call_id,
        cseq=invite.cseq.seq,
    )


def answer(status: int = 200, **kw: Any) -> Callable[[IncomingRequest], None]:
    def handler(incoming: IncomingRequest) -> None:
        incoming.respond(status, **kw)

    return handler


def allow_set(response: Response) -> set[str]:
    return {m.strip() for m in (response.headers.get("Allow") or "").split(",") if m.strip()}


def ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


def closed_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class UdpPeer(asyncio.DatagramProtocol):
    """A raw UDP socket: every datagram it gets is queued with its source."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.queue.put_nowait((data, (str(addr[0]), int(addr[1]))))

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    async def recv_raw(self, timeout: float = TIMEOUT) -> tuple[bytes, tuple[str, int]]:
        return await within(self.queue.get(), timeout)

    async def recv(self, timeout: float = TIMEOUT) -> tuple[Message, tuple[str, int]]:
        data, addr = await self.recv_raw(timeout)
        return parse(data), addr

    def send(self, data: bytes | Message, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(bytes(data), addr)


@contextlib.asynccontextmanager
async def udp_peer(host: str = "127.0.0.1") -> AsyncIterator[UdpPeer]:
    loop = asyncio.get_running_loop()
    transport, peer = await loop.create_datagram_endpoint(UdpPeer, local_addr=(host, 0))
    try:
        yield peer
    finally:
        transport.close()


_CONTENT_LENGTH = re.compile(rb"\r\n(?:content-length|l)[ \t]*:[ \t]*(\d+)", re.IGNORECASE)


async def read_message(reader: asyncio.StreamReader) -> Message | None:
    """One framed SIP message from a stream, or None at the end of it."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        m = _CONTENT_LENGTH.search(head)
        body = await reader.readexactly(int(m.group(1))) if m else b""
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    return parse(head + body)


class TcpPeer:
    """A raw TCP server: each message it reads is queued with its writer."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[Message, asyncio.StreamWriter]] = asyncio.Queue()
        self.writers: list[asyncio.StreamWriter] = []
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        while (msg := await read_message(reader)) is not None:
            self.queue.put_nowait((msg, writer))
        writer.close()

    async def recv(self, timeout: float = TIMEOUT) -> tuple[Message, asyncio.StreamWriter]:
        return await within(self.queue.get(), timeout)


@contextlib.asynccontextmanager
async def tcp_peer() -> AsyncIterator[TcpPeer]:
    peer = TcpPeer()
    server = await asyncio.start_server(peer.handle, "127.0.0.1", 0)
    peer.port = int(server.sockets[0].getsockname()[1])
    try:
        yield peer
    finally:
        server.close()
        for writer in peer.writers:
            writer.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), TIMEOUT)


class Recorder:
    """Hooks on every point of an endpoint that record what they see."""

    def __init__(self) -> None:
        self.seen: list[tuple[HookPoint, Message, MessageInfo]] = []

    def attach(self, ep: Endpoint) -> Recorder:
        for point in HookPoint:
            ep.add_hook(point, self._hook(point))
        return self

    def _hook(self, point: HookPoint) -> Hook:
        def hook(message: Message, info: MessageInfo) -> None:
            self.seen.append((point, message, info))

        return hook

    def at(self, point: HookPoint) -> list[tuple[Message, MessageInfo]]:
        return [(m, i) for p, m, i in self.seen if p is point]

    def trace(self) -> list[tuple[str, str]]:
        return [(p.name, _label(m)) for p, m, _ in self.seen]


def _label(message: Message) -> str:
    return message.method if isinstance(message, Request) else str(message.status)


# -- fixtures ----------------------------------------------------------------


@pytest.fixture
async def server() -> AsyncIterator[Endpoint]:
    async with running(Endpoint(["udp:127.0.0.1:0", "tcp:127.0.0.1:0"])) as ep:
        yield ep


@pytest.fixture
async def client() -> AsyncIterator[Endpoint]:
    async with running(Endpoint(["udp:127.0.0.1:0"])) as ep:
        yield ep


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> DevCertificates:
    return write_dev_certificates(tmp_path_factory.mktemp("endpoint-tls") / "certs")


# -- routing -----------------------------------------------------------------


def _echo(seen: list[tuple[str, bytes]]) -> Callable[[IncomingRequest], None]:
    def on_message(incoming: IncomingRequest) -> None:
        seen.append((incoming.flow.transport, incoming.request.body))
        incoming.respond(200, body=b"pong: " + incoming.request.body, content_type="text/plain")

    return on_message


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_message_round_trip(server: Endpoint, client: Endpoint, transport: str) -> None:
    seen: list[tuple[str, bytes]] = []
    server.route("MESSAGE", _echo(seen))
    req = new_request("MESSAGE", uri(server, transport), body=b"ping", content_type="text/plain")
    resp = await within(client.request(req))
    assert resp.status == 200
    assert resp.body == b"pong: ping"
    assert resp.headers.get("Content-Type") == "text/plain"
    assert resp.call_id == req.call_id
    assert resp.to_addr.tag
    assert seen == [(transport, b"ping")]
    assert req.top_via.transport == transport


@pytest.mark.parametrize("how", ["uri-localhost", "sips-uri", "destination-ip"])
async def test_message_round_trip_over_tls(dev: DevCertificates, how: str) -> None:
    # A host name in the URI is resolved and used as the TLS server name; an
    # IP destination is checked against the certificate's IP address.
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo("localhost", 0, type=socket.SOCK_STREAM)
    local = str(infos[0][4][0])
    server_ep = Endpoint(
        [ListenSpec("TLS", local, 0)], tls_server=server_context(dev.server_cert, dev.server_key)
    )
    client_ep = Endpoint([ListenSpec("UDP", local, 0)], tls_client=client_context(ca=dev.ca_cert))
    seen: list[tuple[str, bytes]] = []
    server_ep.route("MESSAGE", _echo(seen))
    async with running(server_ep) as server, running(client_ep) as client:
        port = server.listener("TLS").local[1]
        dest = None
        if how == "uri-localhost":
            target = f"sip:bob@localhost:{port};transport=tls"
        elif how == "sips-uri":
            target = f"sips:bob@localhost:{port}"
        else:
            target = "sip:bob@example.com;transport=tls"
            dest = Destination("TLS", local, port)
        req = new_request("MESSAGE", target, body=b"secret", content_type="text/plain")
        resp = await within(client.request(req, dest))
    assert resp.status == 200
    assert resp.body == b"pong: secret"
    assert seen == [("TLS", b"secret")]
    assert req.top_via.transport == "TLS"


async def test_tls_to_a_name_the_certificate_does_not_hold_fails(dev: DevCertificates) -> None:
    server_ep = Endpoint(
        ["tls:127.0.0.1:0"], tls_server=server_context(dev.server_cert, dev.server_key)
    )
    client_ep = Endpoint(["udp:127.0.0.1:0"], tls_client=client_context())  # system store
    server_ep.route("MESSAGE", answer(200))
    async with running(server_ep) as server, running(client_ep) as client:
        req = new_request("MESSAGE", uri(server, "TLS"))
        resp = await within(client.request(req))
    assert resp.status == 503  # the handshake failed: a transport error
    assert "399" in (resp.headers.get("Warning") or "")


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_message_round_trip_over_ipv6(transport: str) -> None:
    if not ipv6_loopback():
        pytest.skip("IPv6 loopback is not available")
    seen: list[tuple[str, bytes]] = []
    server_ep = Endpoint(["udp:[::1]:0", "tcp:[::1]:0"])
    server_ep.route("MESSAGE", _echo(seen))
    async with running(server_ep) as server, running(Endpoint(["udp:[::1]:0"])) as client:
        target = uri(server, transport)
        assert "[::1]" in target
        resp = await within(client.request(new_request("MESSAGE", target, body=b"six")))
        remote = server.listener(transport).local
    assert resp.status == 200
    assert resp.body == b"pong: six"
    assert seen == [(transport, b"six")]
    assert remote[0] == "::1"


async def test_async_handler(server: Endpoint, client: Endpoint) -> None:
    @server.route("MESSAGE")
    async def on_message(incoming: IncomingRequest) -> None:
        await asyncio.sleep(0)
        incoming.respond(202, headers=[("X-Handled", "async")])

    resp = await within(client.request(new_request("MESSAGE", uri(server))))
    assert resp.status == 202
    assert resp.headers.get("X-Handled") == "async"


async def test_options_without_handler_lists_handled_methods(
    server: Endpoint, client: Endpoint
) -> None:
    server.route("MESSAGE", answer(200))
    server.route("INVITE", answer(486))
    resp = await within(client.request(new_request("OPTIONS", uri(server))))
    assert resp.status == 200
    assert allow_set(resp) == {"ACK", "CANCEL", "INVITE", "MESSAGE", "OPTIONS"}


async def test_known_method_without_handler_is_405_with_allow(
    server: Endpoint, client: Endpoint
) -> None:
    server.route("MESSAGE", answer(200))
    resp = await within(client.request(new_request("SUBSCRIBE", uri(server))))
    assert resp.status == 405
    assert allow_set(resp) == {"ACK", "CANCEL", "MESSAGE", "OPTIONS"}


async def test_unknown_method_is_501(server: Endpoint, client: Endpoint) -> None:
    server.route("MESSAGE", answer(200))
    resp = await within(client.request(new_request("FOO", uri(server))))
    assert resp.status == 501


async def test_handler_for_an_extension_method_is_called(
    server: Endpoint, client: Endpoint
) -> None:
    server.route("FOO", answer(200))
    resp = await within(client.request(new_request("FOO", uri(server))))
    assert resp.status == 200
    assert "FOO" in allow_set(await within(client.request(new_request("OPTIONS", uri(server)))))


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_handler_that_raises_gets_500_and_the_endpoint_keeps_working(
    server: Endpoint, client: Endpoint, kind: str
) -> None:
    calls = 0

    def sync_handler(incoming: IncomingRequest) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("handler bug")
        incoming.respond(200)

    async def async_handler(incoming: IncomingRequest) -> None:
        await asyncio.sleep(0)
        sync_handler(incoming)

    server.route("MESSAGE", sync_handler if kind == "sync" else async_handler)
    first = await within(client.request(new_request("MESSAGE", uri(server))))
    assert first.status == 500
    assert server.stats["handler_errors"] == 1
    second = await within(client.request(new_request("MESSAGE", uri(server))))
    assert second.status == 200
    assert calls == 2
    assert server.stats["handler_errors"] == 1


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_non_invite_handler_that_does_not_answer_gets_500(
    server: Endpoint, client: Endpoint, kind: str
) -> None:
    def sync_handler(incoming: IncomingRequest) -> None:
        return None

    async def async_handler(incoming: IncomingRequest) -> None:
        await asyncio.sleep(0)

    server.route("MESSAGE", sync_handler if kind == "sync" else async_handler)
    resp = await within(client.request(new_request("MESSAGE", uri(server))))
    assert resp.status == 500
    assert server.stats["unanswered"] == 1
    assert server.stats["handler_errors"] == 0


async def test_respond_twice_with_finals_raises(server: Endpoint, client: Endpoint) -> None:
    errors: list[BaseException] = []

    def on_message(incoming: IncomingRequest) -> None:
        incoming.respond(200)
        assert incoming.answered
        for status in (486, 180):
            try:
                incoming.respond(status)
            except SIPUsageError as exc:
                errors.append(exc)

    server.route("MESSAGE", on_message)
    responses: list[Response] = []
    final = await within(
        client.request(new_request("MESSAGE", uri(server)), on_response=responses.append)
    )
    assert final.status == 200
    assert [r.status for r in responses] == [200]
    assert len(errors) == 2
    assert all(isinstance(e, SIPUsageError) for e in errors)
    assert server.stats["handler_errors"] == 0


async def test_invite_ringing_then_answer_keeps_one_to_tag(
    server: Endpoint, client: Endpoint
) -> None:
    # The handler stays silent (the transaction sends 100 Trying), rings,
    # then answers after an await; the client sees every response in order.
    got_trying, got_ringing = asyncio.Event(), asyncio.Event()

    @server.route("INVITE")
    async def on_invite(incoming: IncomingRequest) -> None:
        await got_trying.wait()
        incoming.respond(180)
        await got_ringing.wait()
        incoming.respond(200, body=b"v=0\r\n", content_type="application/sdp")

    responses: list[Response] = []

    def on_response(resp: Response) -> None:
        responses.append(resp)
        if resp.status == 100:
            got_trying.set()
        elif resp.status == 180:
            got_ringing.set()

    invite = new_request("INVITE", uri(server))
    final = await within(client.request(invite, on_response=on_response))
    assert final.status == 200
    assert [r.status for r in responses] == [100, 180, 200]
    trying, ringing, ok = responses
    assert trying.to_addr.tag is None
    assert ringing.to_addr.tag is not None
    assert ringing.to_addr.tag == ok.to_addr.tag
    assert ok.body == b"v=0\r\n"
    await within(client.send_stateless(ack_for_2xx(invite, ok)))


async def test_invite_answered_later_outside_the_handler(
    server: Endpoint, client: Endpoint
) -> None:
    # A sync INVITE handler may return without answering; the application
    # answers on the IncomingRequest later.
    held: list[IncomingRequest] = []
    server.route("INVITE", held.append)
    ringing = asyncio.Event()
    invite = new_request("INVITE", uri(server, "TCP"))
    task = asyncio.ensure_future(
        client.request(invite, on_response=lambda r: ringing.set() if r.status == 100 else None)
    )
    await within(ringing.wait())
    assert server.stats["unanswered"] == 0
    [incoming] = held
    assert not incoming.answered
    incoming.respond(603)
    final = await within(task)
    assert final.status == 603
    assert incoming.answered


async def test_record_route_is_copied_into_2xx_of_invite_only(
    server: Endpoint, client: Endpoint
) -> None:
    server.route("INVITE", answer(200))
    server.route("MESSAGE", answer(200))
    record_route = [
        ("Record-Route", "<sip:p1.example.com;lr>"),
        ("Record-Route", "<sip:p2.example.com;lr>"),
    ]
    invite = new_request("INVITE", uri(server), headers=record_route)
    ok = await within(client.request(invite))
    assert ok.status == 200
    assert ok.headers.get_all("Record-Route") == [
        "<sip:p1.example.com;lr>",
        "<sip:p2.example.com;lr>",
    ]
    await within(client.send_stateless(ack_for_2xx(invite, ok)))

    message = new_request("MESSAGE", uri(server), headers=record_route)
    resp = await within(client.request(message))
    assert resp.status == 200
    assert "Record-Route" not in resp.headers


# -- requests with bad headers -----------------------------------------------


def _raw_request(method: str, port: int, peer_port: int, cseq: str) -> bytes:
    return (
        f"{method} sip:bob@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{peer_port};branch={new_branch()}\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:alice@example.com>;tag=a1\r\n"
        "To: <sip:bob@example.com>\r\n"
        f"Call-ID: {new_tag()}@bad.example\r\n"
        f"CSeq: {cseq}\r\n"
        "Content-Length: 0\r\n"
        "\r\n"
    ).encode()


@pytest.mark.parametrize("cseq", ["1 OPTIONS", "one MESSAGE", "1"])
async def test_request_with_bad_cseq_gets_400(server: Endpoint, cseq: str) -> None:
    called: list[IncomingRequest] = []
    server.route("MESSAGE", called.append)
    server.route("OPTIONS", called.append)
    port = server.listener("UDP").local[1]
    async with udp_peer() as peer:
        data = _raw_request("MESSAGE", port, peer.port, cseq)
        peer.send(data, ("127.0.0.1", port))
        resp, source = await peer.recv()
    assert isinstance(resp, Response)
    assert resp.status == 400
    assert source == ("127.0.0.1", port)
    assert resp.headers.get("CSeq") == cseq
    assert resp.to_addr.tag
    assert "399" in (resp.headers.get("Warning") or "")
    assert called == []
    assert len(server.layer) == 0


async def test_bad_ack_is_not_answered(server: Endpoint) -> None:
    port = server.listener("UDP").local[1]
    async with udp_peer() as peer:
        peer.send(_raw_request("ACK", port, peer.port, "1 INVITE"), ("127.0.0.1", port))
        # An OPTIONS after it is answered: had the ACK been answered, that
        # answer would have come first on this socket.
        peer.send(_raw_request("OPTIONS", port, peer.port, "2 OPTIONS"), ("127.0.0.1", port))
        resp, _ = await peer.recv()
    assert isinstance(resp, Response)
    assert resp.cseq.method == "OPTIONS"
    assert resp.status == 200


# -- the client side ---------------------------------------------------------


async def test_request_to_a_silent_udp_peer_times_out_with_local_408() -> None:
    done: list[tuple[Message, MessageInfo]] = []
    async with udp_peer() as peer, running(Endpoint(timers=FAST)) as client:
        client.add_hook(HookPoint.TRANSACTION_DONE, lambda m, i: done.append((m, i)))
        req = new_request("MESSAGE", f"sip:bob@127.0.0.1:{peer.port}")
        loop = asyncio.get_running_loop()
        start = loop.time()
        resp = await within(client.request(req))
        elapsed = loop.time() - start
        copies = [peer.queue.get_nowait()[0] for _ in range(peer.queue.qsize())]
        await until(lambda: len(client.layer) == 0, "the client transaction is gone")
    assert resp.status == 408
    assert resp.call_id == req.call_id
    assert "399" in (resp.headers.get("Warning") or "")
    assert elapsed >= 64 * FAST.t1 * 0.9  # Timer F
    assert len(copies) >= 3  # Timer E retransmitted the request
    assert all(c == copies[0] for c in copies)
    [(message, info)] = done
    assert message is req
    assert info.final is None


async def test_tcp_request_to_a_closed_port_fails_fast_with_local_503(client: Endpoint) -> None:
    port = closed_tcp_port()
    loop = asyncio.get_running_loop()
    start = loop.time()
    resp = await within(
        client.request(new_request("MESSAGE", f"sip:bob@127.0.0.1:{port};transport=tcp"))
    )
    assert resp.status == 503
    assert "399" in (resp.headers.get("Warning") or "")
    assert loop.time() - start < 2.0  # not Timer F (32 s with default timers)
    await until(lambda: len(client.layer) == 0, "the failed transaction is gone")


async def test_udp_request_is_retransmitted_until_answered() -> None:
    wire_out: list[MessageInfo] = []
    tu_out: list[Message] = []
    async with udp_peer() as peer, running(Endpoint(timers=QUICK)) as client:
        client.add_hook(HookPoint.WIRE_OUT, lambda m, i: wire_out.append(i))
        client.add_hook(HookPoint.TU_OUT, lambda m, i: tu_out.append(m))
        req = new_request("MESSAGE", f"sip:bob@127.0.0.1:{peer.port}")
        task = asyncio.ensure_future(client.request(req))
        first, _ = await peer.recv_raw()  # ignored
        second, source = await peer.recv_raw()
        assert second == first
        retransmitted = parse(second)
        assert isinstance(retransmitted, Request)
        assert retransmitted.top_via.branch == req.top_via.branch
        assert source == client.listener("UDP").local
        peer.send(make_response(retransmitted, 200, to_tag=new_tag()), source)
        resp = await within(task)
    assert resp.status == 200
    assert len(tu_out) == 1
    assert [i.retransmission for i in wire_out[:2]] == [False, True]


async def test_no_retransmissions_over_tcp() -> None:
    async with tcp_peer() as peer, running(Endpoint(timers=QUICK)) as client:
        req = new_request("MESSAGE", f"sip:bob@127.0.0.1:{peer.port};transport=tcp")
        task = asyncio.ensure_future(client.request(req))
        got, writer = await peer.recv()
        assert isinstance(got, Request)
        assert got.top_via.transport == "TCP"
        # Timer E would have fired several times within 10 * T1.
        with pytest.raises(TimeoutError):
            await peer.recv(timeout=10 * QUICK.t1)
        writer.write(bytes(make_response(got, 200, to_tag=new_tag())))
        resp = await within(task)
    assert resp.status == 200


async def test_large_request_to_a_udp_uri_goes_over_tcp() -> None:
    # The server listens on UDP and TCP on the same port number (§18.1.1).
    seen: list[tuple[str, str, int]] = []

    def on_message(incoming: IncomingRequest) -> None:
        request = incoming.request
        seen.append((incoming.flow.transport, request.top_via.transport, len(request.body)))
        incoming.respond(200)

    # Port 0 for both: the endpoint gives TCP the port UDP got.
    server_ep = Endpoint(["udp:127.0.0.1:0", "tcp:127.0.0.1:0"])
    server_ep.route("MESSAGE", on_message)
    async with running(server_ep) as server, running(Endpoint()) as client:
        port = server.listener("UDP").local[1]
        assert server.listener("TCP").local == ("127.0.0.1", port)
        target = f"sip:bob@127.0.0.1:{port}"

        small = new_request("MESSAGE", target, body=b"x" * 100, content_type="text/plain")
        assert (await within(client.request(small))).status == 200
        large = new_request("MESSAGE", target, body=b"x" * 1400, content_type="text/plain")
        assert (await within(client.request(large))).status == 200
    assert small.top_via.transport == "UDP"
    assert large.top_via.transport == "TCP"
    assert seen == [("UDP", "UDP", 100), ("TCP", "TCP", 1400)]


async def test_port_zero_falls_back_when_the_udp_port_is_taken_for_tcp() -> None:
    # Something else holds TCP on the port UDP will get: TCP takes any port.
    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        ep = Endpoint([f"udp:127.0.0.1:{taken}", "tcp:127.0.0.1:0"])
        async with running(ep) as server:
            assert server.listener("UDP").local[1] == taken
            assert server.listener("TCP").local[1] != taken
    finally:
        blocker.close()


# -- INVITE, CANCEL and ACK --------------------------------------------------


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_cancel_ends_a_ringing_invite_with_487(
    server: Endpoint, client: Endpoint, transport: str
) -> None:
    held: list[IncomingRequest] = []
    release = asyncio.Event()

    @server.route("INVITE")
    async def on_invite(incoming: IncomingRequest) -> None:
        held.append(incoming)
        incoming.respond(180)
        await release.wait()
        if not incoming.answered:
            incoming.respond(200)

    ringing = asyncio.Event()
    responses: list[Response] = []

    def on_response(resp: Response) -> None:
        responses.append(resp)
        if resp.status == 180:
            ringing.set()

    invite = new_request("INVITE", uri(server, transport))
    task = asyncio.ensure_future(client.request(invite, on_response=on_response))
    await within(ringing.wait())
    [incoming] = held
    assert not incoming.cancelled

    cancel = cancel_for(invite)
    cancelled = await within(client.request(cancel))
    assert cancelled.status == 200
    assert cancelled.cseq.method == "CANCEL"
    assert cancel.top_via.branch == invite.top_via.branch  # request() kept the Via
    final = await within(task)
    assert final.status == 487
    assert final.to_addr.tag == responses[0].to_addr.tag
    assert incoming.cancelled
    assert incoming.answered
    release.set()
    if transport == "TCP":  # Timers I and J are zero: everything is gone at once
        await until(lambda: len(server.layer) == 0, "the server's table is empty")


async def test_cancel_for_nothing_gets_481(server: Endpoint, client: Endpoint) -> None:
    server.route("INVITE", answer(200))
    cancel = new_request("CANCEL", uri(server))
    resp = await within(client.request(cancel))
    assert resp.status == 481


async def test_cancel_after_the_final_response_does_not_change_it(
    server: Endpoint, client: Endpoint
) -> None:
    server.route("INVITE", answer(486))
    invite = new_request("INVITE", uri(server))
    assert (await within(client.request(invite))).status == 486
    resp = await within(client.request(cancel_for(invite)))
    assert resp.status == 200  # the INVITE transaction is still there (Completed)


async def test_ack_for_2xx_reaches_the_ack_handler(server: Endpoint, client: Endpoint) -> None:
    acks: asyncio.Queue[IncomingRequest] = asyncio.Queue()
    server.route("INVITE", answer(200))
    server.route("ACK", acks.put_nowait)
    invite = new_request("INVITE", uri(server))
    ok = await within(client.request(invite))
    assert ok.status == 200
    await within(client.send_stateless(ack_for_2xx(invite, ok)))
    incoming = await within(acks.get())
    ack = incoming.request
    assert ack.method == "ACK"
    assert ack.call_id == invite.call_id
    assert ack.to_addr.tag == ok.to_addr.tag
    assert ack.top_via.branch != invite.top_via.branch
    assert incoming.flow.transport == "UDP"


# -- hooks -------------------------------------------------------------------


async def test_every_hook_point_sees_a_message_exchange(server: Endpoint, client: Endpoint) -> None:
    server.route("MESSAGE", answer(200))
    s = Recorder().attach(server)
    c = Recorder().attach(client)
    req = new_request("MESSAGE", uri(server))
    resp = await within(client.request(req))
    assert resp.status == 200
    server_addr = server.listener("UDP").local
    client_addr = client.listener("UDP").local

    assert s.trace() == [
        ("WIRE_IN", "MESSAGE"),
        ("TU_IN", "MESSAGE"),
        ("TU_OUT", "200"),
        ("WIRE_OUT", "200"),
        ("TRANSACTION_DONE", "MESSAGE"),
    ]
    for point, _, info in s.seen[:4]:
        assert info.point is point
        assert info.transport == "UDP"
        assert info.local == server_addr
        assert info.remote == client_addr
        assert info.retransmission is False
        assert info.time > 0
    assert [i.direction for _, _, i in s.seen[:4]] == ["in", "in", "out", "out"]
    [(done_msg, done)] = s.at(HookPoint.TRANSACTION_DONE)
    assert isinstance(done_msg, Request) and done_msg.call_id == req.call_id
    assert done.final is not None and done.final.status == 200

    assert c.trace() == [
        ("TU_OUT", "MESSAGE"),
        ("WIRE_OUT", "MESSAGE"),
        ("WIRE_IN", "200"),
        ("TU_IN", "200"),
        ("TRANSACTION_DONE", "MESSAGE"),
    ]
    [(_, tu_out)] = c.at(HookPoint.TU_OUT)
    assert tu_out.direction == "out"
    assert tu_out.remote is None  # not known before the transport is chosen
    for point in (HookPoint.WIRE_IN, HookPoint.TU_IN):
        [(msg, info)] = c.at(point)
        assert msg.call_id == req.call_id
        assert info.direction == "in"
        assert info.transport == "UDP"
        assert info.local == client_addr
        assert info.remote == server_addr
    [(_, client_done)] = c.at(HookPoint.TRANSACTION_DONE)
    assert client_done.final is resp


async def test_wire_out_of_a_request_knows_where_it_goes(
    server: Endpoint, client: Endpoint
) -> None:
    server.route("MESSAGE", answer(200))
    c = Recorder().attach(client)
    assert (await within(client.request(new_request("MESSAGE", uri(server))))).status == 200
    [(_, info)] = c.at(HookPoint.WIRE_OUT)
    assert info.transport == "UDP"
    assert info.remote == server.listener("UDP").local


async def test_wire_hooks_see_retransmissions_tu_hooks_do_not(server: Endpoint) -> None:
    calls: list[IncomingRequest] = []

    def on_message(incoming: IncomingRequest) -> None:
        calls.append(incoming)
        incoming.respond(200)

    server.route("MESSAGE", on_message)
    s = Recorder().attach(server)
    port = server.listener("UDP").local[1]
    async with udp_peer() as peer:
        data = _raw_request("MESSAGE", port, peer.port, "1 MESSAGE")
        peer.send(data, ("127.0.0.1", port))
        first, _ = await peer.recv()
        peer.send(data, ("127.0.0.1", port))  # the same request again
        second, _ = await peer.recv()
    assert isinstance(first, Response) and isinstance(second, Response)
    assert first.status == second.status == 200
    assert bytes(first) == bytes(second)
    assert len(calls) == 1
    assert len(s.at(HookPoint.WIRE_IN)) == 2
    assert len(s.at(HookPoint.TU_IN)) == 1
    assert len(s.at(HookPoint.TU_OUT)) == 1
    assert [i.retransmission for _, i in s.at(HookPoint.WIRE_OUT)] == [False, True]


@pytest.mark.parametrize(
    "point",
    [
        pytest.param(
            HookPoint.WIRE_IN,
        ),
        HookPoint.TU_IN,
    ],
)
async def test_hook_returning_false_drops_a_request_silently(point: HookPoint) -> None:
    called: list[IncomingRequest] = []
    server_ep = Endpoint(["udp:127.0.0.1:0"], timers=FAST)
    server_ep.route("MESSAGE", called.append)
    seen: list[Message] = []

    def drop(message: Message, info: MessageInfo) -> bool:
        seen.append(message)
        return False

    server_ep.add_hook(point, drop)
    async with running(server_ep) as server, running(Endpoint(timers=FAST)) as client:
        resp = await within(client.request(new_request("MESSAGE", uri(server))))
        assert len(server.layer) == 0  # nothing is kept for a dropped request
    assert resp.status == 408  # nothing came back: Timer F
    assert called == []
    assert len(seen) >= 2  # the retransmissions were dropped too


async def test_tu_out_hook_returning_false_stops_an_outgoing_request(
    server: Endpoint, client: Endpoint
) -> None:
    arrived: list[IncomingRequest] = []
    server.route("MESSAGE", arrived.append)
    server.route("OPTIONS", answer(200))
    client.add_hook(HookPoint.TU_OUT, lambda m, i: m.method != "MESSAGE")
    resp = await within(client.request(new_request("MESSAGE", uri(server))))
    assert resp.status == 503
    assert "399" in (resp.headers.get("Warning") or "")
    assert len(client.layer) == 0
    # Had the MESSAGE gone out, it would have arrived before this OPTIONS.
    assert (await within(client.request(new_request("OPTIONS", uri(server))))).status == 200
    assert arrived == []


async def test_response_stopped_at_tu_out_does_not_leak_its_transaction() -> None:
    server_ep = Endpoint(["udp:127.0.0.1:0"], timers=FAST)
    server_ep.route("MESSAGE", answer(200))
    server_ep.add_hook(HookPoint.TU_OUT, lambda m, i: False if isinstance(m, Response) else None)
    async with (
        running(server_ep, close_timeout=0.1) as server,
        running(Endpoint(timers=FAST)) as client,
    ):
        resp = await within(client.request(new_request("MESSAGE", uri(server))))
        assert resp.status == 408
        await until(lambda: len(server.layer) == 0, "the server forgot the request", 1.5)


@pytest.mark.parametrize("verdict", ["status", "response"])
async def test_tu_in_hook_answers_without_the_handler(
    server: Endpoint, client: Endpoint, verdict: str
) -> None:
    called: list[IncomingRequest] = []
    server.route("MESSAGE", called.append)

    def forbid(message: Message, info: MessageInfo) -> int | Response | None:
        if not isinstance(message, Request):
            return None
        if verdict == "status":
            return 403
        return make_response(
            message, 403, "Not Here", to_tag=new_tag(), headers=[("X-Why", "hook")]
        )

    server.add_hook(HookPoint.TU_IN, forbid)
    resp = await within(client.request(new_request("MESSAGE", uri(server))))
    assert resp.status == 403
    assert called == []
    if verdict == "response":
        assert resp.headers.get("X-Why") == "hook"


@pytest.mark.parametrize("point", [HookPoint.WIRE_IN, HookPoint.TU_IN, HookPoint.TU_OUT])
async def test_hook_that_raises_is_counted_and_the_message_goes_on(
    server: Endpoint, client: Endpoint, point: HookPoint, caplog: pytest.LogCaptureFixture
) -> None:
    server.route("MESSAGE", answer(200))

    def broken(message: Message, info: MessageInfo) -> None:
        raise RuntimeError("hook bug")

    server.add_hook(point, broken)
    with caplog.at_level(logging.ERROR, logger="sipstack.endpoint"):
        resp = await within(client.request(new_request("MESSAGE", uri(server))))
    assert resp.status == 200
    assert server.stats["hook_errors"] == 1
    [record] = [r for r in caplog.records if r.name == "sipstack.endpoint"]
    assert point.value in record.getMessage()
    assert record.exc_info is not None


class _FailClosed:
    fail_closed = True

    def __call__(self, message: Message, info: MessageInfo) -> None:
        if isinstance(message, Request):
            raise RuntimeError("policy engine down")


@pytest.mark.parametrize("point", [HookPoint.WIRE_IN, HookPoint.TU_IN])
async def test_fail_closed_hook_that_raises_stops_the_request_with_500(
    server: Endpoint, client: Endpoint, point: HookPoint
) -> None:
    called: list[IncomingRequest] = []
    server.route("MESSAGE", called.append)
    server.add_hook(point, _FailClosed())
    resp = await within(client.request(new_request("MESSAGE", uri(server))))
    assert resp.status == 500
    assert called == []
    assert server.stats["hook_errors"] == 1


async def test_tu_out_hook_may_change_an_outgoing_response(
    server: Endpoint, client: Endpoint
) -> None:
    server.route("MESSAGE", answer(200))

    def stamp(message: Message, info: MessageInfo) -> None:
        if isinstance(message, Response):
            message.headers.add("X-Intercepted", "yes")

    server.add_hook(HookPoint.TU_OUT, stamp)
    resp = await within(client.request(new_request("MESSAGE", uri(server, "TCP"))))
    assert resp.status == 200
    assert resp.headers.get("X-Intercepted") == "yes"


async def test_tu_out_hook_may_change_an_outgoing_request(
    server: Endpoint, client: Endpoint
) -> None:
    seen: list[str | None] = []

    def on_message(incoming: IncomingRequest) -> None:
        seen.append(incoming.request.headers.get("X-Intercepted"))
        incoming.respond(200)

    server.route("MESSAGE", on_message)

    def stamp(message: Message, info: MessageInfo) -> None:
        if isinstance(message, Request):
            message.headers.add("X-Intercepted", "request")

    client.add_hook(HookPoint.TU_OUT, stamp)
    assert (await within(client.request(new_request("MESSAGE", uri(server))))).status == 200
    assert seen == ["request"]


async def test_transaction_done_gets_the_final_response_of_an_invite(
    server: Endpoint, client: Endpoint
) -> None:
    server.route("INVITE", answer(486))
    done_server: list[tuple[Message, MessageInfo]] = []
    done_client: list[tuple[Message, MessageInfo]] = []
    server.add_hook(HookPoint.TRANSACTION_DONE, lambda m, i: done_server.append((m, i)))
    client.add_hook(HookPoint.TRANSACTION_DONE, lambda m, i: done_client.append((m, i)))
    invite = new_request("INVITE", uri(server))
    resp = await within(client.request(invite))
    assert resp.status == 486
    [(s_msg, s_info)] = done_server
    [(c_msg, c_info)] = done_client
    assert isinstance(s_msg, Request) and s_msg.method == "INVITE"
    assert s_info.point is HookPoint.TRANSACTION_DONE
    assert s_info.final is not None and s_info.final.status == 486
    assert c_msg is invite
    assert c_info.final is resp


async def test_transaction_done_sees_a_cancelled_invite(server: Endpoint, client: Endpoint) -> None:
    done: list[tuple[Message, MessageInfo]] = []
    server.add_hook(HookPoint.TRANSACTION_DONE, lambda m, i: done.append((m, i)))
    ringing = asyncio.Event()
    server.route("INVITE", answer(180))
    invite = new_request("INVITE", uri(server))
    task = asyncio.ensure_future(
        client.request(invite, on_response=lambda r: ringing.set() if r.status == 180 else None)
    )
    await within(ringing.wait())
    assert (await within(client.request(cancel_for(invite)))).status == 200
    assert (await within(task)).status == 487
    finals = {
        m.method: i.final.status if i.final else None for m, i in done if isinstance(m, Request)
    }
    assert finals.get("INVITE") == 487


async def test_final_response_dropped_at_tu_in_still_ends_the_request(
    server: Endpoint,
) -> None:
    server.route("MESSAGE", answer(200))
    client_ep = Endpoint(timers=FAST)
    client_ep.add_hook(HookPoint.TU_IN, lambda m, i: False if isinstance(m, Response) else None)
    async with running(client_ep) as client:
        resp = await within(client.request(new_request("MESSAGE", uri(server))), 2.0)
    assert resp.status != 200


@pytest.mark.parametrize("case", ["bad-cseq", "wire-in-verdict"])
async def test_wire_out_sees_stateless_responses(server: Endpoint, case: str) -> None:
    out: list[Message] = []
    server.route("MESSAGE", answer(200))
    server.add_hook(HookPoint.WIRE_OUT, lambda m, i: out.append(m))
    if case == "wire-in-verdict":
        server.add_hook(HookPoint.WIRE_IN, lambda m, i: 403 if isinstance(m, Request) else None)
    cseq, expected = ("1 OPTIONS", 400) if case == "bad-cseq" else ("1 MESSAGE", 403)
    port = server.listener("UDP").local[1]
    async with udp_peer() as peer:
        peer.send(_raw_request("MESSAGE", port, peer.port, cseq), ("127.0.0.1", port))
        resp, _ = await peer.recv()
    assert isinstance(resp, Response) and resp.status == expected
    assert [m.status for m in out if isinstance(m, Response)] == [expected]


async def test_2xx_to_invite_over_udp_is_retransmitted_until_acked() -> None:
    server_ep = Endpoint(["udp:127.0.0.1:0"], timers=FAST)
    server_ep.route("INVITE", answer(200))
    async with running(server_ep) as server, udp_peer() as peer:
        port = server.listener("UDP").local[1]
        peer.send(_raw_request("INVITE", port, peer.port, "1 INVITE"), ("127.0.0.1", port))
        first, _ = await peer.recv()
        assert isinstance(first, Response) and first.status == 200
        # The peer sends no ACK: the UAS core must send the 2xx again after T1.
        again, _ = await peer.recv(timeout=1.0)
    assert isinstance(again, Response) and again.status == 200
    assert again.to_addr.tag == first.to_addr.tag


# -- graceful shutdown ---------------------------------------------------------


async def test_close_lets_a_working_handler_finish_and_refuses_new_requests() -> None:
    release = asyncio.Event()
    started = asyncio.Event()

    server_ep = Endpoint(["udp:127.0.0.1:0", "tcp:127.0.0.1:0"])

    @server_ep.route("MESSAGE")
    async def on_message(incoming: IncomingRequest) -> None:
        started.set()
        await release.wait()
        incoming.respond(200, body=b"finished")

    await server_ep.start()
    try:
        async with running(Endpoint()) as client, running(Endpoint()) as late:
            pending = asyncio.ensure_future(
                client.request(new_request("MESSAGE", uri(server_ep, "TCP")))
            )
            await within(started.wait())
            closing = asyncio.ensure_future(server_ep.close(timeout=TIMEOUT))
            await asyncio.sleep(0)  # close() has begun: it waits for the handler
            assert not closing.done()

            refused = await within(late.request(new_request("MESSAGE", uri(server_ep))))
            assert refused.status == 503
            assert refused.headers.get("Retry-After") == "5"
            assert not pending.done()

            release.set()
            resp = await within(pending)
            assert resp.status == 200
            assert resp.body == b"finished"
            await within(closing)
    finally:
        await server_ep.close(timeout=0.1)


async def test_close_lets_a_handler_finish_while_the_client_retransmits() -> None:
    release = asyncio.Event()
    started = asyncio.Event()
    arrivals: list[Message] = []
    server_ep = Endpoint(["udp:127.0.0.1:0"])
    server_ep.add_hook(HookPoint.WIRE_IN, lambda m, i: arrivals.append(m))

    @server_ep.route("MESSAGE")
    async def on_message(incoming: IncomingRequest) -> None:
        started.set()
        await release.wait()
        incoming.respond(200)

    await server_ep.start()
    try:
        async with running(Endpoint(timers=QUICK)) as client:
            pending = asyncio.ensure_future(client.request(new_request("MESSAGE", uri(server_ep))))
            await within(started.wait())
            closing = asyncio.ensure_future(server_ep.close(timeout=TIMEOUT))
            await asyncio.sleep(0)
            count = len(arrivals)
            await until(lambda: len(arrivals) > count, "a retransmission arrived during close")
            release.set()
            resp = await within(pending)
            await within(closing)
        assert resp.status == 200
    finally:
        await server_ep.close(timeout=0.1)


@pytest.mark.parametrize("method", ["MESSAGE", "INVITE"])
async def test_close_answers_what_is_left_503_after_the_deadline(method: str) -> None:
    cancelled = asyncio.Event()
    server_ep = Endpoint(["udp:127.0.0.1:0"])

    async def forever(incoming: IncomingRequest) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    server_ep.route(method, forever)
    await server_ep.start()
    try:
        async with running(Endpoint()) as client:
            pending = asyncio.ensure_future(client.request(new_request(method, uri(server_ep))))
            await until(lambda: server_ep.layer.active() > 0, "the request arrived")
            loop = asyncio.get_running_loop()
            start = loop.time()
            await within(server_ep.close(timeout=0.2))
            assert loop.time() - start >= 0.15
            resp = await within(pending)
        assert resp.status == 503
        assert cancelled.is_set()  # the handler task was cancelled
    finally:
        await server_ep.close(timeout=0.1)


async def test_close_503_after_ringing_keeps_the_to_tag() -> None:
    server_ep = Endpoint(["udp:127.0.0.1:0"])

    async def ring_forever(incoming: IncomingRequest) -> None:
        incoming.respond(180)
        await asyncio.Event().wait()

    server_ep.route("INVITE", ring_forever)
    await server_ep.start()
    try:
        async with running(Endpoint()) as client:
            ringing = asyncio.Event()
            responses: list[Response] = []

            def on_response(resp: Response) -> None:
                responses.append(resp)
                if resp.status == 180:
                    ringing.set()

            pending = asyncio.ensure_future(
                client.request(new_request("INVITE", uri(server_ep)), on_response=on_response)
            )
            await within(ringing.wait())
            await within(server_ep.close(timeout=0.05))
            final = await within(pending)
        assert final.status == 503
        assert final.to_addr.tag == responses[0].to_addr.tag
    finally:
        await server_ep.close(timeout=0.1)


async def test_pending_client_request_gets_local_503_when_the_endpoint_closes() -> None:
    async with udp_peer() as peer:
        client = Endpoint()
        await client.start()
        try:
            pending = asyncio.ensure_future(
                client.request(new_request("MESSAGE", f"sip:bob@127.0.0.1:{peer.port}"))
            )
            await peer.recv_raw()  # it went out; nobody answers
            await within(client.close(timeout=0.1))
            resp = await within(pending)
        finally:
            await client.close(timeout=0.1)
    assert resp.status == 503
    assert "399" in (resp.headers.get("Warning") or "")
    with pytest.raises(SIPUsageError):
        await client.request(new_request("MESSAGE", f"sip:bob@127.0.0.1:{peer.port}"))


async def test_close_closes_every_socket(client: Endpoint) -> None:
    server = Endpoint(["udp:127.0.0.1:0", "tcp:127.0.0.1:0"])
    server.route("MESSAGE", answer(200))
    await server.start()
    try:
        udp_port = server.listener("UDP").local[1]
        tcp_port = server.listener("TCP").local[1]
        # An accepted connection too, with a request answered over it.
        assert (
            await within(client.request(new_request("MESSAGE", uri(server, "TCP"))))
        ).status == 200
        reader, writer = await within(asyncio.open_connection("127.0.0.1", tcp_port))
        await until(lambda: server.transports.connections >= 2, "both connections are accepted")
    finally:
        await within(server.close(timeout=0.5))
    try:
        assert await within(reader.read()) == b""  # the server closed its side
    finally:
        writer.close()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", udp_port))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # SO_REUSEADDR passes TIME_WAIT leftovers, never a listening socket.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", tcp_port))
        s.listen()
    with pytest.raises(SIPUsageError):
        _ = server.listeners
    await server.close()  # a second close does nothing


# -- configuration --------------------------------------------------------------


def test_cancel_cannot_be_routed_in_any_spelling() -> None:
    ep = Endpoint()
    with pytest.raises(SIPUsageError):
        ep.route("CANCEL", answer(200))
    with pytest.raises(SIPUsageError):
        ep.route("cancel", answer(200))


# -- the transaction table drains ---------------------------------------------


N_BURST = 30


@pytest.mark.parametrize("transport", ["TCP", "UDP"])
async def test_transaction_table_drains_after_a_burst(transport: str) -> None:
    server_ep = Endpoint(["udp:127.0.0.1:0", "tcp:127.0.0.1:0"], timers=FAST)
    server_ep.route("MESSAGE", answer(200))
    async with running(server_ep) as server, running(Endpoint(timers=QUICK)) as client:
        requests = [new_request("MESSAGE", uri(server, transport)) for _ in range(N_BURST)]
        responses = await within(asyncio.gather(*(client.request(r) for r in requests)))
        assert [r.status for r in responses] == [200] * N_BURST
        # Timer J and K are zero on TCP; on UDP they are 64*T1 and T4.
        await until(lambda: len(server.layer) == 0, "the server's table is empty")
        await until(lambda: len(client.layer) == 0, "the client's table is empty")
        assert server.layer.next_deadline is None


async def test_a_request_on_a_connection_that_closes_fails_at_once() -> None:
    """A TCP peer that reads the request and hangs up will never answer on
    that connection: the request fails as a transport error (503) now, not
    after Timer F."""
    got = asyncio.Event()

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_message(reader)
        got.set()
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with running(Endpoint(["tcp:127.0.0.1:0"])) as client:
            req = new_request("MESSAGE", f"sip:bob@127.0.0.1:{port};transport=tcp", body=b"x")
            started = time.monotonic()
            resp = await within(client.request(req))
            assert got.is_set()
            assert resp.status == 503
            assert time.monotonic() - started < 2.0
    finally:
        server.close()
        await server.wait_closed()


async def test_a_handler_reading_a_malformed_header_answers_400_not_500() -> None:
    """The peer's malformed header, found when the handler reads it, is the
    peer's error: 400 with the reason, counted as a bad request."""
    async with running(Endpoint(["udp:127.0.0.1:0"])) as server_ep, udp_peer() as peer:

        @server_ep.route("MESSAGE")
        def on_message(incoming: IncomingRequest) -> None:
            incoming.request.from_addr  # noqa: B018 - reading it raises
            incoming.respond(200)

        port = server_ep.listener("UDP").local[1]
        raw = _raw_request("MESSAGE", port, peer.port, "1 MESSAGE").replace(
            b"From: ", b"From: <sip:broken@x;tag=1\r\nX-Was-From: "
        )
        peer.send(raw, ("127.0.0.1", port))
        answer, _ = await peer.recv()
        assert isinstance(answer, Response) and answer.status == 400
        assert server_ep.stats["bad_requests"] == 1 and server_ep.stats["handler_errors"] == 0
