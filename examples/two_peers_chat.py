"""Two peers exchange instant messages directly, without a server.

Alice and Bob each listen on 127.0.0.1 (a free port); Alice sends Bob a
message, Bob answers, and each prints what it got.  Run it as it is:

    python examples/two_peers_chat.py

To chat through a ``sipstack server`` instead, give each peer
``password=..., register=True, registrar="sip:127.0.0.1:5060",
proxy="sip:127.0.0.1:5060;lr"`` and address ``sip:bob@localhost``.
"""

from __future__ import annotations

import asyncio

from sipstack.ua import MessageReceived, Peer


async def next_message(peer: Peer) -> MessageReceived:
    """The next instant message this peer receives (other events skipped)."""
    while True:
        event = await peer.next_event(timeout=5)
        if isinstance(event, MessageReceived):
            return event


async def main() -> None:
    """Alice writes, Bob answers."""
    async with Peer("sip:alice@127.0.0.1") as alice, Peer("sip:bob@127.0.0.1") as bob:
        bob_address = f"sip:bob@127.0.0.1:{bob.endpoint.listener('UDP').local[1]}"

        await alice.message(bob_address, "Hi Bob, lunch at noon?")
        got = await next_message(bob)
        print(f"bob got from {got.sender}: {got.text}")

        # Answer whoever wrote, at the address the message came from.
        alice_address = f"sip:alice@127.0.0.1:{alice.endpoint.listener('UDP').local[1]}"
        await bob.message(alice_address, "Sure, see you there.")
        reply = await next_message(alice)
        print(f"alice got from {reply.sender}: {reply.text}")


if __name__ == "__main__":
    asyncio.run(main())
