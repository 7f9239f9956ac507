"""Presence and subscriptions on the Peer over real sockets: watching a
contact peer to peer (UDP, TCP, TLS), access levels (a blocked watcher
learns nothing), watcher info, PUBLISH with entity tags against a test
presence server, NOTIFY before the 2xx, Timer N, terminations."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from peer_events import address, expect

from sipstack.certs import DevCertificates, client_context, server_context, write_dev_certificates
from sipstack.endpoint import Endpoint, IncomingRequest
from sipstack.message import Request, make_request
from sipstack.presence import (
    PIDF_CONTENT_TYPE,
    AccessLevel,
    Availability,
    Meeting,
    OutOfOffice,
    Presence,
    decode,
    encode,
)
from sipstack.transaction import TimerConfig
from sipstack.ua import (
    NotifyReceived,
    Peer,
    PresenceChanged,
    RequestFailed,
    SubscriptionEnded,
    WatchersChanged,
)

TIMEOUT = 5.0
FAST = TimerConfig(t1=0.02, t2=0.2, t4=0.2)
WHEN = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> DevCertificates:
    return write_dev_certificates(tmp_path_factory.mktemp("presence-tls") / "certs")


def rich(entity: str = "sip:alice@127.0.0.1") -> Presence:
    return Presence(
        entity,
        Availability.BUSY,
        activities=("meeting",),
        note="Planning",
        title="Engineer",
        work_phone="+1 555 0100",
        mobile_phone="+1 555 0101",
        home_phone="+1 555 0102",
        meeting=Meeting(until=WHEN, subject="Roadmap", location="Room 4"),
        out_of_office=OutOfOffice("Back Monday", until=WHEN),
    )


@asynccontextmanager
async def pair(
    transport: str = "UDP", dev: DevCertificates | None = None, **kw: Any
) -> AsyncIterator[tuple[Peer, Peer]]:
    tls: dict[str, Any] = {}
    listen = ["udp:127.0.0.1:0", "tcp:127.0.0.1:0"]
    if transport == "TLS":
        assert dev is not None
        tls = {
            "tls_server": server_context(dev.server_cert, dev.server_key),
            "tls_client": client_context(ca=dev.ca_cert),
        }
        listen = ["udp:127.0.0.1:0", "tls:127.0.0.1:0"]
    alice = Peer("sip:alice@127.0.0.1", transport=transport.lower(), listen=listen, **tls, **kw)
    bob = Peer("sip:bob@127.0.0.1", transport=transport.lower(), listen=listen, **tls, **kw)
    async with alice, bob:
        yield alice, bob


# -- watching peer to peer -------------------------------------------------------


@pytest.mark.parametrize("transport", ["UDP", "TCP", "TLS"])
async def test_watch_gets_current_state_then_every_change(
    transport: str, dev: DevCertificates
) -> None:
    async with pair(transport, dev) as (alice, bob):
        await alice.presence.publish(rich())
        sub = await asyncio.wait_for(
            bob.presence.watch(address(alice, "alice", transport)), TIMEOUT
        )
        first = await expect(bob, PresenceChanged)
        assert first.subscription is sub
        # Same domain: Company level by default.
        seen = first.presence
        assert seen.availability is Availability.BUSY and seen.note == "Planning"
        assert seen.title == "Engineer" and seen.work_phone == "+1 555 0100"
        assert seen.mobile_phone is None and seen.home_phone is None
        assert seen.meeting is not None and seen.meeting.until == WHEN
        assert seen.meeting.subject is None
        await alice.presence.publish(Presence("sip:alice@127.0.0.1", Availability.AVAILABLE))
        assert (await expect(bob, PresenceChanged)).presence.availability is Availability.AVAILABLE
        assert [w.uri for w in alice.presence.watchers] == ["sip:bob@127.0.0.1"]
        await sub.unsubscribe()
        assert (await expect(bob, SubscriptionEnded)).reason == "unsubscribed"
        changed = await expect(alice, WatchersChanged)
        while changed.watchers:
            changed = await expect(alice, WatchersChanged)
        assert alice.presence.watchers == []


async def test_access_levels_change_what_the_watcher_receives() -> None:
    async with pair() as (alice, bob):
        await alice.presence.publish(rich())
        await bob.presence.watch(address(alice, "alice"))
        await expect(bob, PresenceChanged)
        await alice.presence.set_access("sip:bob@127.0.0.1", AccessLevel.PERSONAL)
        personal = (await expect(bob, PresenceChanged)).presence
        assert personal.home_phone == "+1 555 0102"
        assert personal.out_of_office is not None
        assert personal.out_of_office.message == "Back Monday"
        await alice.presence.set_access("sip:bob@127.0.0.1", AccessLevel.PUBLIC)
        public = (await expect(bob, PresenceChanged)).presence
        assert public.availability is Availability.BUSY
        assert public.note is None and public.title is None and public.meeting is None


async def test_a_blocked_watcher_learns_nothing() -> None:
    """Blocked is indistinguishable from an offline user who shares
    nothing: the same 200, the same active subscription, and byte for byte
    the same NOTIFY body whatever the user's real state is."""
    bodies: list[bytes] = []
    async with pair() as (alice, bob):
        await alice.presence.set_access("sip:bob@127.0.0.1", AccessLevel.BLOCKED)
        sub = await bob.presence.watch(address(alice, "alice"))
        await expect(bob, PresenceChanged)
        assert sub.last is not None
        bodies.append(sub.last.body)
        for doc in (rich(), Presence("sip:alice@127.0.0.1", Availability.AVAILABLE, note="hi")):
            await alice.presence.publish(doc)
            await expect(bob, PresenceChanged)
            bodies.append(sub.last.body)
        assert sub.status.value == "active"
    async with pair() as (carol_side, dave):
        # A user who is offline and shares nothing, watched by anyone.
        sub = await dave.presence.watch(address(carol_side, "alice"))
        await expect(dave, PresenceChanged)
        assert sub.last is not None
        offline = sub.last.body
    assert set(bodies) == {offline}
    assert decode(offline) == Presence("sip:alice@127.0.0.1")


