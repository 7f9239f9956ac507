"""Subscriptions and conversations in the SQLite store, and what the server
builds on them: records round-trip through a real file (closed and opened
again), a stored local CSeq never goes down, expired and ended
subscriptions are dropped and never taken up again, and CSeq leases never
let a request out above the ceiling already committed."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from peer_events import expect

from sipstack.dialog import Dialog
from sipstack.endpoint import Endpoint, IncomingRequest
from sipstack.message import parse_address, parse_uri
from sipstack.server import PresenceServer
from sipstack.server._common import local_contact
from sipstack.server._presence import CSeqLeases
from sipstack.storage import (
    ConversationRecord,
    DialogKey,
    DialogRecord,
    ParticipantRecord,
    SQLiteStore,
    SubscriptionRecord,
    open_store,
)
from sipstack.ua import Peer, PresenceChanged

TIMEOUT = 10.0
NOW = 1_900_000_000.0


def dialog(n: int, *, local_cseq: int = 101, remote_cseq: int | None = 7) -> DialogRecord:
    return DialogRecord(
        call_id=f"call-{n}@127.0.0.1",
        local_tag=f"srv{n}",
        remote_tag=f"peer{n}",
        local_uri="<sip:alice@localhost>",
        remote_uri=f'"Watcher {n}" <sip:w{n}@localhost>',
        remote_target=f"sip:w{n}@127.0.0.1:{5070 + n};transport=tcp",
        route_set=("<sip:127.0.0.1:5060;lr>", "<sip:proxy.example.com;lr>"),
        local_cseq=local_cseq,
        remote_cseq=remote_cseq,
        secure=n % 2 == 1,
    )


def subscription(n: int, *, event: str = "presence", expires_at: float = NOW + 600) -> (
    SubscriptionRecord
):  # fmt: skip
    return SubscriptionRecord(
        event=event,
        resource="sip:alice@localhost",
        watcher=f"sip:w{n}@localhost",
        dialog=dialog(n),
        expires_at=expires_at,
        event_id=None if n % 2 else f"id{n}",
        contact="<sip:presence@127.0.0.1:5060>",
    )


def participant(n: int, joined_at: float = NOW) -> ParticipantRecord:
    return ParticipantRecord(f"sip:p{n}@localhost", dialog(n), f"P{n}", joined_at + n)


def stored_cseq(store: SQLiteStore, table: str, key: DialogKey) -> int:
    row = store.run_blocking(
        lambda db: db.execute(
            f"SELECT local_cseq FROM {table} WHERE call_id = ? AND local_tag = ? AND remote_tag = ?",
            key,
        ).fetchone()
    )
    return int(row[0])


async def test_subscriptions_round_trip_through_the_file(tmp_path: Path) -> None:
    records = [subscription(1), subscription(2), subscription(3, event="conference")]
    store = open_store(tmp_path)
    for record in records:
        await store.subscriptions.put(record)
    await store.close()
    store = open_store(tmp_path)  # a restart
    presence = await store.subscriptions.load(["presence", "presence.winfo"])
    assert sorted(presence, key=lambda r: r.watcher) == records[:2]
    assert await store.subscriptions.load(["conference"]) == records[2:]
    assert await store.subscriptions.load(["dialog"]) == []
    await store.close()


async def test_a_refresh_replaces_the_record_but_never_lowers_the_cseq(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    first = subscription(1)
    await store.subscriptions.put(first)
    await store.subscriptions.raise_cseq({first.key: 90})  # lower: ignored
    assert stored_cseq(store, "subscriptions", first.key) == 101
    await store.subscriptions.raise_cseq({first.key: 250, ("no", "such", "dialog"): 9})
    assert stored_cseq(store, "subscriptions", first.key) == 250
    # A refresh written with an older ceiling (a raise landed first).
    refreshed = SubscriptionRecord(
        event=first.event,
        resource=first.resource,
        watcher=first.watcher,
        dialog=dialog(1, local_cseq=140, remote_cseq=8),
        expires_at=NOW + 3600,
        event_id=first.event_id,
        contact=first.contact,
    )
    await store.subscriptions.put(refreshed)
    [loaded] = await store.subscriptions.load(["presence"])
    assert loaded.expires_at == NOW + 3600 and loaded.dialog.remote_cseq == 8
    assert loaded.dialog.local_cseq == 250
    await store.close()


async def test_ended_and_expired_subscriptions_are_dropped(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    for n, at in ((1, NOW - 1), (2, NOW), (3, NOW + 1), (4, NOW + 60)):
        await store.subscriptions.put(subscription(n, expires_at=at))
    await store.subscriptions.remove([subscription(4).key, ("unknown", "a", "b")])
    assert await store.subscriptions.purge(NOW) == 2  # expired at or before NOW
    left = await store.subscriptions.load(["presence"])
    assert [r.watcher for r in left] == ["sip:w3@localhost"]
    await store.close()


async def test_conversations_round_trip_join_leave_and_end(tmp_path: Path) -> None:
    uri = "sip:conv-team@localhost"
    store = open_store(tmp_path)
    head = ConversationRecord(uri, "sip:p1@localhost", NOW)
    for n in (1, 2, 3):
        # Later joins name another creator: the first one's stays.
        creator = head if n == 1 else ConversationRecord(uri, f"sip:p{n}@localhost", NOW + n)
        await store.conversations.join(
            ConversationRecord(creator.uri, creator.creator, creator.created_at, (), n),
            participant(n),
        )
    await store.conversations.leave(uri, participant(2).key, 4)
    await store.conversations.raise_cseq({participant(3).key: 400, participant(1).key: 5})
    await store.close()
    store = open_store(tmp_path)
    [conv] = await store.conversations.load()
    assert (conv.uri, conv.creator, conv.created_at, conv.version) == (
        uri,
        "sip:p1@localhost",
        NOW,
        4,
    )
    assert [p.entity for p in conv.participants] == ["sip:p1@localhost", "sip:p3@localhost"]
    assert conv.participants[0] == participant(1)
    assert conv.participants[1].dialog.local_cseq == 400
    await store.conversations.remove(uri)
    assert await store.conversations.load() == []
    await store.close()


def test_a_dialog_record_gives_back_the_dialog() -> None:
    original = Dialog(
        call_id="abc@h",
        local_tag="l1",
        remote_tag="r1",
        local_uri=parse_address("<sip:conv-x@localhost>"),
        remote_uri=parse_address('"Bob, Jr." <sip:bob@localhost>'),
        remote_target=parse_uri("sips:bob@[::1]:5061;transport=tls"),
        route_set=[parse_address("<sip:10.0.0.1;lr>")],
        local_seq=12,
        remote_seq=3,
        secure=True,
    )
    back = DialogRecord.of(original, local_cseq=112).to_dialog()
    assert back.id == original.id and back.local_seq == 112 and back.remote_seq == 3
    assert back.local_uri == original.local_uri and back.remote_uri == original.remote_uri
    assert back.remote_target == original.remote_target
    assert back.route_set == original.route_set and back.secure
    assert DialogRecord.of(back) == DialogRecord.of(original, local_cseq=112)


# -- CSeq leases ----------------------------------------------------------------------------
_BURSTS = st.lists(
    st.tuples(st.integers(0, 2), st.integers(1, 9), st.integers(0, 3)), min_size=1, max_size=25
)


@settings(max_examples=40, deadline=None)
@given(bursts=_BURSTS, block=st.integers(2, 8))
def test_no_request_leaves_above_the_committed_ceiling(
    bursts: list[tuple[int, int, int]], block: int
) -> None:
    """Bursts of requests in three stored dialogs, with the loop let run a
    few passes between them: each request is sent only when the ceiling in
    the file already covers it (so a kill at any point leaves every sent
    CSeq covered), each dialog's in order, and all of them in the end."""

    async def scenario(store: SQLiteStore) -> None:
        keys = [subscription(n).key for n in range(3)]
        sent: dict[DialogKey, list[int]] = {k: [] for k in keys}

        def send(item: tuple[DialogKey, int]) -> None:
            key, seq = item
            committed = store.run_blocking(
                lambda db: db.execute(
                    "SELECT local_cseq FROM subscriptions"
                    " WHERE call_id = ? AND local_tag = ? AND remote_tag = ?",
                    key,
                ).fetchone()[0]
            )
            assert seq <= committed
            sent[key].append(seq)

        leases: CSeqLeases[tuple[DialogKey, int]] = CSeqLeases(
            store.subscriptions.raise_cseq, send, block=block
        )
        for n, key in enumerate(keys):
            record = subscription(n)
            await store.subscriptions.put(
                SubscriptionRecord(
                    record.event, record.resource, record.watcher,
                    dialog(n, local_cseq=block), record.expires_at,
                )
            )  # fmt: skip
            leases.track(key, block)
        seqs = dict.fromkeys(keys, 0)
        for which, count, passes in bursts:
            key = keys[which]
            for _ in range(count):
                seqs[key] += 1
                leases.submit(key, seqs[key], (key, seqs[key]))
            for _ in range(passes):
                await asyncio.sleep(0)  # let the lease writes interleave
        await leases.drain()
        for key in keys:
            assert sent[key] == list(range(1, seqs[key] + 1))

    async def run() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(tmp)
            try:
                await scenario(store)
            finally:
                await store.close()

    asyncio.run(run())


