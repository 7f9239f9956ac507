"""The presence server (RFC 3856, RFC 3903, RFC 6665): the presence agent
of every local user.

* **PUBLISH** ``Event: presence`` to one's own address: initial (a PIDF
  body), refresh (SIP-If-Match, no body), modify (both), remove (Expires:
  0); an unknown entity tag is 412.  Each device's publication is kept;
  watchers see them merged (the newest publication of a device that is not
  offline, else the newest).  Publications survive a restart.
* **SUBSCRIBE** ``presence`` to a local user: every watcher gets the merged
  document filtered for its access level; a Blocked watcher gets what an
  offline user with nothing shared would send.  ``presence.winfo`` is the
  user's own watcher list.
* **Access levels** are set in-band: a PUBLISH to one's own address with
  ``Event: x-sipstack-access`` and a ``text/plain`` body of lines
  ``<watcher-uri> <level>`` (levels: blocked, public, company, team,
  personal).  They apply to current subscriptions at once and are stored.
* **Restarts.**  Subscriptions are stored before the 2xx that accepts or
  refreshes them, and dropped when they end; a restarted server takes the
  unexpired ones up again and sends each its current state.  Stopping the
  server does not end them (the watchers need not subscribe again).  The
  NOTIFY CSeq is kept safe with leases, see :class:`CSeqLeases`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from typing import Any, Generic, TypeVar

from ..endpoint import Endpoint, IncomingRequest
from ..errors import SIPParseError, SIPUsageError
from ..message import Request, SipURI
from ..presence import (
    ACCESS_EVENT,
    AccessLevel,
    Availability,
    Outgoing,
    Presence,
    PresenceError,
    PresenceService,
    SubscribeAnswer,
    aor_key,
    decode,
)
from ..storage import DialogKey, DialogRecord, Publication, Store, SubscriptionRecord

__all__ = ["ACCESS_EVENT", "CSEQ_BLOCK", "CSeqLeases", "PresenceServer"]

log = logging.getLogger("sipstack.server")

# Publications one user may hold (devices); more is refused.
MAX_PUBLICATIONS = 16
# How often a running server looks for access levels stored by another
# process (seconds).
ACCESS_POLL = 1.0
#: The event packages the presence server notifies.
PACKAGES = ("presence", "presence.winfo")
#: How far a stored CSeq ceiling is raised at a time (see CSeqLeases).
CSEQ_BLOCK = 100

T = TypeVar("T")


class CSeqLeases(Generic[T]):
    """Lets requests of stored dialogs out only under a stored CSeq ceiling,
    so that a dialog taken up again after a restart goes on above every
    CSeq it ever used.

    Why: the other side refuses a request whose CSeq is not above the last
    one with 500 (RFC 3261 §12.2.2), and a notifier that gets a 500 drops
    the subscription.  The NOTIFY CSeq rises with every NOTIFY, so storing
    it each time would turn one change fanned out to 1,000 watchers into
    1,000 writes; storing it now and then and adding a guessed margin on
    resumption is unsound after a kill, since nobody knows how many went
    out since the last write.

    The scheme is a lease (hi/lo allocation).  The store holds, per dialog,
    a *ceiling*: a CSeq no request of the dialog has gone above.  A request
    goes out only when its CSeq is at most the ceiling already committed;
    one above it waits — with every later request of its dialog, so that
    they leave in CSeq order — until the ceiling is raised to its CSeq +
    ``block``.  A resumed dialog starts at its stored ceiling, above
    everything it sent, kill or no kill: the safety margin is exact.

    Cost: one write per ``block // 2`` requests per dialog, and the raises
    wanted in one pass of the event loop share one transaction — a change
    fanned out to 1,000 watchers costs at most one transaction, not 1,000.
    A ceiling is raised ahead of need, once half of its block is used, so
    that in steady state nothing waits for the disk.  A restart skips at
    most ``block`` numbers per dialog (§12.2.1.1 asks only that CSeq rise,
    and it has 2**31 to go).

    ``persist`` stores raised ceilings (the repository's ``raise_cseq``);
    ``send`` sends one item, in submission order.
    """

    def __init__(
        self,
        persist: Callable[[Mapping[DialogKey, int]], Awaitable[None]],
        send: Callable[[T], None],
        *,
        block: int = CSEQ_BLOCK,
    ) -> None:
        if block < 2:
            raise SIPUsageError("a CSeq block needs at least 2 numbers")
        self.block = block
        self._persist = persist
        self._send = send
        self._committed: dict[DialogKey, int] = {}
        self._asked: dict[DialogKey, int] = {}
        self._wanted: dict[DialogKey, int] = {}
        self._held: dict[DialogKey, list[tuple[int, T]]] = {}
        self._pinned: set[DialogKey] = set()
        self._writer: asyncio.Task[None] | None = None

    def track(self, key: DialogKey, ceiling: int) -> None:
        """Dialog ``key`` is stored with ``ceiling`` (committed)."""
        self._committed[key] = max(ceiling, self._committed.get(key, 0))
        self._asked[key] = max(self._committed[key], self._asked.get(key, 0))

    def forget(self, key: DialogKey) -> None:
        """Dialog ``key`` is no longer stored: its requests need no lease."""
        self._committed.pop(key, None)
        self._asked.pop(key, None)

    def ceiling(self, key: DialogKey) -> int:
        """The ceiling a record of ``key`` written now must carry (the
        highest asked for: a write still in flight may land after it)."""
        return self._asked.get(key, 0)

    def tracks(self, key: DialogKey) -> bool:
        """Whether dialog ``key`` is stored."""
        return key in self._committed

    def hold(self, key: DialogKey) -> None:
        """Keep ``key``'s requests back (its record is being written)."""
        self._pinned.add(key)
        self._held.setdefault(key, [])

    def discard(self, key: DialogKey) -> None:
        """Dialog ``key`` was never acknowledged: forget it and drop what
        it held back."""
        self.forget(key)
        self._pinned.discard(key)
        self._held.pop(key, None)

    def release(self, key: DialogKey) -> None:
        """Let ``key``'s requests go again, the held ones first."""
        self._pinned.discard(key)
        self._flush(key)

    def submit(self, key: DialogKey, seq: int, item: T) -> None:
        """Send ``item``, a request with CSeq ``seq`` in dialog ``key``, as
        soon as the stored ceiling covers it."""
        queue = self._held.get(key)
        if queue is not None:
            queue.append((seq, item))
            return
        ceiling = self._committed.get(key)
        if ceiling is None:
            self._send(item)
            return
        if seq > ceiling:
            self._held[key] = [(seq, item)]
            self._want(key, seq)
            return
        self._send(item)
        if ceiling - seq < self.block // 2:
            self._want(key, seq)

    async def drain(self) -> None:
        """Wait until every ceiling asked for is written (and what waited
        for it sent)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.wait([self._writer])

    def _want(self, key: DialogKey, seq: int) -> None:
        target = seq + self.block
        if target <= self._asked.get(key, 0):
            return  # a write in flight covers it
        self._asked[key] = self._wanted[key] = target
        if self._writer is None or self._writer.done():
            # The task starts on the next pass of the loop: every raise
            # wanted in this one (a whole fan-out) joins its transaction.
            self._writer = asyncio.ensure_future(self._write())

    async def _write(self) -> None:
        while self._wanted:
            batch, self._wanted = self._wanted, {}
            try:
                await self._persist(batch)
                ok = True
            except Exception:
                # Better a NOTIFY a watcher may refuse after a restart than
                # none now: send what waited, and ask again next time.
                log.exception("cannot store CSeq ceilings; sending without them")
                ok = False
            for key, ceiling in batch.items():
                if key in self._committed:
                    if ok:
                        self._committed[key] = max(ceiling, self._committed[key])
                    else:
                        self._asked[key] = self._committed[key]
            for key in batch:
                if key not in self._pinned:
                    self._flush(key, bypass=not ok)

    def _flush(self, key: DialogKey, *, bypass: bool = False) -> None:
        queue = self._held.pop(key, None)
        if not queue:
            return
        for i, (seq, item) in enumerate(queue):
            if bypass:
                self._send(item)
            elif key in self._held:
                # An earlier one is waiting for a higher ceiling: keep order.
                self._held[key].extend(queue[i:])
                return
            else:
                self.submit(key, seq, item)


class PresenceServer:
    """Presence for the users of ``domains``."""

    def __init__(
        self,
        endpoint: Endpoint,
        store: Store,
        domains: set[str],
        *,
        min_expires: int = 60,
        max_expires: int = 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.endpoint = endpoint
        self.store = store
        self.domains = {d.lower() for d in domains}
        self.min_expires = min_expires
        self.max_expires = max_expires
        self.clock = clock
        self.service = PresenceService(
            self._default_level, min_expires=min_expires, max_expires=max_expires
        )
        self._publications: dict[str, dict[str, Publication]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # Writes of subscription records, awaited before the store closes.
        self._writes: set[asyncio.Task[None]] = set()
        self._leases: CSeqLeases[Outgoing] = CSeqLeases(
            store.subscriptions.raise_cseq, self._send_now
        )
        self._resumed: list[DialogKey] = []
        self._closed = False
        self._access_poll: asyncio.Future[None] | None = None

    def _default_level(self, resource: str, watcher: str) -> AccessLevel:
        owner = resource.rsplit("@", 1)[-1]
        return AccessLevel.COMPANY if watcher.rsplit("@", 1)[-1] == owner else AccessLevel.PUBLIC

    async def start(self) -> None:
        """Load stored publications, access levels and the subscriptions
        that have not expired (expired ones are dropped from the store);
        call :meth:`resume` once the endpoint listens."""
        now = self.clock()
        for pub in await self.store.publications.load():
            if pub.expires_at > now:
                self._publications.setdefault(pub.aor, {})[pub.etag] = pub
        for (owner, watcher), level in (await self.store.access.load()).items():
            self.service.levels[(owner, watcher)] = AccessLevel(level)
        for aor in self._publications:
            self.service.set_document(aor, self._merged(aor), now)
        dropped = await self.store.subscriptions.purge(now)
        if dropped:
            log.info("%d stored subscriptions had expired", dropped)
        unusable: list[DialogKey] = []
        for record in await self.store.subscriptions.load(PACKAGES):
            try:
                notifier = record.to_notifier(
                    now, min_expires=self.min_expires, max_expires=self.max_expires
                )
            except SIPParseError as exc:
                log.warning("dropping a stored subscription: %s", exc)
                unusable.append(record.key)
                continue
            self.service.restore(notifier, record.resource)
            self._leases.track(record.key, record.dialog.local_cseq)
            self._resumed.append(record.key)
        if unusable:
            await self.store.subscriptions.remove(unusable)

    def resume(self) -> None:
        """Send every subscription taken up by :meth:`start` its current
        state, filtered for its watcher's level (changes may have been
        missed while the server was down)."""
        now = self.clock()
        keys, self._resumed = self._resumed, []
        self._send([self.service.current(k, now) for k in keys if k in self.service])
        if self._access_poll is None:
            self._access_poll = asyncio.ensure_future(self._poll_access())

    async def _poll_access(self) -> None:
        """Apply levels another process stored (``sipstack access set`` while
        the server runs) within ``ACCESS_POLL`` seconds, as an in-band change
        would be: current subscriptions see the new level at once."""
        seen = await self.store.access.version()
        while not self._closed:
            await asyncio.sleep(ACCESS_POLL)
            try:
                version = await self.store.access.version()
                if version == seen:
                    continue
                seen = version
                stored = await self.store.access.load()
            except Exception:
                log.exception("cannot read the stored access levels")
                continue
            now = self.clock()
            levels = self.service.levels
            for (owner, watcher), value in stored.items():
                if levels.get((owner, watcher)) != value:
                    self._send(self.service.set_level(owner, watcher, AccessLevel(value), now))
            for owner, watcher in [k for k in levels if k not in stored]:
                # Removed: back to the default, then no entry at all.
                default = self._default_level(owner, watcher)
                self._send(self.service.set_level(owner, watcher, default, now))
                del levels[(owner, watcher)]

    def owns(self, request: Request) -> bool:
        """Whether an in-dialog request belongs to one of our subscriptions."""
        key = (request.call_id, request.to_tag or "", request.from_addr.tag or "")
        return key in self.service

    # -- publications -------------------------------------------------------------
    async def on_publish(self, incoming: IncomingRequest) -> None:
        """PUBLISH to one's own address (the caller checked who sent it)."""
        request = incoming.request
        aor = aor_key(str(request.uri))
        if aor != aor_key(str(request.from_addr.uri)):
            incoming.respond(403, "Only The User May Publish Its Presence")
            return
        event = request.event
        if event is not None and event.package == ACCESS_EVENT:
            await self._on_access(incoming, aor)
            return
        if event is None or event.package != "presence":
            incoming.respond(489, headers=[("Allow-Events", f"presence, {ACCESS_EVENT}")])
            return
        now = self.clock()
        expires = request.expires if request.expires is not None else 3600
        if 0 < expires < self.min_expires:
            incoming.respond(423, headers=[("Min-Expires", str(self.min_expires))])
            return
        expires = min(expires, self.max_expires)
        mine = self._publications.setdefault(aor, {})
        match = request.headers.get("SIP-If-Match")
        old = None
        if match is not None:
            old = mine.get(match)
            if old is None or old.expires_at <= now:
                incoming.respond(412)
                return
        elif not request.body:
            incoming.respond(400, "Initial PUBLISH Needs A Body")
            return
        if expires == 0:
            if old is None:
                incoming.respond(400, "Nothing To Remove")
                return
            del mine[old.etag]
            await self.store.publications.remove(aor, old.etag)
            incoming.respond(200, headers=[("SIP-ETag", old.etag), ("Expires", "0")])
            self._document_changed(aor)
            return
        body = request.body or (old.body if old is not None else b"")
        if request.body:
            try:
                decode(request.body)
            except PresenceError as exc:
                incoming.respond(400, headers=[("Warning", f'399 sipstack "{str(exc)[:80]}"')])
                return
        if old is None and len(mine) >= MAX_PUBLICATIONS:
            incoming.respond(403, "Too Many Publications")
            return
        etag = secrets.token_hex(8)
        pub = Publication(
            aor, etag, body, now + expires, now if request.body or old is None else old.published_at
        )
        await self.store.publications.put(pub, replaces=old.etag if old is not None else None)
        if old is not None:
            del mine[old.etag]
        mine[etag] = pub
        incoming.respond(200, headers=[("SIP-ETag", etag), ("Expires", str(expires))])
        self._document_changed(aor)

    def _merged(self, aor: str) -> Presence | None:
        now = self.clock()
        pubs = [p for p in self._publications.get(aor, {}).values() if p.expires_at > now]
        docs: list[tuple[float, Presence]] = []
        for pub in pubs:
            try:
                docs.append((pub.published_at, decode(pub.body)))
            except PresenceError:
                continue
        if not docs:
            return None
        docs.sort(key=lambda d: d[0])
        online = [d for _, d in docs if d.availability is not Availability.OFFLINE]
        best = online[-1] if online else docs[-1][1]
        return dataclasses.replace(best, entity=aor)

    def _document_changed(self, aor: str) -> None:
        self._send(self.service.set_document(aor, self._merged(aor), self.clock()))

    async def _on_access(self, incoming: IncomingRequest, aor: str) -> None:
        changes: list[tuple[str, AccessLevel]] = []
        for line in incoming.request.body.decode("utf-8", "replace").splitlines():
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 2 or parts[1].upper() not in AccessLevel.__members__:
                incoming.respond(400, "Lines Of '<uri> <level>'")
                return
            changes.append((aor_key(parts[0]), AccessLevel[parts[1].upper()]))
        now = self.clock()
        for watcher, level in changes:
            await self.store.access.set(aor, watcher, int(level))
            self._send(self.service.set_level(aor, watcher, level, now))
        incoming.respond(200, headers=[("SIP-ETag", secrets.token_hex(8)), ("Expires", "0")])

    # -- subscriptions ------------------------------------------------------------------
    async def subscribe(self, incoming: IncomingRequest, contact: str) -> None:
        """SUBSCRIBE to a local user's presence or watcher list (the caller
        checked who sent it).  A subscription is stored before the 2xx that
        creates or refreshes it: nothing acknowledged is lost in a restart."""
        change = self._subscribe(incoming, contact)
        if change is None:
            return
        key, answer, record, new = change
        try:
            await self.store.subscriptions.put(record)
        except Exception:
            log.exception("cannot store a subscription")
            incoming.respond(500, "Subscription Not Stored")
            if new:
                # Never acknowledged: gone without a NOTIFY.
                self._leases.discard(key)
                self._send(self.service.drop(key, self.clock()))
            else:
                self._leases.release(key)
            return
        incoming.respond(answer.status, answer.reason, headers=answer.headers)
        # RFC 6665 §4.2.1.1: the NOTIFY follows the 2xx (and any built
        # while the record was written follows it).
        self._leases.release(key)

    def _subscribe(
        self, incoming: IncomingRequest, contact: str
    ) -> tuple[DialogKey, SubscribeAnswer, SubscriptionRecord, bool] | None:
        """Take the SUBSCRIBE into the service; None once it is answered,
        else the subscription (its NOTIFYs held), the answer to send once
        the record is stored, the record, and whether it is new."""
        request = incoming.request
        resource = aor_key(str(request.uri))
        event = request.event
        if (
            not request.to_tag
            and event is not None
            and event.package == "presence.winfo"
            and aor_key(str(request.from_addr.uri)) != resource
        ):
            incoming.respond(403, "Only The User May See Its Watchers")
            return None
        answer = self.service.subscribe(
            request, incoming.to_tag, resource, self.clock(), contact=contact
        )
        key = (request.call_id, incoming.to_tag, request.from_addr.tag or "")
        if answer.status >= 300:
            incoming.respond(answer.status, answer.reason, headers=answer.headers)
            return None
        if key not in self.service:
            # A fetch, or the subscriber ended it: its final NOTIFY is in
            # the answer, and _send drops the record.
            incoming.respond(answer.status, answer.reason, headers=answer.headers)
            self._send(answer.notifies)
            return None
        new = not self._leases.tracks(key)
        if new:
            # Its first NOTIFY is built already: the ceiling starts above it.
            first = max((o.request.cseq.seq for o in answer.notifies if o.key == key), default=0)
            self._leases.track(key, first + self._leases.block)
        self._leases.hold(key)
        # This subscription's NOTIFYs wait for its record; the others (the
        # watcher-info of the resource's user) need not.
        self._send(answer.notifies)
        return key, answer, self._record(key), new

    def _record(self, key: DialogKey) -> SubscriptionRecord:
        found = self.service.get(key)
        assert found is not None
        notifier, resource = found
        return SubscriptionRecord(
            event=notifier.event,
            resource=resource,
            watcher=notifier.watcher,
            dialog=DialogRecord.of(notifier.dialog, local_cseq=self._leases.ceiling(key)),
            expires_at=notifier.expires_at,
            event_id=notifier.event_id,
            contact=notifier.contact,
        )

    async def _put_then_release(self, record: SubscriptionRecord) -> None:
        try:
            await self.store.subscriptions.put(record)
        except Exception:
            log.exception("cannot store a subscription")
        finally:
            self._leases.release(record.key)

    def _spawn_write(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    def _send(self, notifies: Iterable[Outgoing]) -> None:
        ended: list[DialogKey] = []
        for out in notifies:
            if out.key not in self.service and self._leases.tracks(out.key):
                # The subscription's final NOTIFY: its record goes.
                self._leases.forget(out.key)
                ended.append(out.key)
            self._leases.submit(out.key, out.request.cseq.seq, out)
        if ended:
            self._spawn_write(self._remove(ended))
        self._arm()

    async def _remove(self, keys: list[DialogKey]) -> None:
        try:
            await self.store.subscriptions.remove(keys)
        except Exception:
            # Harmless: taken up again after a restart, it ends at its
            # watcher's 481.
            log.exception("cannot drop ended subscriptions")

    def _send_now(self, out: Outgoing) -> None:
        task = asyncio.ensure_future(self._send_notify(out))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_notify(self, out: Outgoing) -> None:
        try:
            response = await self.endpoint.request(out.request)
        except OSError as exc:
            log.info("cannot send a NOTIFY: %s", exc)
            return
        except Exception as exc:  # a watcher's unusable Contact
            log.info("cannot send a NOTIFY: %s", exc)
            self._drop(out.key)
            return
        if response.status in (481, 408) or response.status >= 500:
            # RFC 6665 §4.2.2: the watcher is gone.
            self._drop(out.key)

    def _drop(self, key: DialogKey) -> None:
        if key in self.service:
            self._leases.forget(key)
            self._spawn_write(self._remove([key]))
            self._send(self.service.drop(key, self.clock()))

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._closed:
            return
        now = self.clock()
        deadlines = [self.service.next_deadline]
        deadlines += [p.expires_at for pubs in self._publications.values() for p in pubs.values()]
        upcoming = [d for d in deadlines if d is not None]
        if upcoming:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(max(0.0, min(upcoming) - now), self._tick)

    def _tick(self) -> None:
        self._timer = None
        now = self.clock()
        for aor, pubs in list(self._publications.items()):
            gone = [e for e, p in pubs.items() if p.expires_at <= now]
            for etag in gone:
                del pubs[etag]
            if gone:
                self._document_changed(aor)
        self._send(self.service.expire(now))

    def is_local(self, uri: object) -> bool:
        """Whether ``uri`` is a user of this server's domains."""
        return isinstance(uri, SipURI) and uri.user is not None and uri.host.lower() in self.domains

    async def close(self) -> None:
        """Stop the timer and send what waits for a CSeq lease.  The
        subscriptions are not ended: they are stored, and the server takes
        them up again when it starts (ending them with ``deactivated``
        would only have every watcher subscribe again)."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._access_poll is not None:
            self._access_poll.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._access_poll
            self._access_poll = None
        await self.drain()

    async def drain(self) -> None:
        """Wait for pending writes (call before closing the store)."""
        await self._leases.drain()
        while self._writes:
            await asyncio.wait(list(self._writes))
