"""Server state survives a restart of ``sipstack server`` (a real
subprocess, stopped with SIGTERM or killed with SIGKILL, started again on
the same port and data directory): a watcher keeps its presence
subscription — the NOTIFYs after the restart come in the same dialog with
CSeqs the watcher accepts — and a three-party conversation goes on."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest
from peer_events import expect
from server_runner import free_port_pair, sipstack

from sipstack.presence import Availability, Presence
from sipstack.server._presence import CSEQ_BLOCK
from sipstack.ua import (
    Conversation,
    MessageReceived,
    ParticipantLeft,
    Peer,
    PresenceChanged,
    Subscription,
    SubscriptionEnded,
)

TIMEOUT = 10.0
USERS = {"alice": "a", "bob": "b", "carol": "c"}
# More NOTIFYs than a CSeq block before the restart: the stored ceiling
# has been raised while the server ran, and the restart lands above it.
CHANGES = CSEQ_BLOCK + 10
STOPS = [pytest.param(signal.SIGTERM, id="sigterm"), pytest.param(signal.SIGKILL, id="sigkill")]


class ServerProcess:
    """``sipstack server`` on a fixed port and data directory, so that it
    can be stopped and started again where it was."""

    def __init__(self, tmp_path: Path) -> None:
        self.data = tmp_path / "data"
        self.log = tmp_path / "server.log"
        self.port = free_port_pair()
        self.proc: asyncio.subprocess.Process | None = None
        for name, password in USERS.items():
            done = sipstack("users", "add", name, "--data-dir", str(self.data), password=password)
            assert done.returncode == 0, done.stderr

    @property
    def uri(self) -> str:
        return f"sip:127.0.0.1:{self.port}"

    async def start(self) -> None:
        with self.log.open("ab") as err:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "sipstack", "server", "--data-dir", str(self.data),
                "--listen", f"127.0.0.1:{self.port}",
                stdout=asyncio.subprocess.PIPE, stderr=err,
            )  # fmt: skip
        assert self.proc.stdout is not None
        while True:
            raw = await asyncio.wait_for(self.proc.stdout.readline(), TIMEOUT)
            assert raw, f"the server exited: {self.log.read_text()}"
            if raw.startswith(b"data in"):
                return

    async def stop(self, how: signal.Signals = signal.SIGTERM) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.returncode is not None:
            return
        proc.send_signal(how)
        try:
            await asyncio.wait_for(proc.wait(), TIMEOUT)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise AssertionError("the server did not stop") from None
        if how is signal.SIGTERM:
            assert proc.returncode == 0, self.log.read_text()

    def subscriptions(self) -> list[tuple[str, str]]:
        """(event, watcher) of every stored subscription."""
        with contextlib.closing(sqlite3.connect(self.data / "sipstack.db")) as db:
            return db.execute(
                "SELECT event, watcher FROM subscriptions ORDER BY watcher"
            ).fetchall()


@asynccontextmanager
async def running(tmp_path: Path) -> AsyncIterator[tuple[ServerProcess, AsyncExitStack]]:
    """A server, and a stack for peers that outlive its restarts (closed
    while the server still runs)."""
    srv = ServerProcess(tmp_path)
    await srv.start()
    try:
        async with AsyncExitStack() as peers:
            yield srv, peers
    finally:
        await srv.stop()


async def user(peers: AsyncExitStack, name: str, srv: ServerProcess) -> Peer:
    peer = Peer(
        f"sip:{name}@localhost", password=USERS[name], display_name=name.title(),
        register=True, registrar=srv.uri, proxy=f"{srv.uri};lr",
    )  # fmt: skip
    return await peers.enter_async_context(peer)


async def changed(peer: Peer, sub: Subscription) -> Presence:
    """The next presence ``sub`` receives; the subscription must not end."""
    while True:
        event = await peer.next_event(TIMEOUT)
        if isinstance(event, SubscriptionEnded):
            assert event.subscription is not sub, f"the subscription ended: {event.reason}"
        if isinstance(event, PresenceChanged):
            assert event.subscription is sub, "a new subscription"
            return event.presence


def alice_is(note: str) -> Presence:
    return Presence("sip:alice@localhost", Availability.AVAILABLE, note=note)


@pytest.mark.parametrize("how", STOPS)
async def test_a_watcher_keeps_its_subscription_across_a_restart(
    tmp_path: Path, how: signal.Signals
) -> None:
    async with running(tmp_path) as (srv, peers):
        alice = await user(peers, "alice", srv)
        bob = await user(peers, "bob", srv)
        await alice.presence.publish(alice_is("before"))
        sub = await bob.presence.watch("sip:alice@localhost")
        assert (await changed(bob, sub)).note == "before"
        for n in range(CHANGES):
            await alice.presence.publish(alice_is(f"change {n}"))
            assert (await changed(bob, sub)).note == f"change {n}"
        assert sub.core is not None and sub.core.dialog is not None
        dialog = sub.core.dialog
        seen = dialog.remote_seq
        assert seen is not None and seen > CHANGES

        await srv.stop(how)
        await srv.start()

        # Taken up again: the current state first (what the server has), in
        # the same dialog, with a CSeq bob accepts (a 500 for its order
        # would end in no event and the server dropping the subscription).
        assert (await changed(bob, sub)).note == f"change {CHANGES - 1}"
        await alice.presence.publish(alice_is("after"))
        assert (await changed(bob, sub)).note == "after"
        assert sub.core.dialog is dialog and dialog.remote_seq is not None
        assert dialog.remote_seq > seen
        assert sub.status.value == "active"
        assert srv.subscriptions() == [("presence", "sip:bob@localhost")]


@pytest.mark.parametrize("how", STOPS)
async def test_a_conversation_of_three_goes_on_after_a_restart(
    tmp_path: Path, how: signal.Signals
) -> None:
    uri = "sip:conv-team@localhost"
    async with running(tmp_path) as (srv, peers):
        alice = await user(peers, "alice", srv)
        bob = await user(peers, "bob", srv)
        carol = await user(peers, "carol", srv)
        convs: dict[str, Conversation] = {}
        for name, peer in (("alice", alice), ("bob", bob), ("carol", carol)):
            convs[name] = await asyncio.wait_for(peer.join(uri), TIMEOUT)

        async def heard(peer: Peer, text: str, conv: Conversation, sender: str) -> None:
            said = await expect(peer, MessageReceived, TIMEOUT)
            assert said.text == text and said.conversation is conv
            assert said.sender == f"sip:{sender}@localhost"

        for n in range(3):  # the focus's CSeqs in bob's and carol's dialogs rise
            await convs["alice"].send(f"before {n}")
            await heard(bob, f"before {n}", convs["bob"], "alice")
            await heard(carol, f"before {n}", convs["carol"], "alice")

        await srv.stop(how)
        await srv.start()

        await convs["alice"].send("still here?")
        await heard(bob, "still here?", convs["bob"], "alice")
        await heard(carol, "still here?", convs["carol"], "alice")
        await convs["carol"].send("yes")
        await heard(alice, "yes", convs["alice"], "carol")
        await heard(bob, "yes", convs["bob"], "carol")
        # The roster subscriptions were taken up too, and the roster's
        # version goes on above the one before the restart (a stale one
        # would be ignored).
        await convs["carol"].leave()
        for peer in (alice, bob):
            left = await expect(peer, ParticipantLeft, TIMEOUT)
            assert left.participant.entity == "sip:carol@localhost"
        assert {u.entity for u in convs["alice"].participants} == {
            "sip:alice@localhost",
            "sip:bob@localhost",
        }


async def test_an_ended_subscription_is_not_kept(tmp_path: Path) -> None:
    async with running(tmp_path) as (srv, peers):
        bob = await user(peers, "bob", srv)
        carol = await user(peers, "carol", srv)
        kept = await bob.presence.watch("sip:alice@localhost")
        await changed(bob, kept)
        ended = await carol.presence.watch("sip:alice@localhost")
        await changed(carol, ended)
        await ended.unsubscribe()
        await srv.stop(signal.SIGTERM)
        assert srv.subscriptions() == [("presence", "sip:bob@localhost")]
        await srv.start()
        await kept.unsubscribe()
    assert srv.subscriptions() == []
