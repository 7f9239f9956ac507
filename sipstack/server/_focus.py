"""The conversation focus: multi-party instant-message conversations
(RFC 4353's focus, page-mode messages in each participant's dialog).

How a conversation works on the wire (what :class:`~sipstack.ua.Peer`
speaks):

* **join** — an INVITE to the conversation URI.  It is answered 200 with a
  Contact marked ``isfocus``; a conversation that does not exist yet is
  created by the first INVITE.  A media offer in the INVITE is answered with
  every stream rejected (port 0): the conversation carries text only.
* **say** — a MESSAGE inside the participant's dialog.  The focus answers
  200 and relays it to every other participant inside their dialogs as a
  ``message/cpim`` body (RFC 3862) whose From is the original sender.
* **roster** — a SUBSCRIBE to the conversation URI for the ``conference``
  event (RFC 4575): a full ``conference-info`` document first, then a
  partial one on every join and leave.
* **leave** — a BYE in the dialog.

Limits: participants per conversation and conversations per focus are
bounded; a request over a limit is answered 486 / 503.

Restarts: with repositories given, a join is stored before its 200 and a
roster subscription before its 2xx; a leave, an ended subscription and an
ended conversation are dropped from the store (afterwards: one that is
taken up again by mistake ends at its first 481).  :meth:`start` takes
everything up again.  Requests the focus sends in a dialog (relayed
MESSAGEs, NOTIFYs) get CSeqs under stored ceilings
(:class:`~sipstack.server._presence.CSeqLeases`), so that they still rise after a
restart.  Roster changes are stored before they are announced, so that
conference-info versions rise across a restart too (RFC 4575 §4.1).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import logging
import time
from collections.abc import Callable, Collection, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..dialog import Dialog, DialogError, Notifier, uas_dialog_id
from ..endpoint import Endpoint, IncomingRequest
from ..errors import SIPParseError
from ..message import CPIM_CONTENT_TYPE, CPIMMessage, Request, SipURI, encode_cpim
from ..policy import HISTORY_HEADER
from ..presence import (
    CONFERENCE_INFO_CONTENT_TYPE,
    ConferenceInfo,
    ConferenceUser,
    encode_conference_info,
)
from ..sdp import SDPError, make_answer, parse_sdp
from ..storage import (
    ConversationRecord,
    Conversations,
    DialogKey,
    DialogRecord,
    ParticipantRecord,
    SubscriptionRecord,
    Subscriptions,
)
from ._common import local_contact
from ._presence import CSeqLeases

__all__ = ["ConversationFocus"]

log = logging.getLogger("sipstack.server")

#: The event package of a conversation's roster (RFC 4575).
CONFERENCE_EVENT = "conference"

# A request the focus sends in a dialog, and the dialog.
_Sent = tuple[Request, Dialog]


@dataclass(slots=True)
class _Participant:
    entity: str
    display_name: str | None
    dialog: Dialog
    joined_at: float = 0.0


@dataclass(slots=True)
class _Conversation:
    uri: str
    creator: str
    created_at: float
    participants: dict[DialogKey, _Participant] = field(default_factory=dict)
    watchers: dict[DialogKey, Notifier] = field(default_factory=dict)
    version: int = 0
    #: Joins being stored (they count against the participant limit).
    joining: int = 0
    started: bool = False
    #: Roster changes one at a time: each is stored, then announced.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def record(self, version: int) -> ConversationRecord:
        return ConversationRecord(self.uri, self.creator, self.created_at, (), version)


class _NoConversations:
    """The conversations repository of a focus that stores nothing."""

    async def load(self) -> list[ConversationRecord]:
        return []

    async def join(self, conversation: ConversationRecord, participant: ParticipantRecord) -> None:
        pass

    async def leave(self, uri: str, key: DialogKey, version: int) -> None:
        pass

    async def remove(self, uri: str) -> None:
        pass

    async def raise_cseq(self, ceilings: Mapping[DialogKey, int]) -> None:
        pass


class _NoSubscriptions:
    """The subscriptions repository of a focus that stores nothing."""

    async def load(self, events: Collection[str]) -> list[SubscriptionRecord]:
        return []

    async def put(self, record: SubscriptionRecord) -> None:
        pass

    async def remove(self, keys: Collection[DialogKey]) -> None:
        pass

    async def raise_cseq(self, ceilings: Mapping[DialogKey, int]) -> None:
        pass

    async def purge(self, before: float) -> int:
        return 0


class ConversationFocus:
    """Serves conversation URIs on ``endpoint``: call :meth:`attach` to route
    INVITE, ACK, BYE, MESSAGE and SUBSCRIBE to it, or call its ``on_*``
    handlers from the server's own routing.

    ``conversations`` and ``subscriptions`` are where conversations and
    roster subscriptions are kept across restarts (by default: nowhere);
    ``clock`` gives wall-clock seconds.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        conversations: Conversations | None = None,
        subscriptions: Subscriptions | None = None,
        max_participants: int = 100,
        max_conversations: int = 10_000,
        on_event: Callable[[str, str, str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.endpoint = endpoint
        self.max_participants = max_participants
        self.max_conversations = max_conversations
        self.clock = clock
        self._store: Conversations = (
            conversations if conversations is not None else _NoConversations()
        )
        self._subs: Subscriptions = (
            subscriptions if subscriptions is not None else _NoSubscriptions()
        )
        self._conversations: dict[str, _Conversation] = {}
        self._by_dialog: dict[DialogKey, _Conversation] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._writes: set[asyncio.Task[None]] = set()
        # Relayed MESSAGEs (participants' dialogs) and NOTIFYs (watchers').
        self._leases: CSeqLeases[_Sent] = CSeqLeases(self._store.raise_cseq, self._send_now)
        self._watch_leases: CSeqLeases[_Sent] = CSeqLeases(self._subs.raise_cseq, self._send_now)
        #: Called with ("conversation-start" | "join" | "leave", participant,
        #: conversation URI) — the archive's conversation records.
        self.on_event = on_event

    def _event(self, kind: str, entity: str, uri: str) -> None:
        if self.on_event is not None:
            try:
                self.on_event(kind, entity, uri)
            except Exception:
                log.exception("conversation event callback failed")

    def attach(self) -> None:
        """Route every INVITE, ACK, BYE, MESSAGE and SUBSCRIBE to the focus."""
        for method, handler in (
            ("INVITE", self.on_invite),
            ("ACK", self.on_ack),
            ("BYE", self.on_bye),
            ("MESSAGE", self.on_message),
            ("SUBSCRIBE", self.subscribe),
        ):
            self.endpoint.route(method, handler)

    async def start(self) -> None:
        """Take up the stored conversations, their participants and the
        roster subscriptions that have not expired (the rest is dropped
        from the store)."""
        now = self.clock()
        for record in await self._store.load():
            conv = _Conversation(record.uri, record.creator, record.created_at)
            conv.version, conv.started = record.version, True
            for p in record.participants:
                try:
                    dialog = p.dialog.to_dialog()
                except SIPParseError as exc:
                    log.warning("dropping a stored participant: %s", exc)
                    await self._store.leave(conv.uri, p.key, conv.version)
                    continue
                conv.participants[p.key] = _Participant(
                    p.entity, p.display_name, dialog, p.joined_at
                )
                self._by_dialog[p.key] = conv
                self._leases.track(p.key, p.dialog.local_cseq)
            if conv.participants:
                self._conversations[conv.uri] = conv
            else:
                await self._store.remove(conv.uri)
        await self._subs.purge(now)
        stale: list[DialogKey] = []
        for sub in await self._subs.load((CONFERENCE_EVENT,)):
            found = self._conversations.get(sub.resource)
            try:
                notifier = sub.to_notifier(now)
            except SIPParseError:
                found = None
            if found is None:
                stale.append(sub.key)
                continue
            found.watchers[sub.key] = notifier
            self._watch_leases.track(sub.key, sub.dialog.local_cseq)
        if stale:
            await self._subs.remove(stale)

    async def drain(self) -> None:
        """Wait for pending writes (call before closing the store)."""
        await self._leases.drain()
        await self._watch_leases.drain()
        while self._writes:
            await asyncio.wait(list(self._writes))

    def conversation_of(self, request: Request) -> str | None:
        """The URI of the conversation an in-dialog request belongs to."""
        conv = self._by_dialog.get(uas_dialog_id(request))
        return None if conv is None else conv.uri

    def participants(self, uri: str) -> list[str]:
        """Who is in the conversation at ``uri`` now."""
        conv = self._conversations.get(_key(uri))
        return [] if conv is None else [p.entity for p in conv.participants.values()]

    def _contact(self, incoming: IncomingRequest) -> str:
        uri = incoming.request.uri
        user = uri.user if isinstance(uri, SipURI) and uri.user else "focus"
        return local_contact(incoming, user) + ";isfocus"

    def _spawn_write(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    # -- join, leave --------------------------------------------------------------
    def on_invite(self, incoming: IncomingRequest) -> None:
        """Join (or, in a dialog, a session refresh that changes nothing).
        The 200 follows once the join is stored (an INVITE may be answered
        after its handler returns)."""
        request = incoming.request
        if request.to_tag:
            if uas_dialog_id(request) not in self._by_dialog:
                incoming.respond(481)
                return
            incoming.respond(200, headers=[("Contact", self._contact(incoming))])
            return
        uri = _key(str(request.uri))
        conv = self._conversations.get(uri)
        if conv is None:
            if len(self._conversations) >= self.max_conversations:
                incoming.respond(503, headers=[("Retry-After", "60")])
                return
            conv = _Conversation(uri, str(request.from_addr.uri), self.clock())
        if len(conv.participants) + conv.joining >= self.max_participants:
            incoming.respond(486, "Conversation Full")
            return
        try:
            dialog = Dialog.as_uas(request, incoming.to_tag)
        except DialogError as exc:
            incoming.respond(exc.status, exc.reason)
            return
        body, ctype = b"", None
        if request.body:
            try:
                offer = parse_sdp(request.body)
            except SDPError:
                incoming.respond(488)
                return
            host = incoming.flow.local[0]
            body, ctype = bytes(make_answer(offer, host, [])), "application/sdp"
        frm = request.from_addr
        joiner = _Participant(str(frm.uri), frm.display_name, dialog, self.clock())
        self._conversations[uri] = conv
        conv.joining += 1
        self._spawn_write(self._join(incoming, conv, joiner, body, ctype))

    async def _join(
        self,
        incoming: IncomingRequest,
        conv: _Conversation,
        joiner: _Participant,
        body: bytes,
        ctype: str | None,
    ) -> None:
        key = joiner.dialog.id
        block = self._leases.block
        try:
            async with conv.lock:
                record = ParticipantRecord(
                    joiner.entity,
                    DialogRecord.of(joiner.dialog, local_cseq=block),
                    joiner.display_name,
                    joiner.joined_at,
                )
                try:
                    await self._store.join(conv.record(conv.version + 1), record)
                except Exception:
                    log.exception("cannot store a join to %s", conv.uri)
                    if not incoming.answered:
                        incoming.respond(500, "Join Not Stored")
                    return
                if incoming.answered:  # cancelled meanwhile: undo
                    with contextlib.suppress(Exception):
                        await self._store.leave(conv.uri, key, conv.version)
                    return
                conv.version += 1
                self._leases.track(key, block)
                conv.participants[key] = joiner
                self._by_dialog[key] = conv
                self._conversations[conv.uri] = conv
                incoming.respond(
                    200,
                    headers=[("Contact", self._contact(incoming))],
                    body=body,
                    content_type=ctype,
                )
                if not conv.started:
                    conv.started = True
                    self._event("conversation-start", joiner.entity, conv.uri)
                log.info("%s joined %s", joiner.entity, conv.uri)
                self._event("join", joiner.entity, conv.uri)
                user = ConferenceUser(joiner.entity, "full", joiner.display_name, "connected")
                self._announce(conv, user)
        finally:
            conv.joining -= 1
            # Nobody got in: the conversation was never there.
            never = not conv.participants and not conv.joining and not conv.started
            if never and self._conversations.get(conv.uri) is conv:
                del self._conversations[conv.uri]

    def on_ack(self, incoming: IncomingRequest) -> None:
        """The ACK for a join: nothing to do (the 2xx retransmissions stop)."""

    def on_bye(self, incoming: IncomingRequest) -> None:
        """Leave."""
        key = uas_dialog_id(incoming.request)
        conv = self._by_dialog.get(key)
        if conv is None:
            incoming.respond(481)
            return
        incoming.respond(200)
        self._leave(conv, key)

    def _leave(self, conv: _Conversation, key: DialogKey) -> None:
        """The participant of dialog ``key`` is out (BYE, or its dialog is
        gone: RFC 3261 §12.2.1.2); the roster change follows once stored."""
        self._by_dialog.pop(key, None)
        gone = conv.participants.pop(key, None)
        if gone is None:
            return
        self._leases.forget(key)
        log.info("%s left %s", gone.entity, conv.uri)
        self._event("leave", gone.entity, conv.uri)
        self._spawn_write(self._left(conv, key, gone))

    async def _left(self, conv: _Conversation, key: DialogKey, gone: _Participant) -> None:
        async with conv.lock:
            ended = not conv.participants and not conv.joining
            try:
                if ended:
                    await self._store.remove(conv.uri)
                else:
                    await self._store.leave(conv.uri, key, conv.version + 1)
            except Exception:
                log.exception("cannot store a leave from %s", conv.uri)
            conv.version += 1
            self._announce(conv, ConferenceUser(gone.entity, "deleted"))
            if not ended:
                return
            if self._conversations.get(conv.uri) is conv:
                del self._conversations[conv.uri]
            watchers = list(conv.watchers.values())
            conv.watchers.clear()
            for notifier in watchers:
                self._watch_leases.forget(notifier.dialog.id)
                self._send(notifier.notify(b"", None, reason="noresource"), notifier.dialog)
            if watchers:
                await self._remove_watchers([n.dialog.id for n in watchers])

    async def _remove_watchers(self, keys: list[DialogKey]) -> None:
        try:
            await self._subs.remove(keys)
        except Exception:
            log.exception("cannot drop ended roster subscriptions")

    # -- messages -------------------------------------------------------------------------
    def on_message(self, incoming: IncomingRequest) -> None:
        """A participant says something: 200, then relay it to the others."""
        request = incoming.request
        key = uas_dialog_id(request)
        conv = self._by_dialog.get(key)
        if conv is None:
            incoming.respond(481 if request.to_tag else 403)
            return
        sender = conv.participants[key]
        try:
            sender.dialog.receive_request(request)
        except DialogError as exc:
            incoming.respond(exc.status, exc.reason)
            return
        incoming.respond(200)
        wrapped = encode_cpim(
            CPIMMessage(
                sender=sender.entity,
                sender_name=sender.display_name,
                recipients=(conv.uri,),
                datetime=_dt.datetime.now(_dt.UTC).replace(microsecond=0),
                content_type=request.headers.get("Content-Type") or "text/plain",
                body=request.body,
            )
        )
        # The sender saves the conversation: the others are told with each
        # message, as in a conversation of two.
        saved = request.headers.get(HISTORY_HEADER)
        extra = [(HISTORY_HEADER, "saved")] if saved == "saved" else []
        for other_key, other in conv.participants.items():
            if other_key == key:
                continue
            relay = other.dialog.create_request(
                "MESSAGE", body=wrapped, content_type=CPIM_CONTENT_TYPE, headers=extra
            )
            self._send(relay, other.dialog)

    # -- roster -------------------------------------------------------------------------------
    async def subscribe(self, incoming: IncomingRequest) -> None:
        """SUBSCRIBE to a conversation's ``conference`` event (new or
        refresh); the 2xx follows once the subscription is stored."""
        change = self._subscribe(incoming)
        if change is None:
            return
        conv, notifier, new, headers = change
        key = notifier.dialog.id
        try:
            await self._subs.put(self._watch_record(conv, notifier))
        except Exception:
            log.exception("cannot store a roster subscription")
            incoming.respond(500, "Subscription Not Stored")
            if new:
                self._watch_leases.discard(key)
                conv.watchers.pop(key, None)
            else:
                self._watch_leases.release(key)
            return
        incoming.respond(200, headers=headers)
        self._watch_leases.release(key)

    async def _put_then_release(self, record: SubscriptionRecord) -> None:
        try:
            await self._subs.put(record)
        except Exception:
            log.exception("cannot store a roster subscription")
        finally:
            self._watch_leases.release(record.key)

    def _subscribe(
        self, incoming: IncomingRequest
    ) -> tuple[_Conversation, Notifier, bool, list[tuple[str, str]]] | None:
        """Take the SUBSCRIBE in; None once answered, else the subscription
        (its NOTIFYs held until it is stored), whether it is new, and the
        headers of the 2xx."""
        request = incoming.request
        now = self.clock()
        if request.to_tag:
            key = uas_dialog_id(request)
            found = self._find_watcher(key)
            if found is None:
                incoming.respond(481)
                return None
            conv, notifier = found
            try:
                granted = notifier.receive_subscribe(request, now)
            except DialogError as exc:
                incoming.respond(exc.status, exc.reason)
                return None
            if granted == 0:
                incoming.respond(200, headers=[("Expires", "0")])
                self._end_watcher(conv, key)
                self._send(notifier.notify(b"", None, now), notifier.dialog)
                return None
            self._watch_leases.hold(key)
            return conv, notifier, False, [("Expires", str(granted))]
        event = request.event
        if event is None or event.package != CONFERENCE_EVENT:
            incoming.respond(489, headers=[("Allow-Events", CONFERENCE_EVENT)])
            return None
        target = self._conversations.get(_key(str(request.uri)))
        if target is None:
            incoming.respond(404)
            return None
        conv = target
        watcher = str(request.from_addr.uri)
        if watcher not in {p.entity for p in conv.participants.values()}:
            incoming.respond(403, "Join The Conversation First")
            return None
        contact = self._contact(incoming)
        try:
            notifier = Notifier(request, incoming.to_tag, now, contact=contact)
        except DialogError as exc:
            incoming.respond(exc.status, exc.reason)
            return None
        key = notifier.dialog.id
        conv.watchers[key] = notifier
        # The first NOTIFY will have CSeq 1: the ceiling starts above it.
        self._watch_leases.track(key, 1 + self._watch_leases.block)
        self._watch_leases.hold(key)
        # Each watcher's first document is the full state at its version.
        self._notify(notifier, self._full(conv), now)
        return conv, notifier, True, [("Expires", str(notifier.granted)), ("Contact", contact)]

    def _watch_record(self, conv: _Conversation, notifier: Notifier) -> SubscriptionRecord:
        key = notifier.dialog.id
        return SubscriptionRecord(
            event=CONFERENCE_EVENT,
            resource=conv.uri,
            watcher=notifier.watcher,
            dialog=DialogRecord.of(notifier.dialog, local_cseq=self._watch_leases.ceiling(key)),
            expires_at=notifier.expires_at,
            event_id=notifier.event_id,
            contact=notifier.contact,
        )

    def _find_watcher(self, key: DialogKey) -> tuple[_Conversation, Notifier] | None:
        for conv in self._conversations.values():
            notifier = conv.watchers.get(key)
            if notifier is not None:
                return conv, notifier
        return None

    def _end_watcher(self, conv: _Conversation, key: DialogKey) -> None:
        """Forget a roster subscription that ended, and its record."""
        if conv.watchers.pop(key, None) is not None:
            self._watch_leases.forget(key)
            self._spawn_write(self._remove_watchers([key]))

    def _full(self, conv: _Conversation) -> ConferenceInfo:
        users = tuple(
            ConferenceUser(p.entity, "full", p.display_name, "connected")
            for p in conv.participants.values()
        )
        return ConferenceInfo(conv.uri, conv.version, "full", users=users)

    def _announce(self, conv: _Conversation, user: ConferenceUser) -> None:
        """Tell every watcher of ``conv`` about ``user`` at the version the
        change was stored with."""
        partial = ConferenceInfo(conv.uri, conv.version, "partial", users=(user,))
        now = self.clock()
        for key, notifier in list(conv.watchers.items()):
            if notifier.expired(now):
                self._end_watcher(conv, key)
                continue
            self._notify(notifier, partial, now)

    def _notify(self, notifier: Notifier, doc: ConferenceInfo, now: float) -> None:
        body = encode_conference_info(doc)
        self._send(notifier.notify(body, CONFERENCE_INFO_CONTENT_TYPE, now), notifier.dialog)

    # -- sending ---------------------------------------------------------------------------
    def _send(self, request: Request, dialog: Dialog) -> None:
        leases = self._watch_leases if request.method == "NOTIFY" else self._leases
        leases.submit(dialog.id, request.cseq.seq, (request, dialog))

    def _send_now(self, sent: _Sent) -> None:
        task = asyncio.ensure_future(self._send_request(*sent))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_request(self, request: Request, dialog: Dialog) -> None:
        try:
            response = await self.endpoint.request(request)
        except (SIPParseError, OSError) as exc:
            log.info("could not send %s in %s: %s", request.method, dialog, exc)
            return
        dialog.receive_response(request, response)
        if response.status not in (481, 408):
            return
        # RFC 3261 §12.2.1.2: the dialog is gone, and so is its user.
        key = dialog.id
        if request.method == "NOTIFY":
            found = self._find_watcher(key)
            if found is not None:
                self._end_watcher(found[0], key)
            return
        member_of = self._by_dialog.get(key)
        if member_of is not None:
            self._leave(member_of, key)


def _key(uri: str) -> str:
    """A conversation's key: its URI without parameters, lower-case host."""
    text = uri.strip("<>")
    return text.split(";", 1)[0].lower()