async def test_a_fan_out_to_a_thousand_watchers_is_one_write_per_half_block(
    tmp_path: Path,
) -> None:
    """120 changes sent to 1,000 stored subscriptions: 120,000 NOTIFYs, and
    the ceilings are raised in two transactions (each for all 1,000)."""
    store = open_store(tmp_path)
    keys: list[DialogKey] = []
    for n in range(1000):
        record = subscription(n)
        await store.subscriptions.put(record)
        keys.append(record.key)
    writes: list[int] = []

    async def persist(ceilings: Mapping[DialogKey, int]) -> None:
        writes.append(len(ceilings))
        await store.subscriptions.raise_cseq(ceilings)

    sent: list[int] = []
    leases: CSeqLeases[int] = CSeqLeases(persist, sent.append)
    for key in keys:
        leases.track(key, dialog(0).local_cseq)
    for change in range(1, 121):
        for key in keys:
            leases.submit(key, change, change)
        await asyncio.wait_for(leases.drain(), TIMEOUT)
    assert len(sent) == 120_000
    assert writes == [1000, 1000]
    # 101, raised once less than half a block was left: at change 52 to
    # 152, at change 103 to 203.
    assert {stored_cseq(store, "subscriptions", k) for k in keys[::97]} == {203}
    await store.close()


