"""Multi-party conversations: peers join a conversation hosted by the
conversation focus, talk (relayed with the original sender in CPIM), see
each other join and leave, and leave."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import pytest
from peer_events import expect

from sipstack.endpoint import Endpoint
from sipstack.policy import Feature
from sipstack.presence import aor_key
from sipstack.server import ConversationFocus
from sipstack.ua import (
    CallFailed,
    ConversationEnded,
    MessageReceived,
    ParticipantJoined,
    ParticipantLeft,
    Peer,
)

TIMEOUT = 5.0


@asynccontextmanager
async def focus(transport: str = "udp", **kw: int) -> AsyncIterator[tuple[ConversationFocus, str]]:
    ep = Endpoint(
        [f"{transport}:127.0.0.1:0", "udp:127.0.0.1:0"]
        if transport != "udp"
        else ["udp:127.0.0.1:0", "tcp:127.0.0.1:0"]
    )
    f = ConversationFocus(ep, **kw)
    f.attach()
    async with ep:
        port = ep.listener(transport.upper()).local[1]
        tparam = ";transport=tcp" if transport == "tcp" else ""
        yield f, f"sip:team-chat@127.0.0.1:{port}{tparam}"


@asynccontextmanager
async def peers(*names: str, transport: str = "udp") -> AsyncIterator[list[Peer]]:
    async with AsyncExitStack() as stack:
        out = []
        for name in names:
            peer = Peer(f"sip:{name}@127.0.0.1", display_name=name.title(), transport=transport)
            out.append(await stack.enter_async_context(peer))
        yield out


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_three_peers_talk_in_a_conversation(transport: str) -> None:
    async with (
        focus(transport) as (f, uri),
        peers("alice", "bob", "carol", transport=transport) as (alice, bob, carol),
    ):
        conv_a = await asyncio.wait_for(alice.join(uri), TIMEOUT)
        assert (await expect(alice, ParticipantJoined)).participant.entity == "sip:alice@127.0.0.1"
        conv_b = await asyncio.wait_for(bob.join(uri), TIMEOUT)
        joined = await expect(alice, ParticipantJoined)
        assert joined.participant.entity == "sip:bob@127.0.0.1" and joined.conversation is conv_a
        conv_c = await asyncio.wait_for(carol.join(uri), TIMEOUT)
        assert (await expect(alice, ParticipantJoined)).participant.entity == "sip:carol@127.0.0.1"
        await expect(bob, ParticipantJoined)  # carol (after alice and bob themselves)
        assert sorted(f.participants(uri)) == [
            "sip:alice@127.0.0.1",
            "sip:bob@127.0.0.1",
            "sip:carol@127.0.0.1",
        ]

        await conv_b.send("hello all")
        for peer, conv in ((alice, conv_a), (carol, conv_c)):
            said = await expect(peer, MessageReceived)
            assert said.text == "hello all" and said.conversation is conv
            assert said.sender == "sip:bob@127.0.0.1" and said.display_name == "Bob"
        await conv_c.leave()
        left = await expect(alice, ParticipantLeft)
        assert left.participant.entity == "sip:carol@127.0.0.1"
        assert (await expect(carol, ConversationEnded)).by_remote is False
        assert {u.entity for u in conv_a.participants} == {
            "sip:alice@127.0.0.1",
            "sip:bob@127.0.0.1",
        }
        await conv_a.send("just us")
        assert (await expect(bob, MessageReceived)).text == "just us"


async def test_a_full_conversation_refuses_the_next() -> None:
    async with focus(max_participants=1) as (_, uri), peers("alice", "bob") as (alice, bob):
        await alice.join(uri)
        with pytest.raises(CallFailed) as info:
            await bob.join(uri)
        assert info.value.status == 486


async def test_roster_is_only_for_participants() -> None:
    async with focus() as (_, uri), peers("alice", "mallory") as (alice, mallory):
        await alice.join(uri)
        from sipstack.ua import RequestFailed

        with pytest.raises(RequestFailed) as info:
            await mallory.subscribe(uri, "conference")
        assert info.value.status == 403


async def test_history_in_a_conversation_is_announced_once_and_kept() -> None:
    """With history on, alice's first message is preceded by a notice to
    everyone; her messages arrive marked saved; what is said both ways is
    in her history under the conversation, and nothing in the others'."""
    async with focus() as (_, uri), peers("alice", "bob", "carol") as (alice, bob, carol):
        alice.policy.set_user(Feature.HISTORY, True)
        conv_a = await asyncio.wait_for(alice.join(uri), TIMEOUT)
        conv_b = await asyncio.wait_for(bob.join(uri), TIMEOUT)
        await asyncio.wait_for(carol.join(uri), TIMEOUT)
        await conv_a.send("first")
        await conv_a.send("second")
        for peer in (bob, carol):
            notice, first, second = [await expect(peer, MessageReceived) for _ in range(3)]
            assert notice.text == "[sip:alice@127.0.0.1 is saving this conversation]"
            assert (first.text, second.text) == ("first", "second")
            assert notice.saved and first.saved and second.saved
        await conv_b.send("noted")
        reply = await expect(carol, MessageReceived)
        assert reply.text == "noted" and not reply.saved
        await expect(alice, MessageReceived)  # bob's "noted", saved on arrival
        kept = await alice.history(uri)
        assert [(e.direction, e.body) for e in kept] == [
            ("out", b"first"), ("out", b"second"), ("in", b"noted"),
        ]  # fmt: skip
        assert {e.conversation for e in kept} == {aor_key(uri)}
        assert await bob.history(uri) == [] and await carol.history(uri) == []
