"""The notifier side of presence, sans-I/O: who watches which resource, at
which access level, and the NOTIFYs that follow from every change.

The same table serves a peer that answers for itself and a server that
answers for all its users.  It takes SUBSCRIBE requests, documents, access
levels and the time, and hands back the NOTIFY requests to send
(:class:`Outgoing`); the caller sends them and reports watchers that are
gone (:meth:`PresenceService.drop`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from ..dialog import DialogError, Notifier
from ..message import Request, SipURI
from ..message._uri import parse_uri
from ._access import AccessLevel, filter_for
from ._pidf import PIDF_CONTENT_TYPE, Presence, encode
from ._winfo import (
    WATCHERINFO_CONTENT_TYPE,
    Watcher,
    WatcherInfo,
    WatcherList,
    WatcherStatus,
    encode_watcherinfo,
)

__all__ = ["ACCESS_EVENT", "Outgoing", "PresenceService", "SubscribeAnswer", "aor_key"]

#: The event package of in-band access-level changes: a PUBLISH to one's
#: own address whose ``text/plain`` body has lines ``<watcher-uri> <level>``
#: (blocked, public, company, team, personal).
ACCESS_EVENT = "x-sipstack-access"

DialogKey = tuple[str, str, str]
PACKAGES = ("presence", "presence.winfo")


def aor_key(uri: str) -> str:
    """The address of record of a URI for lookups: ``scheme:user@host``,
    host in lower case, no port or parameters."""
    try:
        parsed = parse_uri(uri.strip().strip("<>"))
    except Exception:
        return uri
    if isinstance(parsed, SipURI):
        user = f"{parsed.user}@" if parsed.user else ""
        return f"sip:{user}{parsed.host.lower()}"
    return str(parsed)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A NOTIFY to send for the subscription ``key``."""

    key: DialogKey
    request: Request


@dataclass(frozen=True, slots=True)
class SubscribeAnswer:
    """How to answer a SUBSCRIBE, and the NOTIFYs to send after it."""

    status: int
    reason: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    notifies: tuple[Outgoing, ...] = ()


class _Watch:
    __slots__ = ("notifier", "resource")

    def __init__(self, notifier: Notifier, resource: str) -> None:
        self.notifier = notifier
        self.resource = resource


