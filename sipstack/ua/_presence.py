"""Subscriptions and presence for the :class:`~sipstack.ua.Peer`.

Three roles in one place:

* **subscriber** — :meth:`PresenceAgent.watch` (event ``presence``),
  :meth:`PresenceAgent.watch_watchers` (``presence.winfo``) and the generic
  :meth:`Peer.subscribe`: SUBSCRIBE, NOTIFYs turned into typed events,
  refresh before expiry, re-subscribe after ``deactivated``/``timeout``.
* **publisher** — :meth:`PresenceAgent.publish` sends PUBLISH (RFC 3903)
  to the presence server with SIP-ETag handling: initial, refresh, modify,
  remove, and a fresh initial PUBLISH after 412.
* **notifier** — without a server in between, watchers subscribe to the
  peer itself; each gets the document filtered for its access level
  (:func:`~sipstack.presence.filter_for`), a Blocked watcher exactly what an
  offline user with no details would send.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..dialog import (
    NO_RETRY_REASONS,
    DialogError,
    Notification,
    Subscriber,
    SubscriptionStatus,
    uas_dialog_id,
)
from ..errors import SIPUsageError
from ..message import Request, SipURI, make_request
from ..message._uri import parse_uri
from ..presence import (
    ACCESS_EVENT,
    CONFERENCE_INFO_CONTENT_TYPE,
    PIDF_CONTENT_TYPE,
    WATCHERINFO_CONTENT_TYPE,
    AccessLevel,
    Outgoing,
    Presence,
    PresenceError,
    PresenceService,
    Watcher,
    aor_key,
    decode,
    decode_watcherinfo,
    encode,
)
from ._events import (
    NotifyReceived,
    PresenceChanged,
    RequestFailed,
    SubscriptionEnded,
    WatchersChanged,
)
from ._media import mime_of

if TYPE_CHECKING:
    from ..endpoint import IncomingRequest
    from ._conversation import Conversation
    from ._peer import Peer

__all__ = ["PresenceAgent", "Subscription"]

log = logging.getLogger("sipstack.ua")

# How many watchers the peer serves itself, and subscriptions it holds: a
# bound against a flood of SUBSCRIBEs.
MAX_WATCHERS = 1000
MAX_SUBSCRIPTIONS = 1000


class Subscription:
    """A subscription this peer holds (to ``presence`` of a contact, to its
    own ``presence.winfo``, or any event package)."""

    def __init__(self, peer: Peer, target: str, event: str, expires: int) -> None:
        self.peer = peer
        self.target = target
        self.event = event
        self.expires = expires
        self.core: Subscriber | None = None
        #: The last NOTIFY's content.
        self.last: Notification | None = None
        #: For ``presence``: the last document received.
        self.presence: Presence | None = None
        #: Set when the subscription has ended for good.
        self.ended = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._first = asyncio.Event()
        self._accept: str | None = None
        #: The conversation whose roster this subscription follows.
        self.conversation: Conversation | None = None

    def __repr__(self) -> str:
        return f"Subscription({self.event} of {self.target}, {self.status.value})"

    @property
    def status(self) -> SubscriptionStatus:
        """pending, active, terminated …"""
        return SubscriptionStatus.INIT if self.core is None else self.core.status

    async def first_notify(self, timeout: float | None = None) -> Notification | None:
        """Wait for the first NOTIFY (the current state of the resource)."""
        async with asyncio.timeout(timeout):
            await self._first.wait()
        return self.last

    async def unsubscribe(self) -> None:
        """End the subscription (SUBSCRIBE with Expires: 0)."""
        await self.peer.presence._unsubscribe(self)


class PresenceAgent:
    """``peer.presence``: publish, watch, and serve presence."""

    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        #: This user's own presence as last set.
        self.document = Presence(str(peer.aor))
        me = aor_key(str(peer.aor))
        self._me = me
        #: The watchers of this peer's own presence (peer to peer).
        self.service = PresenceService(self._default_level, max_watchers=MAX_WATCHERS)
        self._expiry: asyncio.TimerHandle | None = None
        self._watcher_list: list[str] = []
        self._subs: dict[tuple[str, str, str], Subscription] = {}
        self._pending: dict[tuple[str, str], Subscription] = {}
        self._ending: dict[tuple[str, str, str], Subscription] = {}
        self._etag: str | None = None
        self._publish_task: asyncio.Task[None] | None = None

    # -- access levels ------------------------------------------------------------
    def _default_level(self, resource: str, watcher: str) -> AccessLevel:
        """Company for the same domain, Public for others (the product's
        default)."""
        uri = parse_uri(aor_key(watcher))
        same = isinstance(uri, SipURI) and uri.host.lower() == self.peer.aor.host.lower()
        return AccessLevel.COMPANY if same else AccessLevel.PUBLIC

    def access_for(self, watcher: str) -> AccessLevel:
        """A watcher's access level (what was set, else the default)."""
        return self.service.level(self._me, watcher)

    async def set_access(self, watcher: str, level: AccessLevel) -> None:
        """Change a watcher's access level; its subscriptions are sent what
        the new level may see at once — by this peer, and by the presence
        server when the peer has one (an in-band ``x-sipstack-access``
        PUBLISH).  Raises :class:`RequestFailed` when the server refuses."""
        level = AccessLevel(level)
        self._send(self.service.set_level(self._me, watcher, level, time.monotonic()))
        peer = self.peer
        if peer._has_server:
            request = make_request(
                "PUBLISH",
                peer.aor,
                from_addr=peer.from_address,
                to_addr=peer.from_address,
                body=f"{aor_key(watcher)} {level.name.lower()}\r\n".encode(),
                content_type="text/plain",
                headers=[
                    ("Event", ACCESS_EVENT),
                    ("Expires", "0"),
                    ("User-Agent", peer.user_agent),
                ],
            )
            peer._check(await peer._send_to_server(request), "PUBLISH")

    @property
    def watchers(self) -> list[Watcher]:
        """Who watches this peer's presence directly (peer to peer)."""
        return self.service.watchers(self._me)

    # -- publishing ---------------------------------------------------------------------
    async def publish(self, document: Presence, *, expires: int = 600) -> None:
        """Make ``document`` this user's presence: every watcher of the peer
        is notified, and the presence server (when the peer has one) gets a
        PUBLISH.  Raises :class:`RequestFailed` when the server refuses."""
        if document.entity != str(self.peer.aor):
            document = _with_entity(document, str(self.peer.aor))
        self.document = document
        self._send(self.service.set_document(self._me, document, time.monotonic()))
        if self.peer._has_server:
            await self._publish(encode(document), expires)

    async def unpublish(self) -> None:
        """Remove the published state from the server (Expires: 0)."""
        if self._publish_task is not None:
            self._publish_task.cancel()
            self._publish_task = None
        if self._etag is not None:
            with contextlib.suppress(RequestFailed):
                await self._send_publish(b"", 0, self._etag)
            self._etag = None

    async def _publish(self, body: bytes, expires: int) -> None:
        response_etag, granted = await self._send_publish(body, expires, self._etag)
        self._etag = response_etag
        if self._publish_task is not None:
            self._publish_task.cancel()
        self._publish_task = asyncio.ensure_future(self._refresh_publication(granted))

    async def _send_publish(self, body: bytes, expires: int, etag: str | None) -> tuple[str, int]:
        peer = self.peer
        for _ in range(2):
            headers = [("Event", "presence"), ("Expires", str(expires))]
            if etag is not None:
                headers.append(("SIP-If-Match", etag))
            request = make_request(
                "PUBLISH",
                peer.aor,
                from_addr=peer.from_address,
                to_addr=peer.from_address,
                body=body,
                content_type=PIDF_CONTENT_TYPE if body else None,
                headers=[*headers, ("User-Agent", peer.user_agent)],
            )
            response = await peer._send_to_server(request)
            if response.status == 412 and etag is not None:
                # The server lost our state: publish it again from scratch.
                etag = None
                if not body:
                    body = encode(self.document)
                continue
            break
        peer._check(response, "PUBLISH")
        new_etag = response.headers.get("SIP-ETag") or etag or ""
        granted = response.expires if response.expires is not None else expires
        return new_etag, granted

    async def _refresh_publication(self, granted: int) -> None:
        while granted > 0:
            await asyncio.sleep(max(1.0, granted - min(60.0, granted / 2)))
            try:
                self._etag, granted = await self._send_publish(b"", granted, self._etag)
            except RequestFailed as exc:
                log.info("presence refresh failed: %s", exc)
                return

    # -- watching -----------------------------------------------------------------------------
    async def watch(self, uri: str, *, expires: int = 600) -> Subscription:
        """Subscribe to ``uri``'s presence; updates arrive as
        :class:`PresenceChanged` events (and in ``subscription.presence``)."""
        return await self.subscribe(uri, "presence", expires=expires, accept=PIDF_CONTENT_TYPE)

    async def watch_watchers(self, *, expires: int = 600) -> Subscription:
        """Subscribe to this user's watcher list (RFC 3857) at the server;
        changes arrive as :class:`WatchersChanged` events."""
        return await self.subscribe(
            str(self.peer.aor), "presence.winfo", expires=expires, accept=WATCHERINFO_CONTENT_TYPE
        )

    async def subscribe(
        self,
        uri: str,
        event: str,
        *,
        expires: int = 600,
        accept: str | None = None,
        conversation: Conversation | None = None,
    ) -> Subscription:
        """Subscribe to ``event`` at ``uri`` (RFC 6665); returns once the
        SUBSCRIBE was accepted (2xx).  Raises :class:`RequestFailed`.
        ``conversation``: the roster subscription of a joined conversation."""
        if len(self._subs) + len(self._pending) >= MAX_SUBSCRIPTIONS:
            raise SIPUsageError(f"more than {MAX_SUBSCRIPTIONS} subscriptions")
        sub = Subscription(self.peer, uri, event, expires)
        sub._accept = accept
        sub.conversation = conversation
        await self._start(sub)
        sub._task = asyncio.ensure_future(self._keep(sub))
        return sub

    async def _start(self, sub: Subscription) -> None:
        peer = self.peer
        headers = [("Event", sub.event), ("Expires", str(sub.expires))]
        if sub._accept:
            headers.append(("Accept", sub._accept))
        request = make_request(
            "SUBSCRIBE",
            sub.target,
            from_addr=peer.from_address,
            to_addr=sub.target if "<" in sub.target else f"<{sub.target}>",
            contact=peer.contact,
            headers=[*headers, ("User-Agent", peer.user_agent)],
        )
        peer._preload_route(request)
        now = time.monotonic()
        sub.core = Subscriber(request, now, timer_n=64 * peer.endpoint.layer.timers.t1)
        key = (request.call_id, request.from_addr.tag or "")
        self._pending[key] = sub

        def on_sent(sent: Request) -> None:
            # A retry with credentials is another request: the NOTIFY it
            # brings matches the last one sent.
            assert sub.core is not None
            sub.core.request = sent

        try:
            response = await peer._send(request, on_sent=on_sent)
        except BaseException:
            self._pending.pop(key, None)
            raise
        core = sub.core
        core.receive_response(core.request, response, time.monotonic())
        if response.status >= 300:
            self._pending.pop(key, None)
            peer._check(response, "SUBSCRIBE")
        if core.dialog is not None:
            self._subs[core.dialog.id] = sub
            self._pending.pop(key, None)

    async def _keep(self, sub: Subscription) -> None:
        """Refresh before expiry; after a termination the notifier allows,
        subscribe again (RFC 6665 §4.1.3)."""
        peer = self.peer
        while True:
            core = sub.core
            assert core is not None
            if core.status is SubscriptionStatus.TERMINATED:
                reason = core.reason or ""
                wait = core.retry_after
                if (
                    reason in NO_RETRY_REASONS
                    or sub.expires == 0
                    or (reason in ("probation", "giveup") and wait is None)
                ):
                    self._end(sub)
                    return
                if wait is not None:
                    await asyncio.sleep(wait)
                self._forget(sub)
                try:
                    await self._start(sub)
                except RequestFailed:
                    self._end(sub)
                    return
                continue
            now = time.monotonic()
            at = core.refresh_at
            deadline = core.expires_at
            wake = min(x for x in (at, deadline, now + 3600.0) if x is not None)
            await asyncio.sleep(max(0.0, wake - now))
            now = time.monotonic()
            if core.terminated:  # a NOTIFY ended it while this task slept
                continue
            if core.expired(now):
                continue  # terminated with reason timeout: subscribe again
            at = core.refresh_at
            if at is not None and now >= at and core.dialog is not None:
                refresh = core.refresh(sub.expires, contact=peer.contact)
                try:
                    response = await peer._send(refresh, dialog=core.dialog)
                except RequestFailed:
                    continue
                core.receive_response(refresh, response, time.monotonic())

    async def _unsubscribe(self, sub: Subscription) -> None:
        sub.expires = 0
        core = sub.core
        if sub._task is not None:
            sub._task.cancel()
            sub._task = None
        if (
            core is not None
            and core.dialog is not None
            and core.status
            in (
                SubscriptionStatus.PENDING,
                SubscriptionStatus.ACTIVE,
            )
        ):
            request = core.refresh(0, contact=self.peer.contact)
            with contextlib.suppress(RequestFailed, SIPUsageError):
                await self.peer._send(request, dialog=core.dialog)
            if not core.terminated:
                # The notifier's final NOTIFY is still to come (RFC 6665
                # §4.1.2.3): answer it 200 rather than 481 for a while.
                dialog_id = core.dialog.id
                self._ending[dialog_id] = sub
                loop = asyncio.get_running_loop()
                loop.call_later(
                    64 * self.peer.endpoint.layer.timers.t1, self._ending.pop, dialog_id, None
                )
        self._end(sub, "unsubscribed")

    def _end(self, sub: Subscription, reason: str | None = None) -> None:
        self._forget(sub)
        if not sub.ended.is_set():
            sub.ended.set()
            core = sub.core
            if reason is None:
                reason = core.reason if core is not None and core.reason else "terminated"
            retry = core.retry_after if core is not None else None
            self.peer._emit(SubscriptionEnded(sub, reason, retry))

    def _forget(self, sub: Subscription) -> None:
        for table in (self._subs, self._pending):
            for key in [k for k, v in table.items() if v is sub]:
                del table[key]  # type: ignore[arg-type]

    def on_notify(self, incoming: IncomingRequest) -> None:
        """A NOTIFY: match it to a subscription, answer, emit its event."""
        request = incoming.request
        key = uas_dialog_id(request)
        if key in self._ending:
            incoming.respond(200)
            state = request.headers.get("Subscription-State") or ""
            if state.strip().lower().startswith("terminated"):
                del self._ending[key]
            return
        sub = self._subs.get(key) or self._pending.get(key[:2])
        if sub is None or sub.core is None:
            incoming.respond(481)
            return
        core = sub.core
        try:
            note = core.receive_notify(request, time.monotonic())
        except DialogError as exc:
            incoming.respond(exc.status, exc.reason)
            return
        if core.dialog is not None and key[:2] in self._pending:
            self._pending.pop(key[:2], None)
            self._subs[core.dialog.id] = sub
        incoming.respond(200)
        sub.last = note
        self._deliver(sub, note)
        sub._first.set()
        task = sub._task
        if note.status is SubscriptionStatus.TERMINATED and task is not None and not task.done():
            # Wake the keeper so that it re-subscribes or ends.
            task.cancel()
            sub._task = asyncio.ensure_future(self._keep(sub))

    def _deliver(self, sub: Subscription, note: Notification) -> None:
        peer = self.peer
        ctype = mime_of(note.content_type)
        if sub.event == "presence" and ctype == PIDF_CONTENT_TYPE and note.body:
            try:
                doc = decode(note.body)
            except PresenceError as exc:
                log.info("undecodable presence from %s: %s", sub.target, exc)
                return
            sub.presence = doc
            peer._emit(PresenceChanged(sub, sub.target, doc))
        elif sub.event == "presence.winfo" and ctype == WATCHERINFO_CONTENT_TYPE and note.body:
            try:
                info = decode_watcherinfo(note.body)
            except PresenceError as exc:
                log.info("undecodable watcher info: %s", exc)
                return
            watchers = tuple(w for lst in info.lists for w in lst.watchers)
            peer._emit(WatchersChanged(watchers))
        elif sub.conversation is not None and ctype == CONFERENCE_INFO_CONTENT_TYPE and note.body:
            peer._roster_update(sub.conversation, note.body)
        else:
            peer._emit(NotifyReceived(sub, note))

    # -- serving watchers (notifier) ----------------------------------------------------------
    def on_subscribe(self, incoming: IncomingRequest) -> None:
        """A SUBSCRIBE to this peer: ``presence`` from anyone (filtered by
        access level), ``presence.winfo`` from this user only."""
        request = incoming.request
        peer = self.peer
        event = request.event
        if not request.to_tag:
            if peer._closed:
                incoming.respond(503, headers=[("Retry-After", "60")])
                return
            if (
                event is not None
                and event.package == "presence.winfo"
                and aor_key(str(request.from_addr.uri)) != self._me
            ):
                incoming.respond(403, "Only The User May See Its Watchers")
                return
        answer = self.service.subscribe(
            request, incoming.to_tag, self._me, time.monotonic(), contact=peer.contact
        )
        incoming.respond(answer.status, answer.reason, headers=answer.headers)
        self._send(answer.notifies)

    def _send(self, notifies: Iterable[Outgoing]) -> None:
        for out in notifies:
            self.peer._spawn(self._send_notify(out))
        self._changed()

    def _changed(self) -> None:
        """Re-arm the expiry timer; tell the application when its watchers
        changed."""
        now_list = [w.uri for w in self.watchers]
        if now_list != self._watcher_list:
            self._watcher_list = now_list
            self.peer._emit(WatchersChanged(tuple(self.watchers)))
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        deadline = self.service.next_deadline
        if deadline is not None and not self.peer._closed:
            loop = asyncio.get_running_loop()
            self._expiry = loop.call_later(max(0.0, deadline - time.monotonic()), self._expire)

    def _expire(self) -> None:
        self._expiry = None
        self._send(self.service.expire(time.monotonic()))

    async def _send_notify(self, out: Outgoing) -> None:
        try:
            response = await self.peer._send(out.request)
        except (RequestFailed, SIPUsageError):
            return
        if response.status in (481, 408) or response.status >= 500:
            # The watcher is gone (RFC 6665 §4.2.2): forget it.
            self._send(self.service.drop(out.key, time.monotonic()))

    async def close(self) -> None:
        """Tell watchers the subscription ended, unsubscribe, unpublish."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        # The final NOTIFYs are awaited here: the peer's tasks are cancelled
        # once this returns.
        finals = self.service.close(time.monotonic())
        await asyncio.gather(*(self._send_notify(o) for o in finals), return_exceptions=True)
        self._changed()
        subs = {id(s): s for s in [*self._subs.values(), *self._pending.values()]}
        await asyncio.gather(*(self._unsubscribe(s) for s in subs.values()), return_exceptions=True)
        await self.unpublish()


def _with_entity(document: Presence, entity: str) -> Presence:
    return dataclasses.replace(document, entity=entity)
