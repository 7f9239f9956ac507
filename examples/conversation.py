"""A multi-party conversation hosted by a sipstack server.

Alice, Bob and Carol join the conversation ``sip:conv-example@DOMAIN`` (the
server creates it when the first one joins: any user part starting with
``conv-`` names a conversation).  Each sees the others arrive; they talk,
and every message reaches the two others with its author.  Carol leaves;
Alice and Bob see her go and go on talking.

Run it against a local server::

    export SIPSTACK_PASSWORD=secret
    sipstack users add alice --data-dir D
    sipstack users add bob --data-dir D
    sipstack users add carol --data-dir D
    sipstack server --data-dir D --listen 127.0.0.1:5060 --domain localhost
    python examples/conversation.py --server 127.0.0.1:5060
"""

from __future__ import annotations

import asyncio

from _common import TIMEOUT, arguments, next_of, parse, user

from sipstack.ua import (
    Conversation,
    ConversationEnded,
    MessageReceived,
    ParticipantJoined,
    ParticipantLeft,
    Peer,
)


def name(uri: str) -> str:
    """``alice`` for ``sip:alice@localhost``."""
    return uri.removeprefix("sip:").partition("@")[0]


async def hear(peer: Peer, conv: Conversation) -> None:
    """Print the next message said in ``conv`` as ``peer`` receives it."""
    said = await next_of(peer, MessageReceived, lambda m: m.conversation is conv)
    print(f"  {name(str(peer.aor))} hears {name(said.sender)}: {said.text}")


async def sees_join(peer: Peer, who: str) -> None:
    """Wait until ``peer``'s roster reports that ``who`` joined."""
    await next_of(peer, ParticipantJoined, lambda e: name(e.participant.entity) == who)


async def main() -> None:
    """Three join, talk, one leaves, two go on."""
    args = parse(arguments(__doc__))
    room = f"sip:conv-example@{args.domain}"
    async with user("alice", args) as alice, user("bob", args) as bob, user("carol", args) as carol:
        peers = {"alice": alice, "bob": bob, "carol": carol}
        convs: dict[str, Conversation] = {}
        for who, peer in peers.items():
            convs[who] = await peer.join(room, timeout=TIMEOUT)
            print(f"{who} joined {room}")
            # Everyone in (the newcomer too) sees the newcomer on the roster.
            for other in convs:
                await sees_join(peers[other], who)
                if other != who:
                    print(f"  {other} sees {who} join")

        print("alice says hello")
        await convs["alice"].send("Hello both, shall we plan the release?")
        await hear(bob, convs["bob"])
        await hear(carol, convs["carol"])

        print("carol answers")
        await convs["carol"].send("Yes, but I have to go in a minute.")
        await hear(alice, convs["alice"])
        await hear(bob, convs["bob"])

        await convs["carol"].leave()
        ended = await next_of(carol, ConversationEnded)
        print(f"carol left ({ended.reason})")
        for who in ("alice", "bob"):
            left = await next_of(peers[who], ParticipantLeft)
            still = sorted(name(p.entity) for p in convs[who].participants)
            print(f"  {who} sees {name(left.participant.entity)} leave; now: {', '.join(still)}")

        print("bob goes on")
        await convs["bob"].send("Just us then: Friday?")
        await hear(alice, convs["alice"])
        await convs["alice"].leave()
        await convs["bob"].leave()


if __name__ == "__main__":
    asyncio.run(main())
