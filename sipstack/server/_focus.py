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
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..dialog import Dialog, DialogError, Notifier, uas_dialog_id
from ..endpoint import Endpoint, IncomingRequest
from ..errors import SIPParseError
from ..message import CPIM_CONTENT_TYPE, CPIMMessage, Request, SipURI, encode_cpim
from ..presence import (
    CONFERENCE_INFO_CONTENT_TYPE,
    ConferenceInfo,
    ConferenceUser,
    encode_conference_info,
)
from ..sdp import SDPError, make_answer, parse_sdp
from ._common import local_contact

__all__ = ["ConversationFocus"]

log = logging.getLogger("sipstack.server")


@dataclass(slots=True)
class _Participant:
    entity: str
    display_name: str | None
    dialog: Dialog
    invite: IncomingRequest | None = None


@dataclass(slots=True)
class _Conversation:
    uri: str
    participants: dict[tuple[str, str, str], _Participant] = field(default_factory=dict)
    watchers: dict[tuple[str, str, str], Notifier] = field(default_factory=dict)
    version: int = 0


class ConversationFocus:
    """Serves conversation URIs on ``endpoint``: call :meth:`attach` to route
    INVITE, ACK, BYE, MESSAGE and SUBSCRIBE to it, or call its ``on_*``
    handlers from the server's own routing.

    ``contact`` is the focus's own Contact URI (without ``isfocus``).
    """

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        max_participants: int = 100,
        max_conversations: int = 10_000,
        on_event: Callable[[str, str, str], None] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.max_participants = max_participants
        self.max_conversations = max_conversations
        self._conversations: dict[str, _Conversation] = {}
        self._by_dialog: dict[tuple[str, str, str], _Conversation] = {}
        self._tasks: set[asyncio.Task[None]] = set()
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
            ("SUBSCRIBE", self.on_subscribe),
        ):
            self.endpoint.route(method, handler)

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

    # -- join, leave --------------------------------------------------------------
    def on_invite(self, incoming: IncomingRequest) -> None:
        """Join (or, in a dialog, a session refresh that changes nothing)."""
        request = incoming.request
        if request.to_tag:
            conv = self._by_dialog.get(uas_dialog_id(request))
            if conv is None:
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
            conv = self._conversations[uri] = _Conversation(uri)
            self._event("conversation-start", str(request.from_addr.uri), uri)
        if len(conv.participants) >= self.max_participants:
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
        entity = str(frm.uri)
        incoming.respond(
            200, headers=[("Contact", self._contact(incoming))], body=body, content_type=ctype
        )
        conv.participants[dialog.id] = _Participant(entity, frm.display_name, dialog)
        self._by_dialog[dialog.id] = conv
        log.info("%s joined %s", entity, conv.uri)
        self._event("join", entity, conv.uri)
        self._roster_changed(conv, ConferenceUser(entity, "full", frm.display_name, "connected"))

    def on_ack(self, incoming: IncomingRequest) -> None:
        """The ACK for a join: nothing to do (the 2xx retransmissions stop)."""

    def on_bye(self, incoming: IncomingRequest) -> None:
        """Leave."""
        request = incoming.request
        key = uas_dialog_id(request)
        conv = self._by_dialog.pop(key, None)
        if conv is None:
            incoming.respond(481)
            return
        incoming.respond(200)
        gone = conv.participants.pop(key)
        log.info("%s left %s", gone.entity, conv.uri)
        self._event("leave", gone.entity, conv.uri)
        self._roster_changed(conv, ConferenceUser(gone.entity, "deleted"))
        if not conv.participants:
            for notifier in list(conv.watchers.values()):
                self._send(notifier.notify(b"", None, reason="noresource"), notifier.dialog)
            conv.watchers.clear()
            self._conversations.pop(conv.uri, None)

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
        for other_key, other in conv.participants.items():
            if other_key == key:
                continue
            relay = other.dialog.create_request(
                "MESSAGE", body=wrapped, content_type=CPIM_CONTENT_TYPE
            )
            self._send(relay, other.dialog)

    # -- roster -------------------------------------------------------------------------------
    def on_subscribe(self, incoming: IncomingRequest) -> None:
        """SUBSCRIBE to a conversation's ``conference`` event (new or refresh)."""
        request = incoming.request
        now = time.monotonic()
        if request.to_tag:
            found = self._find_watcher(uas_dialog_id(request))
            if found is None:
                incoming.respond(481)
                return
            conv, notifier = found
            try:
                granted = notifier.receive_subscribe(request, now)
            except DialogError as exc:
                incoming.respond(exc.status, exc.reason)
                return
            incoming.respond(200, headers=[("Expires", str(granted))])
            if granted == 0:
                conv.watchers.pop(notifier.dialog.id, None)
                self._send(notifier.notify(b"", None, now), notifier.dialog)
            return
        event = request.event
        if event is None or event.package != "conference":
            incoming.respond(489, headers=[("Allow-Events", "conference")])
            return
        target = self._conversations.get(_key(str(request.uri)))
        watcher = str(request.from_addr.uri)
        if target is None:
            incoming.respond(404)
            return
        conv = target
        if watcher not in {p.entity for p in conv.participants.values()}:
            incoming.respond(403, "Join The Conversation First")
            return
        contact = self._contact(incoming)
        try:
            notifier = Notifier(request, incoming.to_tag, now, contact=contact)
        except DialogError as exc:
            incoming.respond(exc.status, exc.reason)
            return
        incoming.respond(200, headers=[("Expires", str(notifier.granted)), ("Contact", contact)])
        conv.watchers[notifier.dialog.id] = notifier
        self._notify(notifier, self._full(conv), now)

    def _find_watcher(self, key: tuple[str, str, str]) -> tuple[_Conversation, Notifier] | None:
        for conv in self._conversations.values():
            notifier = conv.watchers.get(key)
            if notifier is not None:
                return conv, notifier
        return None

    def _full(self, conv: _Conversation) -> ConferenceInfo:
        users = tuple(
            ConferenceUser(p.entity, "full", p.display_name, "connected")
            for p in conv.participants.values()
        )
        return ConferenceInfo(conv.uri, conv.version, "full", users=users)

    def _roster_changed(self, conv: _Conversation, user: ConferenceUser) -> None:
        conv.version += 1
        partial = ConferenceInfo(conv.uri, conv.version, "partial", users=(user,))
        now = time.monotonic()
        for notifier in list(conv.watchers.values()):
            if notifier.expired(now):
                conv.watchers.pop(notifier.dialog.id, None)
                continue
            self._notify(notifier, partial, now)

    def _notify(self, notifier: Notifier, doc: ConferenceInfo, now: float) -> None:
        # Each watcher's first document is the full state at its version.
        body = encode_conference_info(doc)
        self._send(notifier.notify(body, CONFERENCE_INFO_CONTENT_TYPE, now), notifier.dialog)

    def _send(self, request: Request, dialog: Dialog) -> None:
        task = asyncio.ensure_future(self._send_now(request, dialog))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_now(self, request: Request, dialog: Dialog) -> None:
        try:
            response = await self.endpoint.request(request)
        except (SIPParseError, OSError) as exc:
            log.info("could not send %s in %s: %s", request.method, dialog, exc)
            return
        dialog.receive_response(request, response)


def _key(uri: str) -> str:
    """A conversation's key: its URI without parameters, lower-case host."""
    text = uri.strip("<>")
    return text.split(";", 1)[0].lower()