async def test_watcher_info_for_the_user_only() -> None:
    async with pair() as (alice, bob):
        winfo = await alice.presence.subscribe(address(alice, "alice"), "presence.winfo")
        assert winfo.status.value in ("active", "pending")
        await expect(alice, WatchersChanged)  # the initial (empty) list
        await bob.presence.watch(address(alice, "alice"))
        changed = await expect(alice, WatchersChanged)
        while not changed.watchers:
            changed = await expect(alice, WatchersChanged)
        assert [w.uri for w in changed.watchers] == ["sip:bob@127.0.0.1"]
        with pytest.raises(RequestFailed) as info:
            await bob.presence.subscribe(address(alice, "alice"), "presence.winfo")
        assert info.value.status == 403


async def test_unknown_event_package_is_489() -> None:
    async with pair() as (alice, bob):
        with pytest.raises(RequestFailed) as info:
            await bob.subscribe(address(alice, "alice"), "dialog")
        assert info.value.status == 489


async def test_closing_the_watched_peer_ends_the_subscription() -> None:
    async with Peer("sip:bob@127.0.0.1", timers=FAST) as bob:
        alice = Peer("sip:alice@127.0.0.1")
        await alice.start()
        await bob.presence.watch(address(alice, "alice"))
        await expect(bob, PresenceChanged)
        await alice.close()
        # "deactivated": bob subscribes again, which fails: alice is gone.
        ended = await expect(bob, SubscriptionEnded)
        assert ended.reason in ("deactivated", "status 408", "status 503")


# -- a test notifier: NOTIFY before 200, Timer N, terminations -------------------------


