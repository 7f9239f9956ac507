"""``sipstack demo``: a server and two users on this machine, showing an
instant message, a presence change and a call, each step in plain words.

Everything is temporary: the server listens on free ports of 127.0.0.1,
keeps its data in a temporary directory, and the two accounts (alice and
bob, with random passwords) go with it when the demo ends.
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from .errors import SIPError
from .presence import Availability, Presence
from .sdp import audio_media, make_answer, make_offer, parse_sdp
from .server import Server, ServerConfig, add_user
from .storage import open_store
from .ua import CallEnded, IncomingCall, MessageReceived, Peer, PresenceChanged

__all__ = ["run_demo"]

E = TypeVar("E")

DOMAIN = "localhost"
#: Longest wait for any one step, and for the whole demo.
STEP_TIMEOUT = 10.0
DEMO_TIMEOUT = 120.0


async def _next(peer: Peer, kind: type[E]) -> E:
    """The next event of ``kind`` the peer gets (others are skipped)."""
    deadline = time.monotonic() + STEP_TIMEOUT
    while True:
        event = await peer.next_event(max(0.0, deadline - time.monotonic()))
        if isinstance(event, kind):
            return event


@asynccontextmanager
async def _server(data_dir: Path, passwords: dict[str, str]) -> AsyncIterator[str]:
    """A server in this process with the accounts ``passwords`` names;
    yields its address (``127.0.0.1:PORT``)."""
    # Port 0: the system picks free ports, so nothing can take them between
    # a probe and the bind.
    config = ServerConfig(data_dir=data_dir, domains=[DOMAIN], listen=[("127.0.0.1", 0)])
    store = open_store(data_dir)
    try:
        for name, password in passwords.items():
            await add_user(store, name, password, config.realm)
    finally:
        await store.close()
    async with Server(config) as server:
        assert server.endpoint is not None
        # Peers reach the server over UDP, their default transport.
        host, port = server.endpoint.listener("UDP").local[:2]
        yield f"{host}:{port}"


def _peer(name: str, password: str, server: str) -> Peer:
    return Peer(
        f"sip:{name}@{DOMAIN}",
        password=password,
        display_name=name.title(),
        register=True,
        registrar=f"sip:{server}",
        proxy=f"sip:{server};lr",
    )


async def _message(alice: Peer, bob: Peer, say: Callable[[str], None]) -> None:
    say("An instant message:")
    text = "Hi Bob, do you have a minute?"
    say(f'  alice sends bob "{text}"')
    await alice.message(str(bob.aor), text)
    got = await _next(bob, MessageReceived)
    say(f'  bob receives from {got.display_name or got.sender}: "{got.text}"')
    reply = "Sure, call me."
    say(f'  bob answers "{reply}"')
    await bob.message(str(alice.aor), reply)
    got = await _next(alice, MessageReceived)
    say(f'  alice receives from {got.display_name or got.sender}: "{got.text}"')


async def _presence(alice: Peer, bob: Peer, say: Callable[[str], None]) -> None:
    say("A presence change:")
    await alice.presence.publish(Presence(str(alice.aor), Availability.AVAILABLE))
    await bob.presence.watch(str(alice.aor))
    seen = (await _next(bob, PresenceChanged)).presence
    say(f"  bob watches alice's presence: she is {seen.availability}")
    busy = Presence(str(alice.aor), Availability.BUSY, note="Preparing the demo")
    say(f'  alice sets her status to {busy.availability}, "{busy.note}"')
    await alice.presence.publish(busy)
    seen = (await _next(bob, PresenceChanged)).presence
    say(f'  bob sees that alice is now {seen.availability}, "{seen.note}"')


async def _call(alice: Peer, bob: Peer, say: Callable[[str], None]) -> None:
    say("A call:")
    offer = make_offer("127.0.0.1", [audio_media(40000)])
    say("  alice calls bob")
    calling = asyncio.ensure_future(alice.call(str(bob.aor), bytes(offer), timeout=STEP_TIMEOUT))
    try:
        ringing = (await _next(bob, IncomingCall)).call
        say(f"  bob's phone rings: a call from {ringing.remote}")
        answer = make_answer(parse_sdp(ringing.remote_sdp), "127.0.0.1", [audio_media(40002)])
        await ringing.accept(bytes(answer), wait_ack=STEP_TIMEOUT)
        call = await calling
    finally:
        # Only when a step above failed: do not leave the INVITE running.
        calling.cancel()
    say("  bob answers: they are in a call (signalling only, no sound)")
    await call.hangup()
    ended = await _next(bob, CallEnded)
    say(f"  alice hangs up; bob's call has ended ({'by alice' if ended.by_remote else 'by bob'})")


async def _demo(say: Callable[[str], None]) -> None:
    passwords = {name: secrets.token_urlsafe(12) for name in ("alice", "bob")}
    with tempfile.TemporaryDirectory(prefix="sipstack-demo-") as tmp:
        async with _server(Path(tmp), passwords) as server:
            say(f"A server is running on {server} for the domain {DOMAIN}")
            say("  (its data in a temporary directory, with the accounts alice and bob)")
            async with (
                _peer("alice", passwords["alice"], server) as alice,
                _peer("bob", passwords["bob"], server) as bob,
            ):
                say("alice and bob signed in with their passwords")
                await _message(alice, bob, say)
                await _presence(alice, bob, say)
                await _call(alice, bob, say)
            say("alice and bob signed out")
        say("the server stopped")
    say("done: the temporary data is removed")


def _print(line: str) -> None:
    # Flushed: someone watching through a pipe sees each step as it happens.
    print(line, flush=True)


def run_demo(say: Callable[[str], None] = _print) -> int:
    """Run the demo, telling each step to ``say``; 0 when every step
    worked, 1 (after saying why) when one did not."""
    try:
        asyncio.run(asyncio.wait_for(_demo(say), DEMO_TIMEOUT))
    except TimeoutError:
        say("the demo failed: a step did not happen in time")
        return 1
    except (SIPError, OSError) as exc:
        say(f"the demo failed: {exc}")
        return 1
    return 0
