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
from typing import TYPE_CHECKING

from ..dialog import (
    NO_RETRY_REASONS,
    DialogError,
    Notification,
    Notifier,
    Subscriber,
    SubscriptionStatus,
    uas_dialog_id,
)
from ..errors import SIPUsageError
from ..message import Request, SipURI, make_request
from ..message._uri import parse_uri
from ..presence import (
    CONFERENCE_INFO_CONTENT_TYPE,
    PIDF_CONTENT_TYPE,
    WATCHERINFO_CONTENT_TYPE,
    AccessLevel,
    Presence,
    PresenceError,
    Watcher,
    WatcherInfo,
    WatcherList,
    WatcherStatus,
    decode,
    decode_watcherinfo,
    encode,
    encode_watcherinfo,
    filter_for,
)
from ._events import (
    NotifyReceived,
    PresenceChanged,
    RequestFailed,
    SubscriptionEnded,
    WatchersChanged,
)

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
        self._access: dict[str, AccessLevel] = {}
        self._watchers: dict[tuple[str, str, str], Notifier] = {}
        self._expiry: dict[tuple[str, str, str], asyncio.TimerHandle] = {}
        self._subs: dict[tuple[str, str, str], Subscription] = {}
        self._pending: dict[tuple[str, str], Subscription] = {}
        self._ending: dict[tuple[str, str, str], Subscription] = {}
        self._etag: str | None = None
        self._publish_task: asyncio.Task[None] | None = None
        self._winfo_version = 0

    # -- access levels ------------------------------------------------------------
    def access_for(self, watcher: str) -> AccessLevel:
        """A watcher's access level: what was set, else Company for the
        same domain and Public for others (the product's default)."""
        key = _aor(watcher)
        level = self._access.get(key)
        if level is not None:
            return level
        uri = parse_uri(key)
        same = isinstance(uri, SipURI) and uri.host.lower() == self.peer.aor.host.lower()
        return AccessLevel.COMPANY if same else AccessLevel.PUBLIC

    def set_access(self, watcher: str, level: AccessLevel) -> None:
        """Change a watcher's access level; its subscriptions are sent what
        the new level may see at once."""
        self._access[_aor(watcher)] = AccessLevel(level)
        for notifier in list(self._watchers.values()):
            if _aor(notifier.watcher) == _aor(watcher) and notifier.event == "presence":
                self._notify(notifier)

    @property
    def watchers(self) -> list[Watcher]:
        """Who watches this peer's presence directly (peer to peer)."""
        return [
            Watcher(n.watcher, f"w{abs(hash(key)) % 10**12}", WatcherStatus.ACTIVE)
            for key, n in self._watchers.items()
            if n.event == "presence"
        ]

    # -- publishing ---------------------------------------------------------------------
    async def publish(self, document: Presence, *, expires: int = 600) -> None:
        """Make ``document`` this user's presence: every watcher of the peer
        is notified, and the presence server (when the peer has one) gets a
        PUBLISH.  Raises :class:`RequestFailed` when the server refuses."""
        if document.entity != str(self.peer.aor):
            document = _with_entity(document, str(self.peer.aor))
        self.document = document
        for notifier in list(self._watchers.values()):
            if notifier.event == "presence":
                self._notify(notifier)
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
        ctype = (note.content_type or "").split(";")[0].strip().lower()
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
        if request.to_tag:
            notifier = self._watchers.get(uas_dialog_id(request))
            if notifier is None:
                incoming.respond(481)
                return
            try:
                granted = notifier.receive_subscribe(request, time.monotonic())
            except DialogError as exc:
                headers = [("Min-Expires", "60")] if exc.status == 423 else []
                incoming.respond(exc.status, exc.reason, headers=headers)
                return
            incoming.respond(200, headers=[("Expires", str(granted)), ("Contact", peer.contact)])
            if granted == 0:
                self._drop(notifier, "timeout")
            else:
                self._arm(notifier)
                self._notify(notifier)
            return
        if peer._closed:
            incoming.respond(503, headers=[("Retry-After", "60")])
            return
        if event is None or event.package not in ("presence", "presence.winfo"):
            incoming.respond(489, headers=[("Allow-Events", "presence, presence.winfo")])
            return
        if event.package == "presence.winfo" and _aor(str(request.from_addr.uri)) != _aor(
            str(peer.aor)
        ):
            incoming.respond(403, "Only The User May See Its Watchers")
            return
        if len(self._watchers) >= MAX_WATCHERS:
            incoming.respond(503, headers=[("Retry-After", "60")])
            return
        try:
            notifier = Notifier(request, incoming.to_tag, time.monotonic())
        except DialogError as exc:
            headers = [("Min-Expires", "60")] if exc.status == 423 else []
            incoming.respond(exc.status, exc.reason, headers=headers)
            return
        # Everyone, Blocked included, gets the same 200 and an active
        # subscription: refusing would tell a blocked watcher it is blocked.
        incoming.respond(
            200, headers=[("Expires", str(notifier.granted)), ("Contact", peer.contact)]
        )
        if notifier.granted == 0:
            # A fetch (RFC 6665 §4.4.3): one NOTIFY with the state, then done.
            self._notify(notifier, final="timeout")
            return
        self._watchers[notifier.dialog.id] = notifier
        self._arm(notifier)
        self._notify(notifier)
        if event.package == "presence":
            self._watchers_changed()

    def _notify(self, notifier: Notifier, final: str | None = None) -> None:
        self.peer._spawn(self._send_notify(notifier, self._notify_request(notifier, final)))

    def _notify_request(self, notifier: Notifier, final: str | None) -> Request:
        if notifier.event == "presence":
            level = self.access_for(notifier.watcher)
            body = encode(filter_for(self.document, level))
            ctype = PIDF_CONTENT_TYPE
        else:
            self._winfo_version += 1
            body = encode_watcherinfo(self._winfo())
            ctype = WATCHERINFO_CONTENT_TYPE
        return notifier.notify(
            body, ctype, time.monotonic(), reason=final, contact=self.peer.contact
        )

    async def _send_notify(self, notifier: Notifier, request: Request) -> None:
        try:
            response = await self.peer._send(request, dialog=notifier.dialog)
        except (RequestFailed, SIPUsageError):
            return
        if response.status in (481, 408) or response.status >= 500:
            # The watcher is gone (§4.2.2): forget it.
            self._drop(notifier, None)

    def _arm(self, notifier: Notifier) -> None:
        key = notifier.dialog.id
        old = self._expiry.pop(key, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        delay = max(0.0, notifier.expires_at - time.monotonic())
        self._expiry[key] = loop.call_later(delay, self._expire, notifier)

    def _expire(self, notifier: Notifier) -> None:
        if notifier.expired(time.monotonic()):
            self._drop(notifier, "timeout")

    def _drop(self, notifier: Notifier, reason: str | None) -> None:
        if self._forget_watcher(notifier):
            if reason is not None:
                self._notify(notifier, final=reason)
            if notifier.event == "presence":
                self._watchers_changed()

    def _forget_watcher(self, notifier: Notifier) -> bool:
        key = notifier.dialog.id
        handle = self._expiry.pop(key, None)
        if handle is not None:
            handle.cancel()
        return self._watchers.pop(key, None) is not None

    def _watchers_changed(self) -> None:
        self.peer._emit(WatchersChanged(tuple(self.watchers)))
        for notifier in list(self._watchers.values()):
            if notifier.event == "presence.winfo":
                self._notify(notifier)

    def _winfo(self) -> WatcherInfo:
        resource = str(self.peer.aor)
        return WatcherInfo(
            self._winfo_version,
            lists=(WatcherList(resource, "presence", tuple(self.watchers)),),
        )

    async def close(self) -> None:
        """Tell watchers the subscription ended, unsubscribe, unpublish."""
        # The final NOTIFYs are awaited here: the peer's tasks are cancelled
        # once this returns.
        finals = []
        for notifier in list(self._watchers.values()):
            self._forget_watcher(notifier)
            finals.append(
                self._send_notify(notifier, self._notify_request(notifier, "deactivated"))
            )
        await asyncio.gather(*finals, return_exceptions=True)
        subs = {id(s): s for s in [*self._subs.values(), *self._pending.values()]}
        await asyncio.gather(*(self._unsubscribe(s) for s in subs.values()), return_exceptions=True)
        await self.unpublish()


def _aor(uri: str) -> str:
    """The address of record of a URI: scheme, user and host (no port or
    parameters), lower-cased host, for access-level lookups."""
    try:
        parsed = parse_uri(uri.strip("<>"))
    except Exception:
        return uri
    if isinstance(parsed, SipURI):
        user = f"{parsed.user}@" if parsed.user else ""
        return f"{parsed.scheme}:{user}{parsed.host.lower()}"
    return str(parsed)


def _with_entity(document: Presence, entity: str) -> Presence:
    return dataclasses.replace(document, entity=entity)
