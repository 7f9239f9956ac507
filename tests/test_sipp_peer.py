"""The Peer against SIPp, an independent implementation, over UDP and TCP:
registration with a digest challenge SIPp verifies itself, MESSAGE,
INVITE/ACK/BYE and SUBSCRIBE/NOTIFY in both directions.  A test passes only when SIPp counts
every call successful and none failed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

import pytest
from peer_events import expect
from sipp_runner import Transport, requires_sipp, run_sipp_uac, scenario, sipp_uas

from sipstack.presence import Availability, Presence
from sipstack.ua import (
    CallEnded,
    CallState,
    IncomingCall,
    MessageReceived,
    Peer,
    PresenceChanged,
    Registered,
    Unregistered,
)

pytestmark = requires_sipp

TRANSPORTS: list[Transport] = ["udp", "tcp"]
HOST = "127.0.0.1"
DEADLINE = 30.0
T = TypeVar("T")
OFFER = (
    b"v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


async def bounded(aw: Awaitable[T]) -> T:
    return await asyncio.wait_for(aw, DEADLINE)


def listen(transport: Transport) -> list[str]:
    return [f"{transport}:{HOST}:0"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_register_with_digest_challenge_verified_by_sipp(transport: Transport) -> None:
    async def run() -> None:
        async with sipp_uas(
            scenario("register_auth_uas.xml"), transport=transport, calls=1, timeout=DEADLINE
        ) as uas:
            peer = Peer(
                "sip:alice@127.0.0.1",
                password="secret",
                registrar=f"sip:{HOST}:{uas.port}",
                register=True,
                transport=transport,
                listen=listen(transport),
            )
            async with peer:
                registered = await expect(peer, Registered)
                assert registered.expires == 300
            assert await expect(peer, Unregistered)
            result = await uas.stop()
        result.assert_ok(1)

    await bounded(run())


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_messages_from_the_peer_to_sipp(transport: Transport) -> None:
    calls = 5

    async def run() -> None:
        async with (
            sipp_uas(
                scenario("message_uas.xml"), transport=transport, calls=calls, timeout=DEADLINE
            ) as uas,
            Peer("sip:alice@127.0.0.1", transport=transport, listen=listen(transport)) as peer,
        ):
            for n in range(calls):
                ok = await peer.message(f"sip:sipp@{HOST}:{uas.port}", f"hello {n}")
                assert ok.status == 200
            result = await uas.stop()
        result.assert_ok(calls)

    await bounded(run())


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_messages_from_sipp_to_the_peer(transport: Transport) -> None:
    calls = 10

    async def run() -> None:
        async with Peer("sip:bob@127.0.0.1", transport=transport, listen=listen(transport)) as peer:
            port = peer.endpoint.listener(transport.upper()).local[1]
            result = await run_sipp_uac(
                scenario("message_uac.xml"), HOST, port, transport=transport, calls=calls, rate=50
            )
            texts = [(await expect(peer, MessageReceived)).text.strip() for _ in range(calls)]
        result.assert_ok(calls)
        assert sorted(texts) == sorted(f"Hello from SIPp, call {n}." for n in range(1, calls + 1))

    await bounded(run())


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_peer_calls_sipp_and_hangs_up(transport: Transport) -> None:
    calls = 3

    async def run() -> None:
        async with (
            sipp_uas(
                scenario("invite_uas.xml"), transport=transport, calls=calls, timeout=DEADLINE
            ) as uas,
            Peer("sip:alice@127.0.0.1", transport=transport, listen=listen(transport)) as peer,
        ):
            for _ in range(calls):
                call = await peer.call(f"sip:sipp@{HOST}:{uas.port}", OFFER)
                assert call.state is CallState.ACTIVE and call.remote_sdp.startswith(b"v=0")
                await call.hangup()
                assert (await expect(peer, CallEnded)).reason == "bye"
            result = await uas.stop()
        result.assert_ok(calls)

    await bounded(run())


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_sipp_calls_the_peer_which_answers(transport: Transport) -> None:
    calls = 5

    async def run() -> None:
        async with Peer("sip:bob@127.0.0.1", transport=transport, listen=listen(transport)) as peer:

            async def answer_all() -> None:
                async for event in peer.events():
                    if isinstance(event, IncomingCall):
                        await event.call.accept(OFFER.replace(b"alice", b"bob"), wait_ack=None)

            answering = asyncio.ensure_future(answer_all())
            port = peer.endpoint.listener(transport.upper()).local[1]
            result = await run_sipp_uac(
                scenario("invite_uac.xml"), HOST, port, transport=transport, calls=calls, rate=20
            )
            answering.cancel()
        result.assert_ok(calls)

    await bounded(run())


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_peer_watches_sipp_presence(transport: Transport) -> None:
    async def run() -> None:
        async with (
            sipp_uas(
                scenario("subscribe_uas.xml"), transport=transport, calls=1, timeout=DEADLINE
            ) as uas,
            Peer("sip:bob@127.0.0.1", transport=transport, listen=listen(transport)) as peer,
        ):
            sub = await peer.presence.watch(f"sip:sipp@{HOST}:{uas.port}")
            changed = await expect(peer, PresenceChanged)
            assert changed.presence.availability is Availability.AVAILABLE
            assert changed.presence.note == "SIPp is here"
            await sub.unsubscribe()
            result = await uas.stop()
        result.assert_ok(1)

    await bounded(run())


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_sipp_watches_the_peer(transport: Transport) -> None:
    calls = 3

    async def run() -> None:
        async with Peer(
            "sip:alice@127.0.0.1", transport=transport, listen=listen(transport)
        ) as peer:
            await peer.presence.publish(Presence("sip:alice@127.0.0.1", Availability.AWAY))
            port = peer.endpoint.listener(transport.upper()).local[1]
            result = await run_sipp_uac(
                scenario("subscribe_uac.xml"), HOST, port, transport=transport, calls=calls, rate=20
            )
            assert peer.presence.watchers == []
        result.assert_ok(calls)

    await bounded(run())
