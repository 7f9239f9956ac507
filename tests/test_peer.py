"""The Peer, peer to peer over real sockets (UDP, TCP, TLS): sign-in with
digest challenges from a test registrar, instant messages, calls."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from peer_events import address, expect

from sipstack.auth import DigestServer, ha1
from sipstack.certs import DevCertificates, client_context, server_context, write_dev_certificates
from sipstack.endpoint import Endpoint, HookPoint, IncomingRequest, MessageInfo
from sipstack.interceptors import Interceptor
from sipstack.message import Request, Response, make_response, parse
from sipstack.sdp import (
    audio_media,
    desktop_sharing_media,
    hold,
    make_answer,
    make_offer,
    parse_sdp,
    resume,
)
from sipstack.transaction import TimerConfig
from sipstack.ua import (
    AuthenticationFailed,
    CallAnswered,
    CallEnded,
    CallFailed,
    CallProgress,
    CallState,
    CallUpdated,
    ComposingChanged,
    ControlChanged,
    Event,
    IncomingCall,
    InfoReceived,
    MessageReceived,
    Peer,
    Registered,
    RegistrationFailed,
    RequestFailed,
    Unregistered,
)

TIMEOUT = 5.0
FAST = TimerConfig(t1=0.05, t2=0.4, t4=0.5)


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> DevCertificates:
    return write_dev_certificates(tmp_path_factory.mktemp("peer-tls") / "certs")


def listen_for(transport: str) -> list[str]:
    if transport == "TLS":
        return ["udp:127.0.0.1:0", "tls:127.0.0.1:0"]
    return ["udp:127.0.0.1:0", "tcp:127.0.0.1:0"]


@asynccontextmanager
async def pair(
    transport: str = "UDP", dev: DevCertificates | None = None, **kw: Any
) -> AsyncIterator[tuple[Peer, Peer]]:
    tls: dict[str, Any] = {}
    if transport == "TLS":
        assert dev is not None
        tls = {
            "tls_server": server_context(dev.server_cert, dev.server_key),
            "tls_client": client_context(ca=dev.ca_cert),
        }
    alice = Peer(
        "sip:alice@127.0.0.1",
        transport=transport.lower(),
        listen=listen_for(transport),
        **tls,
        **kw,
    )
    bob = Peer(
        "sip:bob@127.0.0.1", transport=transport.lower(), listen=listen_for(transport), **tls, **kw
    )
    async with alice, bob:
        yield alice, bob


TRANSPORTS = ["UDP", "TCP", "TLS"]


# -- instant messages ---------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_message_both_ways(transport: str, dev: DevCertificates) -> None:
    async with pair(transport, dev) as (alice, bob):
        ok = await asyncio.wait_for(
            alice.message(address(bob, "bob", transport), "hi bob"), TIMEOUT
        )
        assert ok.status == 200
        got = await expect(bob, MessageReceived)
        assert got.text == "hi bob" and got.sender == "sip:alice@127.0.0.1"
        assert got.content_type.startswith("text/plain") and got.call is None
        await alice.message(address(alice, "alice", transport), "self")
        await bob.message(address(alice, "alice", transport), "hi alice 😀")
        assert (await expect(alice, MessageReceived)).text == "self"
        assert (await expect(alice, MessageReceived)).text == "hi alice 😀"


async def test_message_other_content_type_and_binary_body() -> None:
    async with pair() as (alice, bob):
        body = bytes(range(256))
        await alice.message(address(bob, "bob"), body, "application/octet-stream")
        got = await expect(bob, MessageReceived)
        assert got.body == body and got.content_type == "application/octet-stream"


async def test_large_message_goes_over_tcp_not_udp() -> None:
    async with pair() as (alice, bob):
        text = "x" * 4000  # over the 1300-byte UDP limit of §18.1.1
        await asyncio.wait_for(alice.message(address(bob, "bob"), text), TIMEOUT)
        assert (await expect(bob, MessageReceived)).text == text


async def test_delivery_failure_raises_with_the_status() -> None:
    async with Endpoint(["udp:127.0.0.1:0"]) as ua, Peer("sip:alice@127.0.0.1") as alice:
        ua.route("MESSAGE", lambda incoming: incoming.respond(480, "Temporarily Unavailable"))
        port = ua.listener("UDP").local[1]
        with pytest.raises(RequestFailed) as info:
            await asyncio.wait_for(alice.message(f"sip:bob@127.0.0.1:{port}", "x"), TIMEOUT)
        assert info.value.status == 480 and "480" in str(info.value)


async def test_nobody_answers_is_a_408_not_a_hang() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))  # takes datagrams, never answers
        port = silent.getsockname()[1]
        async with Peer("sip:alice@127.0.0.1", timers=FAST) as alice:
            with pytest.raises(RequestFailed) as info:
                await asyncio.wait_for(alice.message(f"sip:bob@127.0.0.1:{port}", "x"), TIMEOUT)
        assert info.value.status == 408


# -- digest authentication ----------------------------------------------------


class Registrar:
    """A small registrar for tests: digest challenges (401, or 407 for other
    requests when ``proxy_auth``), bindings by AOR."""

    def __init__(
        self,
        users: dict[str, str],
        realm: str = "test",
        proxy_auth: bool = False,
        listen: tuple[str, ...] = ("udp:127.0.0.1:0", "tcp:127.0.0.1:0"),
        tls_server: Any = None,
        **kw: Any,
    ) -> None:
        self.endpoint = Endpoint(listen, tls_server=tls_server)
        self.digest = DigestServer(realm, **kw)
        self.realm = realm
        self.users = users
        self.proxy_auth = proxy_auth
        self.bindings: dict[str, str] = {}
        self.requests: list[Request] = []
        self.messages: list[Request] = []
        self.skew = 0.0  # added to the clock: lets a test age the nonces
        self.endpoint.route("REGISTER", self.on_register)
        self.endpoint.route("MESSAGE", self.on_message)

    def lookup(self, username: str, realm: str, algorithm: str) -> str | None:
        password = self.users.get(username)
        return None if password is None else ha1(username, realm, password, algorithm)

    def authenticated(self, incoming: IncomingRequest, proxy: bool = False) -> bool:
        request = incoming.request
        self.requests.append(request)
        now = time.time() + self.skew
        result = self.digest.verify(request, now, self.lookup, proxy=proxy)
        if result.ok:
            return True
        incoming.respond(
            407 if proxy else 401,
            headers=self.digest.challenge(now, stale=result.stale, proxy=proxy),
        )
        return False

    def on_register(self, incoming: IncomingRequest) -> None:
        if not self.authenticated(incoming):
            return
        request = incoming.request
        aor = str(request.to_addr.uri)
        expires = int(request.headers.get("Expires") or "3600")
        contact = request.contacts[0]
        if expires == 0:
            self.bindings.pop(aor, None)
            incoming.respond(200)
            return
        self.bindings[aor] = str(contact.uri)
        incoming.respond(200, headers=[("Contact", f"{contact};expires={min(expires, 60)}")])

    def on_message(self, incoming: IncomingRequest) -> None:
        if self.proxy_auth and not self.authenticated(incoming, proxy=True):
            return
        self.messages.append(incoming.request)
        incoming.respond(202)

    @property
    def uri(self) -> str:
        return f"sip:127.0.0.1:{self.endpoint.listener('UDP').local[1]}"

    def uri_for(self, transport: str) -> str:
        port = self.endpoint.listener(transport).local[1]
        if transport == "TLS":
            return f"sips:127.0.0.1:{port}"
        return f"sip:127.0.0.1:{port};transport={transport.lower()}"


@asynccontextmanager
async def registrar(**kw: Any) -> AsyncIterator[Registrar]:
    reg = Registrar(**kw)
    async with reg.endpoint:
        yield reg


@pytest.mark.parametrize("algorithms", [("SHA-256", "MD5"), ("MD5",), ("SHA-512-256",)])
async def test_register_answers_the_digest_challenge(algorithms: tuple[str, ...]) -> None:
    async with registrar(users={"alice": "s3cret"}, algorithms=algorithms) as reg:
        peer = Peer("sip:alice@127.0.0.1", password="s3cret", registrar=reg.uri, register=True)
        async with peer:
            event = await expect(peer, Registered)
            assert event.expires == 60
            assert reg.bindings["sip:alice@127.0.0.1"] in peer.contact
            first, retry = reg.requests[:2]
            assert "Authorization" not in first.headers
            creds = retry.headers.get("Authorization") or ""
            assert f"algorithm={algorithms[0]}" in creds
            assert retry.cseq.seq == first.cseq.seq + 1 and retry.call_id == first.call_id
        assert await expect(peer, Unregistered)
        assert "sip:alice@127.0.0.1" not in reg.bindings  # unregistered on close


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_register_and_challenged_message_over_each_transport(
    transport: str, dev: DevCertificates
) -> None:
    tls = server_context(dev.server_cert, dev.server_key) if transport == "TLS" else None
    listen = ("udp:127.0.0.1:0", f"{transport.lower()}:127.0.0.1:0")
    if transport == "UDP":
        listen = ("udp:127.0.0.1:0", "tcp:127.0.0.1:0")
    async with registrar(
        users={"alice": "pw"}, proxy_auth=True, listen=listen, tls_server=tls
    ) as reg:
        uri = reg.uri_for(transport)
        peer = Peer(
            "sip:alice@127.0.0.1",
            password="pw",
            registrar=uri,
            register=True,
            transport=transport.lower(),
            # A client connects out: it needs no TLS listener of its own.
            listen=["udp:127.0.0.1:0", "tcp:127.0.0.1:0"],
            tls_client=client_context(ca=dev.ca_cert) if transport == "TLS" else None,
        )
        async with peer:
            assert (await expect(peer, Registered)).expires == 60
            target = uri.replace("127.0.0.1", "bob@127.0.0.1", 1)
            assert (await asyncio.wait_for(peer.message(target, "hi"), TIMEOUT)).status == 202
        [first, *_] = reg.requests
        assert first.top_via.transport == transport
        assert "Proxy-Authorization" in reg.messages[0].headers


async def test_wrong_password_is_a_clear_error() -> None:
    async with registrar(users={"alice": "right"}) as reg:
        peer = Peer("sip:alice@127.0.0.1", password="wrong", registrar=reg.uri, register=True)
        with pytest.raises(AuthenticationFailed) as info:
            async with peer:
                pass
        assert info.value.status == 401 and "refused the credentials" in str(info.value)
        assert len(reg.requests) == 2  # one challenge answered, not a loop


async def test_no_password_is_a_clear_error() -> None:
    async with registrar(users={"alice": "right"}) as reg:
        with pytest.raises(AuthenticationFailed, match="no credentials"):
            async with Peer("sip:alice@127.0.0.1", registrar=reg.uri, register=True):
                pass


async def test_stale_nonce_is_answered_without_asking_the_user() -> None:
    async with (
        registrar(users={"alice": "pw"}, nonce_lifetime=0.2) as reg,
        Peer("sip:alice@127.0.0.1", password="pw", registrar=reg.uri, register=True) as peer,
    ):
        reg.skew = 1.0  # the nonce the peer holds has expired
        assert await asyncio.wait_for(peer.register(), TIMEOUT) == 60
        statuses = [r.headers.get("Authorization") is not None for r in reg.requests]
        assert statuses.count(True) >= 3  # the stale nonce was re-answered


async def test_407_on_a_message_is_answered_too() -> None:
    async with (
        registrar(users={"alice": "pw"}, proxy_auth=True) as reg,
        Peer("sip:alice@127.0.0.1", password="pw") as peer,
    ):
        ok = await asyncio.wait_for(peer.message(f"sip:bob@{reg.uri[4:]}", "hi"), TIMEOUT)
        assert ok.status == 202
        [delivered] = reg.messages
        assert "Proxy-Authorization" in delivered.headers


async def test_registration_is_refreshed_before_it_expires() -> None:
    async with (
        registrar(users={"alice": "pw"}) as reg,
        Peer(
            "sip:alice@127.0.0.1", password="pw", registrar=reg.uri, register=True, expires=2
        ) as peer,
    ):
        await expect(peer, Registered)
        # The registrar grants min(asked, 60) = 2 s: a refresh comes ~1 s later.
        again = await expect(peer, Registered, timeout=4.0)
        assert again.expires == 2


# -- calls ----------------------------------------------------------------------

OFFER = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
ANSWER = OFFER.replace(b"o=- 1 1", b"o=- 2 1")


async def answer_with(peer: Peer, sdp: bytes) -> None:
    incoming = await expect(peer, IncomingCall)
    await incoming.call.accept(sdp)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_call_answer_and_hang_up(transport: str, dev: DevCertificates) -> None:
    async with pair(transport, dev) as (alice, bob):
        answering = asyncio.ensure_future(answer_with(bob, ANSWER))
        call = await asyncio.wait_for(alice.call(address(bob, "bob", transport), OFFER), TIMEOUT)
        await asyncio.wait_for(answering, TIMEOUT)
        assert call.state is CallState.ACTIVE and call.remote_sdp == ANSWER
        progress = await expect(alice, CallProgress)
        assert progress.status == 180
        await expect(alice, CallAnswered)
        bob_call = (await expect(bob, CallAnswered)).call
        assert bob_call.remote_sdp == OFFER and bob_call.state is CallState.ACTIVE
        await call.hangup()
        ended = await expect(bob, CallEnded)
        assert ended.reason == "bye" and ended.by_remote
        mine = await expect(alice, CallEnded)
        assert mine.reason == "bye" and not mine.by_remote


async def test_rejected_call_raises_with_the_status() -> None:
    async with pair() as (alice, bob):

        async def reject() -> None:
            incoming = await expect(bob, IncomingCall)
            await incoming.call.reject(486)

        task = asyncio.ensure_future(reject())
        with pytest.raises(CallFailed) as info:
            await asyncio.wait_for(alice.call(address(bob, "bob"), OFFER), TIMEOUT)
        await task
        assert info.value.status == 486
        assert (await expect(alice, CallEnded)).reason == "rejected"


async def test_cancelling_the_call_task_sends_cancel() -> None:
    async with pair() as (alice, bob):
        calling = asyncio.ensure_future(alice.call(address(bob, "bob"), OFFER))
        ringing = await expect(bob, IncomingCall)
        await expect(alice, CallProgress)
        calling.cancel()
        ended = await expect(bob, CallEnded)
        assert ended.reason == "cancelled" and ended.by_remote and ended.call is ringing.call
        mine = await expect(alice, CallEnded)
        assert mine.reason == "cancelled" and mine.status == 487
        with pytest.raises(asyncio.CancelledError):
            await calling


async def test_reinvite_info_and_message_inside_the_call() -> None:
    async with pair() as (alice, bob):
        answering = asyncio.ensure_future(answer_with(bob, ANSWER))
        call = await asyncio.wait_for(alice.call(address(bob, "bob"), OFFER), TIMEOUT)
        await answering
        held = OFFER + b"a=sendonly\r\n"
        ok = await asyncio.wait_for(call.update(held), TIMEOUT)
        assert ok.status == 200 and call.remote_sdp == ANSWER
        updated = await expect(bob, CallUpdated)
        assert updated.call.remote_sdp == held
        await call.info(b"Signal=5\r\nDuration=160\r\n", "application/dtmf-relay")
        info = await expect(bob, InfoReceived)
        assert info.body == b"Signal=5\r\nDuration=160\r\n" and info.call is updated.call
        await call.message("in the call")
        msg = await expect(bob, MessageReceived)
        assert msg.text == "in the call" and msg.call is updated.call
        # And from the callee's side, in the same dialog.
        await updated.call.message("back")
        assert (await expect(alice, MessageReceived)).call is call
        await updated.call.hangup()
        assert (await expect(alice, CallEnded)).by_remote


async def test_bye_for_an_unknown_call_is_481() -> None:
    async with pair() as (alice, bob):
        answering = asyncio.ensure_future(answer_with(bob, ANSWER))
        call = await asyncio.wait_for(alice.call(address(bob, "bob"), OFFER), TIMEOUT)
        await answering
        await call.hangup()
        assert call.dialog is not None
        call.dialog.state = call.dialog.state.CONFIRMED  # send a second BYE anyway
        bye = alice._in_dialog(call.dialog, "BYE")
        response = await asyncio.wait_for(alice._send(bye), TIMEOUT)
        assert response.status == 481


async def test_close_hangs_up_and_leaves_no_task() -> None:
    async with Peer("sip:bob@127.0.0.1") as bob:
        alice = Peer("sip:alice@127.0.0.1")
        await alice.start()
        answering = asyncio.ensure_future(answer_with(bob, ANSWER))
        call = await asyncio.wait_for(alice.call(address(bob, "bob"), OFFER), TIMEOUT)
        await answering
        before = {t for t in asyncio.all_tasks() if not t.done()}
        await alice.close()
        assert call.state is CallState.ENDED
        assert (await expect(bob, CallEnded)).reason == "bye"
        leftover = {t for t in asyncio.all_tasks() if not t.done()} - before
        assert not [t for t in leftover if "Peer" in repr(t) or "ua" in repr(t)]
        assert not alice._tasks


async def test_unanswered_incoming_call_gets_480_after_the_ring_timeout() -> None:
    async with pair(ring_timeout=0.3) as (alice, bob):
        with pytest.raises(CallFailed) as info:
            await asyncio.wait_for(alice.call(address(bob, "bob"), OFFER), TIMEOUT)
        assert info.value.status == 480
        assert (await expect(bob, CallEnded)).reason == "failed"


async def test_events_iterator_ends_when_the_peer_closes() -> None:
    peer = Peer("sip:alice@127.0.0.1")
    await peer.start()
    seen: list[Event] = []

    async def consume() -> None:
        async for event in peer.events():
            seen.append(event)

    task = asyncio.ensure_future(consume())
    await peer.message(address(peer, "alice"), "note to self")
    await peer.close()
    await asyncio.wait_for(task, TIMEOUT)
    assert [type(e) for e in seen] == [MessageReceived]


# -- typing indication and desktop sharing ----------------------------------------


async def test_typing_indication_is_an_event_not_a_message() -> None:
    async with pair() as (alice, bob):
        await alice.typing(address(bob, "bob"))
        typing = await expect(bob, ComposingChanged)
        assert typing.active and typing.sender == "sip:alice@127.0.0.1"
        assert typing.composing.refresh == 60
        await alice.typing(address(bob, "bob"), active=False)
        assert not (await expect(bob, ComposingChanged)).active
        await alice.message(address(bob, "bob"), "done typing")
        # Nothing but the real message arrives as a MessageReceived.
        assert (await expect(bob, MessageReceived)).text == "done typing"


async def test_desktop_sharing_call_with_control_granted_and_taken_back() -> None:
    offer = make_offer("127.0.0.1", [desktop_sharing_media(50000)])
    async with pair() as (alice, bob):

        async def accept_sharing() -> None:
            incoming = await expect(bob, IncomingCall)
            remote = parse_sdp(incoming.call.remote_sdp)
            assert [m.media_type for m in remote.media] == ["application"]
            answer = make_answer(
                remote, "127.0.0.1", [desktop_sharing_media(50002, setup="active")]
            )
            await incoming.call.accept(bytes(answer))

        task = asyncio.ensure_future(accept_sharing())
        call = await asyncio.wait_for(alice.call(address(bob, "bob"), bytes(offer)), TIMEOUT)
        await task
        assert parse_sdp(call.remote_sdp).media[0].proto == "TCP/RDP"
        await call.grant_control()
        granted = await expect(bob, ControlChanged)
        assert granted.granted
        await call.revoke_control()
        assert not (await expect(bob, ControlChanged)).granted
        await granted.call.typing()
        assert (await expect(alice, ComposingChanged)).call is call
        await call.hangup()


# -- 2xx reliability, early media, forking, back-off -------------------------------


async def test_a_lost_ack_is_recovered_by_the_2xx_retransmission() -> None:
    """§13.3.1.4 / §13.2.2.4: the callee resends its 2xx until the ACK comes;
    the caller answers each copy with the ACK again."""
    dropped: list[Request] = []

    def drop_first_ack(message: Any, info: MessageInfo) -> bool:
        if isinstance(message, Request) and message.method == "ACK" and not dropped:
            dropped.append(message)
            return False
        return True

    async with pair(timers=FAST) as (alice, bob):
        alice.endpoint.add_hook(HookPoint.WIRE_OUT, drop_first_ack)
        answering = asyncio.ensure_future(answer_with(bob, ANSWER))
        call = await asyncio.wait_for(alice.call(address(bob, "bob"), OFFER), TIMEOUT)
        await asyncio.wait_for(answering, TIMEOUT)  # returns once the ACK arrived
        assert dropped and call.state is CallState.ACTIVE
        bob_call = (await expect(bob, CallAnswered)).call
        assert bob_call.state is CallState.ACTIVE


async def test_unacknowledged_answer_ends_the_call_with_a_bye() -> None:
    def drop_acks(message: Any, info: MessageInfo) -> bool:
        return not (isinstance(message, Request) and message.method == "ACK")

    async with pair(timers=FAST) as (alice, bob):
        alice.endpoint.add_hook(HookPoint.WIRE_OUT, drop_acks)
        answering = asyncio.ensure_future(answer_with(bob, ANSWER))
        await asyncio.wait_for(alice.call(address(bob, "bob"), OFFER), TIMEOUT)
        await answering
        # Timer L = 64*T1 later the callee gives up on the ACK and hangs up.
        ended = await expect(bob, CallEnded)
        assert ended.reason == "no-ack"
        assert (await expect(alice, CallEnded)).reason == "bye"


async def test_early_media_in_a_183() -> None:
    early = OFFER.replace(b"o=- 1 1", b"o=- 3 1")
    async with pair() as (alice, bob):

        async def ring_with_media() -> None:
            incoming = await expect(bob, IncomingCall)
            await incoming.call.progress(183, early)
            await expect(alice, CallProgress)  # the 180 sent on arrival
            await incoming.call.accept(ANSWER)

        task = asyncio.ensure_future(ring_with_media())
        call = await asyncio.wait_for(alice.call(address(bob, "bob"), OFFER), TIMEOUT)
        await task
        statuses = []
        while True:
            try:
                event = await alice.next_event(0.2)
            except TimeoutError:
                break
            if isinstance(event, CallProgress):
                statuses.append(event.status)
        assert 183 in statuses
        assert call.remote_sdp == ANSWER


async def test_forked_second_answer_gets_ack_and_bye() -> None:
    """Two 2xx with different To tags (a forking proxy, §13.2.2.4): the call
    takes the first; the second dialog is acknowledged and ended at once."""
    received: asyncio.Queue[Request] = asyncio.Queue()

    class Fork(asyncio.DatagramProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            msg = parse(data)
            assert isinstance(msg, Request)
            received.put_nowait(msg)
            if msg.method == "INVITE":
                for tag in ("one", "two"):
                    ok = make_response(
                        msg,
                        200,
                        to_tag=tag,
                        headers=[("Contact", f"<sip:{tag}@127.0.0.1:{port}>")],
                        body=ANSWER,
                        content_type="application/sdp",
                    )
                    self.transport.sendto(bytes(ok), addr)  # type: ignore[attr-defined]
            elif msg.method == "BYE":
                self.transport.sendto(bytes(make_response(msg, 200)), addr)  # type: ignore[attr-defined]

    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(Fork, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    try:
        async with Peer("sip:alice@127.0.0.1") as alice:
            call = await asyncio.wait_for(alice.call(f"sip:bob@127.0.0.1:{port}", OFFER), TIMEOUT)
            assert call.dialog is not None and call.dialog.remote_tag == "one"
            seen: list[tuple[str, str | None]] = []
            while len(seen) < 4:
                msg = await asyncio.wait_for(received.get(), TIMEOUT)
                seen.append((msg.method, msg.to_tag))
            assert sorted(seen) == [
                ("ACK", "one"),
                ("ACK", "two"),
                ("BYE", "two"),
                ("INVITE", None),
            ]
            assert call.state is CallState.ACTIVE
    finally:
        transport.close()


async def test_failed_refresh_backs_off_then_registers_again() -> None:
    async with registrar(users={"alice": "pw"}) as reg:
        original = reg.on_register
        failures = [1]

        def flaky(incoming: IncomingRequest) -> None:
            if len(reg.bindings) and failures:
                failures.pop()
                incoming.respond(503, headers=[("Retry-After", "1")])
                return
            original(incoming)

        reg.endpoint.route("REGISTER", flaky)
        async with Peer(
            "sip:alice@127.0.0.1", password="pw", registrar=reg.uri, register=True, expires=2
        ) as peer:
            await expect(peer, Registered)
            failed = await expect(peer, RegistrationFailed)
            assert failed.status == 503 and failed.retry_in == 1.0
            assert (await expect(peer, Registered)).expires == 2


async def test_interceptors_see_the_ack_for_a_2xx_at_both_outgoing_points() -> None:
    """The ACK of a 2xx has no transaction, but an interceptor still sees
    it leave: at TU_OUT (what the application sends) and on the wire."""
    seen: dict[HookPoint, list[str]] = {HookPoint.TU_OUT: [], HookPoint.WIRE_OUT: []}

    class Methods(Interceptor):
        points = (HookPoint.TU_OUT, HookPoint.WIRE_OUT)

        def on_message(self, message: Request | Response, info: MessageInfo) -> None:
            if isinstance(message, Request):
                seen[info.point].append(message.method)

    async with pair() as (alice, bob):
        alice.interceptors.add(Methods())
        answering = asyncio.ensure_future(answer_with(bob, ANSWER))
        call = await asyncio.wait_for(alice.call(address(bob, "bob"), OFFER), TIMEOUT)
        await asyncio.wait_for(answering, TIMEOUT)
        await call.hangup()
    assert seen[HookPoint.TU_OUT] == ["INVITE", "ACK", "BYE"]
    assert seen[HookPoint.WIRE_OUT][:3] == ["INVITE", "ACK", "BYE"]


async def test_a_hold_offer_is_answered_recvonly_and_a_resume_sendrecv() -> None:
    """RFC 3264 §8: the answer to a re-offer mirrors its directions, with
    the origin version one higher; an unchanged offer gets the same answer."""
    offer = make_offer("127.0.0.1", [audio_media(4000)], session_id=10, version=1)
    async with pair() as (alice, bob):
        incoming = asyncio.ensure_future(expect(bob, IncomingCall))
        calling = asyncio.ensure_future(alice.call(address(bob, "bob"), offer.serialize()))
        bob_call = (await asyncio.wait_for(incoming, TIMEOUT)).call
        first = make_answer(parse_sdp(bob_call.remote_sdp), "127.0.0.1", [audio_media(5000)],
                            session_id=20, version=1)  # fmt: skip
        await bob_call.accept(first.serialize())
        call = await asyncio.wait_for(calling, TIMEOUT)

        held = hold(offer)
        await asyncio.wait_for(call.update(held.serialize()), TIMEOUT)
        answer = parse_sdp(call.remote_sdp)
        assert answer.direction_of(answer.media[0]) == "recvonly"
        assert (answer.origin.session_id, answer.origin.version) == (20, 2)

        await asyncio.wait_for(call.update(held.serialize()), TIMEOUT)  # the same again
        assert parse_sdp(call.remote_sdp) == answer

        await asyncio.wait_for(call.update(resume(held).serialize()), TIMEOUT)
        back = parse_sdp(call.remote_sdp)
        assert back.direction_of(back.media[0]) == "sendrecv" and back.origin.version == 3
        assert back.media[0].port == 5000 and back.media[0].formats == first.media[0].formats
        await call.hangup()