class Notifier:
    """A hand-driven notifier on an Endpoint."""

    def __init__(self, mode: str, expires: int = 600) -> None:
        self.endpoint = Endpoint(["udp:127.0.0.1:0"])
        self.mode = mode
        self.expires = expires
        self.subscribes: list[Request] = []
        self.endpoint.route("SUBSCRIBE", self.on_subscribe)

    @property
    def uri(self) -> str:
        return f"sip:carol@127.0.0.1:{self.endpoint.listener('UDP').local[1]}"

    def notify_for(self, sub: Request, to_tag: str, state: str, body: bytes = b"") -> Request:
        notify = make_request(
            "NOTIFY",
            sub.contacts[0].uri,
            from_addr=f"<{self.uri}>;tag={to_tag}",
            to_addr=str(sub.from_addr),
            call_id=sub.call_id,
            cseq=len(self.subscribes) + 100,
            contact=f"<{self.uri}>",
            body=body,
            content_type=PIDF_CONTENT_TYPE if body else None,
            headers=[("Event", "presence"), ("Subscription-State", state)],
        )
        return notify

    async def on_subscribe(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        self.subscribes.append(request)
        body = encode(Presence("sip:carol@127.0.0.1", Availability.AWAY))
        tag = incoming.to_tag
        if self.mode == "notify-first" and len(self.subscribes) == 1:
            answer = await self.endpoint.request(
                self.notify_for(request, tag, "active;expires=600", body)
            )
            assert answer.status == 200
            incoming.respond(200, headers=[("Expires", "600"), ("Contact", f"<{self.uri}>")])
            return
        expires = str(self.expires)
        incoming.respond(200, headers=[("Expires", expires), ("Contact", f"<{self.uri}>")])
        if self.mode == "silent":
            return  # no NOTIFY: the subscriber's Timer N must fire
        if self.mode == "reject" and len(self.subscribes) == 1:
            state = "terminated;reason=rejected"
        elif self.mode == "deactivate" and len(self.subscribes) == 1:
            state = "terminated;reason=deactivated"
        elif self.mode == "probation" and len(self.subscribes) == 1:
            state = "terminated;reason=probation;retry-after=1"
        else:
            state = f"active;expires={self.expires}"
        await self.endpoint.request(self.notify_for(request, tag, state, body))


@asynccontextmanager
async def notifier(mode: str, expires: int = 600) -> AsyncIterator[Notifier]:
    n = Notifier(mode, expires)
    async with n.endpoint:
        yield n


async def test_notify_before_the_200_creates_the_subscription() -> None:
    async with notifier("notify-first") as carol, Peer("sip:bob@127.0.0.1") as bob:
        sub = await asyncio.wait_for(bob.presence.watch(carol.uri), TIMEOUT)
        changed = await expect(bob, PresenceChanged)
        assert changed.presence.availability is Availability.AWAY
        assert sub.status.value == "active" and sub.core is not None
        assert sub.core.dialog is not None


async def test_no_notify_after_the_200_times_out_and_subscribes_again() -> None:
    async with notifier("silent") as carol, Peer("sip:bob@127.0.0.1", timers=FAST) as bob:
        await bob.presence.watch(carol.uri)

        async def second() -> None:
            while len(carol.subscribes) < 2:
                await asyncio.sleep(0.02)

        await asyncio.wait_for(second(), TIMEOUT)  # Timer N = 64*T1 = 1.28 s


@pytest.mark.parametrize(
    ("mode", "resubscribes", "reason"),
    [("reject", False, "rejected"), ("deactivate", True, None), ("probation", True, None)],
)
async def test_termination_reasons(mode: str, resubscribes: bool, reason: str | None) -> None:
    async with notifier(mode) as carol, Peer("sip:bob@127.0.0.1") as bob:
        await bob.presence.watch(carol.uri)
        if resubscribes:
            # The second subscription is active and delivers the state.
            changed = await expect(bob, PresenceChanged)
            while len(carol.subscribes) < 2:
                changed = await expect(bob, PresenceChanged)
            assert changed.presence.availability is Availability.AWAY
        else:
            ended = await expect(bob, SubscriptionEnded)
            assert ended.reason == reason
            assert len(carol.subscribes) == 1


async def test_other_event_packages_arrive_as_notify_received() -> None:
    class Dialogs(Notifier):
        def notify_for(self, sub: Request, to_tag: str, state: str, body: bytes = b"") -> Request:
            req = super().notify_for(sub, to_tag, state, b"")
            req.headers.set("Event", "dialog")
            req.body = b"<dialog-info/>"
            req.headers.set("Content-Type", "application/dialog-info+xml")
            req.headers.set("Content-Length", str(len(req.body)))
            return req

    carol = Dialogs("plain")
    async with carol.endpoint, Peer("sip:bob@127.0.0.1") as bob:
        await bob.subscribe(carol.uri, "dialog")
        got = await expect(bob, NotifyReceived)
        assert got.notification.body == b"<dialog-info/>"
        assert got.notification.content_type == "application/dialog-info+xml"


# -- PUBLISH with entity tags (RFC 3903) ---------------------------------------------------


class PresenceServer:
    """Accepts PUBLISH: SIP-ETag per publication, 412 for an unknown one."""

    def __init__(self, expires: int = 600) -> None:
        # TCP too: a rich PIDF document is over the UDP size limit (§18.1.1).
        self.endpoint = Endpoint(["udp:127.0.0.1:0", "tcp:127.0.0.1:0"])
        self.endpoint.route("PUBLISH", self.on_publish)
        self.expires = expires
        self.requests: list[Request] = []
        self.state: dict[str, bytes] = {}
        self.counter = 0

    @property
    def uri(self) -> str:
        return f"sip:127.0.0.1:{self.endpoint.listener('UDP').local[1]}"

    def on_publish(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        self.requests.append(request)
        match = request.headers.get("SIP-If-Match")
        expires = request.expires if request.expires is not None else 3600
        if match is not None and match not in self.state:
            incoming.respond(412)
            return
        if match is not None and expires == 0:
            del self.state[match]
            incoming.respond(200, headers=[("SIP-ETag", match), ("Expires", "0")])
            return
        body = request.body or (self.state.pop(match) if match else b"")
        if match is not None:
            self.state.pop(match, None)
        self.counter += 1
        etag = f"e{self.counter}"
        self.state[etag] = body
        granted = min(expires, self.expires)
        incoming.respond(200, headers=[("SIP-ETag", etag), ("Expires", str(granted))])


async def test_publish_initial_modify_refresh_412_and_remove() -> None:
    server = PresenceServer(expires=2)
    async with server.endpoint, Peer("sip:alice@127.0.0.1", registrar=server.uri) as alice:
        await alice.presence.publish(rich())
        initial = server.requests[-1]
        assert "SIP-If-Match" not in initial.headers and initial.body
        assert decode(initial.body).note == "Planning"  # the server sees everything
        await alice.presence.publish(Presence("sip:alice@127.0.0.1", Availability.AWAY))
        modify = server.requests[-1]
        assert modify.headers.get("SIP-If-Match") == "e1" and modify.body

        async def refreshed() -> Request:
            while True:
                last = server.requests[-1]
                if not last.body:
                    return last
                await asyncio.sleep(0.05)

        refresh = await asyncio.wait_for(refreshed(), TIMEOUT)  # granted 2 s: refresh at 1 s
        assert refresh.headers.get("SIP-If-Match") == "e2" and refresh.expires == 2
        server.state.clear()  # the server restarts and forgets
        await alice.presence.publish(Presence("sip:alice@127.0.0.1", Availability.BUSY))
        refused, again = server.requests[-2:]
        assert refused.headers.get("SIP-If-Match") is not None
        assert "SIP-If-Match" not in again.headers and again.body
        etag = next(iter(server.state))
        await alice.presence.unpublish()
        removal = server.requests[-1]
        assert removal.expires == 0 and removal.headers.get("SIP-If-Match") == etag
        assert server.state == {}


async def test_subscription_is_refreshed_in_its_dialog_before_it_expires() -> None:
    async with notifier("plain", expires=2) as carol, Peer("sip:bob@127.0.0.1") as bob:
        sub = await bob.presence.watch(carol.uri)
        await expect(bob, PresenceChanged)

        async def refreshed() -> Request:
            while True:
                for request in carol.subscribes[1:]:
                    return request
                await asyncio.sleep(0.05)

        refresh = await asyncio.wait_for(refreshed(), TIMEOUT)  # granted 2 s: at 1 s
        first = carol.subscribes[0]
        assert refresh.to_tag and refresh.call_id == first.call_id
        assert refresh.cseq.seq == first.cseq.seq + 1 and refresh.expires == 600
        assert sub.status.value == "active"


async def test_closing_a_watching_peer_unsubscribes_and_leaves_no_task() -> None:
    async with Peer("sip:alice@127.0.0.1") as alice:
        bob = Peer("sip:bob@127.0.0.1")
        await bob.start()
        sub = await bob.presence.watch(address(alice, "alice"))
        await expect(bob, PresenceChanged)
        assert [w.uri for w in alice.presence.watchers] == ["sip:bob@127.0.0.1"]
        await bob.close()
        assert sub.ended.is_set() and not bob._tasks
        assert sub._task is None
        changed = await expect(alice, WatchersChanged)
        while changed.watchers:
            changed = await expect(alice, WatchersChanged)
        assert alice.presence.watchers == []
