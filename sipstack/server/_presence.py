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
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import time
from collections.abc import Callable, Iterable

from ..endpoint import Endpoint, IncomingRequest
from ..message import Request, SipURI
from ..presence import (
    ACCESS_EVENT,
    AccessLevel,
    Availability,
    Outgoing,
    Presence,
    PresenceError,
    PresenceService,
    aor_key,
    decode,
)
from ..storage import Publication, Store

__all__ = ["ACCESS_EVENT", "PresenceServer"]

log = logging.getLogger("sipstack.server")

# Publications one user may hold (devices); more is refused.
MAX_PUBLICATIONS = 16


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

    def _default_level(self, resource: str, watcher: str) -> AccessLevel:
        owner = resource.rsplit("@", 1)[-1]
        return AccessLevel.COMPANY if watcher.rsplit("@", 1)[-1] == owner else AccessLevel.PUBLIC

    async def start(self) -> None:
        """Load stored publications and access levels."""
        now = self.clock()
        for pub in await self.store.publications.load():
            if pub.expires_at > now:
                self._publications.setdefault(pub.aor, {})[pub.etag] = pub
        for (owner, watcher), level in (await self.store.access.load()).items():
            self.service.levels[(owner, watcher)] = AccessLevel(level)
        for aor in self._publications:
            self.service.set_document(aor, self._merged(aor), now)

    def owns(self, request: Request) -> bool:
        """Whether an in-dialog request belongs to one of our subscriptions."""
        key = (request.call_id, request.to_tag or "", request.from_addr.tag or "")
        return key in self.service._watches

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
    def on_subscribe(self, incoming: IncomingRequest, contact: str) -> None:
        """SUBSCRIBE to a local user's presence or watcher list (the caller
        checked who sent it)."""
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
            return
        answer = self.service.subscribe(
            request, incoming.to_tag, resource, self.clock(), contact=contact
        )
        incoming.respond(answer.status, answer.reason, headers=answer.headers)
        self._send(answer.notifies)

    def _send(self, notifies: Iterable[Outgoing]) -> None:
        for out in notifies:
            task = asyncio.ensure_future(self._send_notify(out))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        self._arm()

    async def _send_notify(self, out: Outgoing) -> None:
        try:
            response = await self.endpoint.request(out.request)
        except OSError as exc:
            log.info("cannot send a NOTIFY: %s", exc)
            return
        except Exception as exc:  # a watcher's unusable Contact
            log.info("cannot send a NOTIFY: %s", exc)
            self._send(self.service.drop(out.key, self.clock()))
            return
        if response.status in (481, 408) or response.status >= 500:
            self._send(self.service.drop(out.key, self.clock()))

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
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
        """End every subscription (``deactivated``) and stop the timer."""
        if self._timer is not None:
            self._timer.cancel()
        finals = self.service.close(self.clock())
        await asyncio.gather(*(self._send_notify(o) for o in finals), return_exceptions=True)