class PresenceService:
    """Watchers of any number of resources.

    ``default_level(resource, watcher)`` gives the access level of a watcher
    nobody set one for.  A Blocked watcher is treated exactly like any
    other — the same 200, an active subscription, NOTIFYs — but what it is
    sent is the document of an offline user who shares nothing.
    """

    def __init__(
        self,
        default_level: Callable[[str, str], AccessLevel],
        *,
        min_expires: int = 60,
        max_expires: int = 3600,
        max_watchers: int = 100_000,
    ) -> None:
        self.default_level = default_level
        self.min_expires = min_expires
        self.max_expires = max_expires
        self.max_watchers = max_watchers
        self.documents: dict[str, Presence] = {}
        self.levels: dict[tuple[str, str], AccessLevel] = {}
        self._watches: dict[DialogKey, _Watch] = {}
        self._by_resource: dict[str, set[DialogKey]] = {}

    # -- levels and documents ---------------------------------------------------
    def level(self, resource: str, watcher: str) -> AccessLevel:
        """The access level ``watcher`` has for ``resource``."""
        found = self.levels.get((aor_key(resource), aor_key(watcher)))
        return found if found is not None else self.default_level(resource, watcher)

    def document(self, resource: str) -> Presence:
        """``resource``'s presence (offline with nothing shared when unknown)."""
        return self.documents.get(aor_key(resource)) or Presence(aor_key(resource))

    def set_document(self, resource: str, doc: Presence | None, now: float) -> list[Outgoing]:
        """``resource``'s presence changed (None: it has none any more);
        every watcher is sent what its level may see."""
        key = aor_key(resource)
        if doc is None:
            self.documents.pop(key, None)
        else:
            self.documents[key] = doc
        return [self._notify(k, now) for k in self._keys(key, "presence")]

    def set_level(
        self, resource: str, watcher: str, level: AccessLevel, now: float
    ) -> list[Outgoing]:
        """Give ``watcher`` ``level`` for ``resource``; its subscriptions are
        sent what the new level may see at once."""
        key, who = aor_key(resource), aor_key(watcher)
        self.levels[(key, who)] = AccessLevel(level)
        return [
            self._notify(k, now)
            for k in self._keys(key, "presence")
            if aor_key(self._watches[k].notifier.watcher) == who
        ]

    def watchers(self, resource: str) -> list[Watcher]:
        """Who watches ``resource``'s presence now (for watcher-info)."""
        out = []
        for k in sorted(self._keys(aor_key(resource), "presence")):
            n = self._watches[k].notifier
            out.append(Watcher(n.watcher, _watcher_id(k), WatcherStatus.ACTIVE))
        return out

    # -- subscriptions ----------------------------------------------------------------
    def subscribe(
        self, request: Request, local_tag: str, resource: str, now: float, *, contact: str
    ) -> SubscribeAnswer:
        """A SUBSCRIBE for ``resource`` (new, refresh or unsubscribe), the
        caller having decided the subscriber may subscribe at all (for
        ``presence.winfo``: it is the resource's own user)."""
        if request.to_tag:
            key = (request.call_id, request.to_tag, request.from_addr.tag or "")
            watch = self._watches.get(key)
            if watch is None:
                return SubscribeAnswer(481)
            try:
                granted = watch.notifier.receive_subscribe(request, now)
            except DialogError as exc:
                return self._refused(exc)
            answer = (("Expires", str(granted)), ("Contact", contact))
            if granted == 0:
                return SubscribeAnswer(200, None, answer, tuple(self._end(key, "timeout", now)))
            return SubscribeAnswer(200, None, answer, (self._notify(key, now),))
        event = request.event
        if event is None or event.package not in PACKAGES:
            return SubscribeAnswer(489, None, (("Allow-Events", ", ".join(PACKAGES)),))
        if len(self._watches) >= self.max_watchers:
            return SubscribeAnswer(503, None, (("Retry-After", "60"),))
        try:
            notifier = Notifier(
                request,
                local_tag,
                now,
                min_expires=self.min_expires,
                max_expires=self.max_expires,
                contact=contact,
            )
        except DialogError as exc:
            return self._refused(exc)
        key = notifier.dialog.id
        answer = (("Expires", str(notifier.granted)), ("Contact", contact))
        resource = aor_key(resource)
        self._watches[key] = _Watch(notifier, resource)
        if notifier.granted == 0:
            # A fetch (RFC 6665 §4.4.3): the state once, then done.
            return SubscribeAnswer(200, None, answer, tuple(self._end(key, "timeout", now)))
        self._by_resource.setdefault(resource, set()).add(key)
        out = [self._notify(key, now)]
        if event.package == "presence":
            out += self._winfo_changed(resource, now)
        return SubscribeAnswer(200, None, answer, tuple(out))

    def _refused(self, exc: DialogError) -> SubscribeAnswer:
        headers = (("Min-Expires", str(self.min_expires)),) if exc.status == 423 else ()
        return SubscribeAnswer(exc.status, exc.reason, headers)

    def drop(self, key: DialogKey, now: float) -> list[Outgoing]:
        """The watcher is gone (its NOTIFY got 481, 408 or a 5xx): forget it
        without another NOTIFY."""
        watch = self._forget(key)
        if watch is None or watch.notifier.event != "presence":
            return []
        return self._winfo_changed(watch.resource, now)

    def expire(self, now: float) -> list[Outgoing]:
        """Subscriptions that ran out: a final NOTIFY (reason ``timeout``)."""
        out: list[Outgoing] = []
        for key in [k for k, w in self._watches.items() if w.notifier.expired(now)]:
            out += self._end(key, "timeout", now)
        return out

    @property
    def next_deadline(self) -> float | None:
        """When :meth:`expire` next has work."""
        return min((w.notifier.expires_at for w in self._watches.values()), default=None)

    def get(self, key: DialogKey) -> tuple[Notifier, str] | None:
        """The notifier of subscription ``key`` and the resource it watches
        (None when there is no such subscription)."""
        watch = self._watches.get(key)
        return None if watch is None else (watch.notifier, watch.resource)

    def restore(self, notifier: Notifier, resource: str) -> None:
        """Take up a subscription again from stored state (after a restart);
        send it :meth:`current` once the caller can send."""
        key = notifier.dialog.id
        self._forget(key)
        resource = aor_key(resource)
        self._watches[key] = _Watch(notifier, resource)
        self._by_resource.setdefault(resource, set()).add(key)

    def current(self, key: DialogKey, now: float) -> Outgoing:
        """A NOTIFY with the current state for subscription ``key`` (RFC
        6665 §4.2.2: a notifier may send one at any time), e.g. after a
        restart, when changes may have been missed."""
        return self._notify(key, now)

    def __contains__(self, key: object) -> bool:
        return key in self._watches

    def close(self, now: float) -> list[Outgoing]:
        """End every subscription (reason ``deactivated``: subscribe again
        later)."""
        out: list[Outgoing] = []
        for key in list(self._watches):
            out += self._end(key, "deactivated", now, winfo=False)
        return out

    def __len__(self) -> int:
        return len(self._watches)

    # -- internals ---------------------------------------------------------------------
    def _keys(self, resource: str, package: str) -> list[DialogKey]:
        return [
            k
            for k in self._by_resource.get(resource, ())
            if self._watches[k].notifier.event == package
        ]

    def _forget(self, key: DialogKey) -> _Watch | None:
        watch = self._watches.pop(key, None)
        if watch is not None:
            keys = self._by_resource.get(watch.resource)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_resource[watch.resource]
        return watch

    def _end(self, key: DialogKey, reason: str, now: float, winfo: bool = True) -> list[Outgoing]:
        watch = self._watches.get(key)
        if watch is None:
            return []
        final = self._notify(key, now, reason)
        self._forget(key)
        out = [final]
        if winfo and watch.notifier.event == "presence":
            out += self._winfo_changed(watch.resource, now)
        return out

    def _winfo_changed(self, resource: str, now: float) -> list[Outgoing]:
        return [self._notify(k, now) for k in self._keys(resource, "presence.winfo")]

    def _notify(self, key: DialogKey, now: float, final: str | None = None) -> Outgoing:
        watch = self._watches[key]
        notifier = watch.notifier
        if notifier.event == "presence":
            level = self.level(watch.resource, notifier.watcher)
            body = encode(filter_for(self.document(watch.resource), level))
            ctype = PIDF_CONTENT_TYPE
        else:
            # RFC 3858 §3: the version counts the documents sent in this
            # subscription, from 0.  The NOTIFY's own CSeq does too (NOTIFY is
            # the only request the notifier sends in the dialog), and it
            # keeps rising across a restart (a resumed dialog jumps ahead:
            # the subscriber sees a gap, and every document is full state).
            version = notifier.dialog.local_seq
            lists = (WatcherList(watch.resource, "presence", tuple(self.watchers(watch.resource))),)
            body = encode_watcherinfo(WatcherInfo(version, lists=lists))
            ctype = WATCHERINFO_CONTENT_TYPE
        return Outgoing(key, notifier.notify(body, ctype, now, reason=final))


def _watcher_id(key: DialogKey) -> str:
    """A stable watcher-info id for a subscription that reveals nothing."""
    return "w" + hashlib.sha256("|".join(key).encode()).hexdigest()[:16]