# -- not taken up again ----------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(offsets=st.lists(st.sampled_from([-3600.0, -1.0, 0.0, 1.0, 600.0]), max_size=8))
def test_only_unexpired_subscriptions_are_taken_up_again(offsets: list[float]) -> None:
    """Whatever the stored expiries, a starting presence server takes up
    exactly the subscriptions that have not expired, and the store keeps
    only those."""

    async def run() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(tmp)
            records = [subscription(n, expires_at=NOW + d) for n, d in enumerate(offsets)]
            for record in records:
                await store.subscriptions.put(record)
            ep = Endpoint(["udp:127.0.0.1:0"])
            server = PresenceServer(ep, store, {"localhost"}, clock=lambda: NOW)
            await server.start()
            live = {r.key for r in records if r.expires_at > NOW}
            assert {k for k in live if k in server.service} == live
            assert len(server.service) == len(live)
            kept = await store.subscriptions.load(["presence"])
            assert {r.key for r in kept} == live
            await store.close()

    asyncio.run(run())


@asynccontextmanager
async def presence_server(
    store: SQLiteStore, port: int = 0
) -> AsyncIterator[tuple[PresenceServer, int]]:
    """A presence server on its own endpoint, answering SUBSCRIBE the way
    that waits for the store (no proxy in front)."""
    ep = Endpoint([f"udp:127.0.0.1:{port}"])
    server = PresenceServer(ep, store, {"localhost"})

    async def on_subscribe(incoming: IncomingRequest) -> None:
        await server.subscribe(incoming, local_contact(incoming, "presence"))

    ep.route("SUBSCRIBE", on_subscribe)
    await server.start()
    async with ep:
        server.resume()
        yield server, ep.listener("UDP").local[1]
        await server.close()
    await server.drain()


async def test_only_the_subscription_still_running_is_taken_up_again(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    async with AsyncExitStack() as peers:
        async with presence_server(store) as (server, port):
            proxy = f"sip:127.0.0.1:{port};lr"
            bob = await peers.enter_async_context(Peer("sip:bob@localhost", proxy=proxy))
            carol = await peers.enter_async_context(Peer("sip:carol@localhost", proxy=proxy))
            kept = await bob.presence.watch("sip:alice@localhost")
            await expect(bob, PresenceChanged, TIMEOUT)
            ended = await carol.presence.watch("sip:alice@localhost")
            await expect(carol, PresenceChanged, TIMEOUT)
            # Stored before the 2xx: both are there as soon as watch() returned.
            stored = await store.subscriptions.load(["presence"])
            assert {r.watcher for r in stored} == {"sip:bob@localhost", "sip:carol@localhost"}
            await ended.unsubscribe()
            await asyncio.wait_for(server.drain(), TIMEOUT)
            [left] = await store.subscriptions.load(["presence"])
            assert left.watcher == "sip:bob@localhost"
            assert kept.core is not None and kept.core.dialog is not None
            call_id, bob_tag, server_tag = kept.core.dialog.id
            assert left.key == (call_id, server_tag, bob_tag)  # the server's view
        # Stopping the server ended no subscription: bob's is still stored.
        await store.close()
        store = open_store(tmp_path)
        async with presence_server(store, port) as (again, _):
            assert left.key in again.service and len(again.service) == 1
            # Taken up again: bob is sent the current state in the same
            # subscription, above every CSeq he has seen.
            resumed = await expect(bob, PresenceChanged, TIMEOUT)
            assert resumed.subscription is kept
            assert kept.status.value == "active"
            await peers.aclose()  # bob unsubscribes while the server runs
    assert await store.subscriptions.load(["presence"]) == []
    await store.close()
