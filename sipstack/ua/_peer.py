"""The Peer: what an application embeds to sign in, chat and call."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import logging
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Self

from ..auth import AuthenticationError, DigestClient, apply_credentials
from ..dialog import Dialog, DialogError, cancel_for, uac_dialog_id, uas_dialog_id
from ..endpoint import Endpoint, IncomingRequest
from ..errors import SIPParseError, SIPUsageError
from ..interceptors import CallLog, ClientLog, Interceptor, Pipeline, Statistics
from ..message import (
    CPIM_CONTENT_TYPE,
    Address,
    Request,
    Response,
    SipURI,
    decode_cpim,
    make_request,
    new_call_id,
    parse_address,
)
from ..message._uri import parse_uri
from ..policy import HISTORY_HEADER, POLICY_HEADER, Feature, Policy, PolicyHeaderError, apply_header
from ..presence import (
    CONFERENCE_INFO_CONTENT_TYPE,
    ISCOMPOSING_CONTENT_TYPE,
    ComposingState,
    IsComposing,
    PresenceError,
    aor_key,
    apply_update,
    decode_conference_info,
    decode_iscomposing,
    encode_iscomposing,
)
from ..sdp import SDPError, make_answer, parse_sdp
from ..storage import CallRecord, HistoryEntry, SQLiteStore, open_store
from ..transaction import DEFAULT_TIMERS, TimerConfig
from ..transport import Destination, destination_for_request, host_for_via
from ..transport._common import default_port
from ._call import CONTROL_CONTENT_TYPE, CONTROL_VERBS, SDP, Call, CallState
from ._conversation import Conversation
from ._events import (
    AuthenticationFailed,
    CallAnswered,
    CallEnded,
    CallFailed,
    CallProgress,
    CallUpdated,
    ComposingChanged,
    ControlChanged,
    ConversationEnded,
    Event,
    IncomingCall,
    InfoReceived,
    MessageReceived,
    ParticipantJoined,
    ParticipantLeft,
    Registered,
    RegistrationFailed,
    RequestFailed,
    Unregistered,
)
from ._media import mime_of
from ._presence import PresenceAgent, Subscription

__all__ = ["Peer"]

log = logging.getLogger("sipstack.ua")

_TRANSPORTS = {"udp": "UDP", "tcp": "TCP", "tls": "TLS"}
# A challenge is answered at most this many times per request: a second
# challenge for a fresh nonce (stale=true) is normal, a third means the
# server keeps refusing.
_AUTH_ROUNDS = 3
# RFC 3994 §3.2: an active indication promises a refresh within this many
# seconds (the recommended 120 s would leave a stale "typing…" too long).
_COMPOSING_REFRESH = 60
# What counts as an instant message for the history (not typing
# indications or other machine bodies).
_IM_TYPES = frozenset({"text/plain", "text/html", "message/cpim"})
# The longest wait between attempts to register again after failures.
_MAX_BACKOFF = 300.0


class Peer:
    """A SIP user agent: ``async with Peer("sip:alice@example.com",
    password=...) as peer``.

    ``registrar`` (default: the domain of ``aor``) receives REGISTER when
    ``register=True``; ``proxy`` is an outbound proxy every request outside
    a dialog goes through (a loose route).  Without a proxy, requests go to
    their Request-URI directly: peer-to-peer.  ``transport`` (udp, tcp, tls)
    is used towards URIs that do not name one.  Events (messages, calls,
    registration changes) arrive from :meth:`events` / :meth:`next_event`.
    """

    def __init__(
        self,
        aor: str,
        *,
        password: str | None = None,
        username: str | None = None,
        display_name: str | None = None,
        registrar: str | None = None,
        proxy: str | None = None,
        register: bool = False,
        expires: int = 600,
        transport: str = "udp",
        listen: Iterable[str] | None = None,
        tls_client: ssl.SSLContext | None = None,
        tls_server: ssl.SSLContext | None = None,
        timers: TimerConfig = DEFAULT_TIMERS,
        user_agent: str = "sipstack",
        max_pending_events: int = 10_000,
        ring_timeout: float = 180.0,
        policy: Policy | None = None,
        sip_log: str | Path | None = None,
        interceptors: Iterable[Interceptor] = (),
        data_dir: str | Path | None = None,
    ) -> None:
        uri = parse_uri(aor)
        if not isinstance(uri, SipURI) or uri.user is None:
            raise SIPUsageError(f"the address of record must be sip:user@domain, not {aor!r}")
        if transport.lower() not in _TRANSPORTS:
            raise SIPUsageError(f"transport must be udp, tcp or tls, not {transport!r}")
        self.aor = uri
        self.display_name = display_name
        self.transport = _TRANSPORTS[transport.lower()]
        self.registrar = parse_uri(registrar) if registrar else SipURI(uri.host, port=uri.port)
        self.proxy = (
            parse_address(f"<{proxy}>")
            if proxy and "<" not in proxy
            else (parse_address(proxy) if proxy else None)
        )
        self.expires = expires
        self.user_agent = user_agent
        self.ring_timeout = ring_timeout
        self.auth = DigestClient()
        if password is not None:
            self.auth.add(username or uri.user, password)
        if listen is None:
            listen = ["udp:127.0.0.1:0", "tcp:127.0.0.1:0"]
            if tls_server is not None:
                listen.append("tls:127.0.0.1:0")
        self.endpoint = Endpoint(
            listen, tls_server=tls_server, tls_client=tls_client, timers=timers
        )
        for method, handler in (
            ("MESSAGE", self._on_message),
            ("INVITE", self._on_invite),
            ("ACK", self._on_ack),
            ("BYE", self._on_bye),
            ("INFO", self._on_info),
            ("SUBSCRIBE", self._on_subscribe),
            ("NOTIFY", self._on_notify),
        ):
            self.endpoint.route(method, handler)
        self.endpoint.on_cancel = self._on_cancel
        self.endpoint.on_ack_timeout = self._on_ack_timeout
        self._register = register
        self._told: set[str] = set()  # peers told that history is saved
        #: Which features are on (client SIP log …); the server's settings
        #: arrive in the REGISTER response.
        self.policy = policy or Policy()
        #: The interceptor pipeline of this peer's endpoint.
        self.interceptors = Pipeline(self.endpoint, interceptors)
        #: Where the call log lives (``data_dir/sipstack.db``, else memory).
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.store = open_store(self.data_dir) if self.data_dir else SQLiteStore(":memory:")
        self._call_log = CallLog(
            self.store, enabled=lambda: self.policy.effective(Feature.CALL_LOG)
        )
        self.interceptors.add(self._call_log)
        #: Usage statistics, counted only once the user opted in.
        self.statistics = Statistics(enabled=lambda: self.policy.effective(Feature.STATISTICS))
        self.interceptors.add(self.statistics)
        if sip_log is None and self.data_dir is not None:
            sip_log = self.data_dir / "sip.jsonl"
        if sip_log is not None:
            # Attached always, recording only while the policy says so.
            path = Path(sip_log)
            self.interceptors.add(
                ClientLog(
                    path,
                    text_path=path.with_suffix(".log"),
                    enabled=lambda: self.policy.effective(Feature.CLIENT_LOG),
                    # Formatting and writing run in a writer process (started
                    # with the first record): the log stays within a tenth
                    # of the endpoint's cost.
                    offload=True,
                )
            )
        # PUBLISH and watcher-info go to a server only when there is one.
        self._has_server = register or registrar is not None or proxy is not None
        #: Presence: publish, watch, access levels (:class:`PresenceAgent`).
        self.presence = PresenceAgent(self)
        self._max_pending = max_pending_events
        self._events: asyncio.Queue[Event | None] = asyncio.Queue()
        self._calls: dict[tuple[str, str, str], Call] = {}
        self._ringing: dict[str, Call] = {}  # outgoing INVITEs by Call-ID
        self._tasks: set[asyncio.Task[None]] = set()
        self._reg_call_id = new_call_id()
        self._reg_cseq = 0
        self._reg_task: asyncio.Task[None] | None = None
        self._registered_contact: str | None = None
        self._closed = False

    # -- life cycle -------------------------------------------------------------------
    async def start(self) -> None:
        """Open the transports; sign in when ``register`` was asked for
        (raising :class:`RequestFailed` when the first REGISTER fails)."""
        await self.endpoint.start()
        if self._register:
            await self.register()

    async def close(self, timeout: float = 5.0) -> None:
        """Hang up every call, remove the registration, close the transports;
        no task is left behind."""
        if self._closed:
            return
        self._closed = True
        if self._reg_task is not None:
            self._reg_task.cancel()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self.presence.close()
                calls = [c for c in self._all_calls() if c.state is not CallState.ENDED]
                await asyncio.gather(*(self._close_call(c) for c in calls), return_exceptions=True)
                if self._registered_contact is not None:
                    await self._unregister()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.endpoint.close(timeout)
        await self._call_log.flush()
        if self.data_dir is not None and self.policy.effective(Feature.STATISTICS):
            self.statistics.save(self.data_dir / "stats.json")
        self.interceptors.close()
        await self.store.close()
        self._events.put_nowait(None)

    async def __aenter__(self) -> Self:
        try:
            await self.start()
        except BaseException:
            await self.close(1.0)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- events ---------------------------------------------------------------------------
    async def events(self) -> AsyncIterator[Event]:
        """Every event, in order, until the peer closes."""
        while True:
            event = await self._events.get()
            if event is None:
                self._events.put_nowait(None)  # for any other reader
                return
            yield event

    async def next_event(self, timeout: float | None = None) -> Event:
        """The next event (TimeoutError after ``timeout`` seconds; an error
        when the peer closed)."""
        async with asyncio.timeout(timeout):
            event = await self._events.get()
        if event is None:
            self._events.put_nowait(None)
            raise SIPUsageError("the peer is closed")
        return event

    def _emit(self, event: Event) -> None:
        if self.interceptors.interceptors:
            self.interceptors.event(event)
        self._events.put_nowait(event)

    def _overloaded(self) -> bool:
        return self._events.qsize() >= self._max_pending

    # -- addresses -------------------------------------------------------------------------
    @property
    def contact(self) -> str:
        """The Contact this peer puts in its requests (its preferred
        transport's listener)."""
        return self._contact_for(self.transport)

    def _contact_for(self, transport: str) -> str:
        lst = (
            self.endpoint.transports.listener_for(transport, "127.0.0.1")
            or (self.endpoint.listeners[0])
        )
        host, port = lst.local[0], lst.local[1]
        scheme = "sips" if lst.transport == "TLS" else "sip"
        tparam = "" if lst.transport in ("UDP", "TLS") else f";transport={lst.transport.lower()}"
        user = self.aor.user
        return f"<{scheme}:{user}@{host_for_via(host)}:{port}{tparam}>"

    @property
    def from_address(self) -> Address:
        """This peer's From (without a tag)."""
        name = f'"{self.display_name}" ' if self.display_name else ""
        return parse_address(f"{name}<{self.aor}>")

    def _destination(self, request: Request) -> Destination:
        """The next hop, with this peer's transport for URIs naming none."""
        dest = destination_for_request(request)
        routes = request.routes
        first = routes[0].uri if routes else request.uri
        if isinstance(first, SipURI) and first.transport is None and not first.secure:
            transport = self.transport
            port = first.port or default_port(transport)
            return Destination(transport, dest.host, port)
        return dest

    def _in_dialog(
        self,
        dialog: Dialog,
        method: str,
        *,
        body: bytes = b"",
        content_type: str | None = None,
        contact: bool = False,
        cseq: int | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> Request:
        return dialog.create_request(
            method,
            body=body,
            content_type=content_type,
            contact=self._contact_for(self.transport) if contact else None,
            cseq=cseq,
            headers=[*headers, ("User-Agent", self.user_agent)],
        )

    # -- sending with authentication ------------------------------------------------------------
    async def _send(
        self,
        request: Request,
        *,
        dialog: Dialog | None = None,
        on_response: Callable[[Response], None] | None = None,
        on_sent: Callable[[Request], None] | None = None,
        dest: Destination | None = None,
    ) -> Response:
        """Send ``request`` and answer digest challenges (401/407) with the
        credentials of their realm; returns the final response.
        ``on_sent`` learns each request that goes out (a retry with
        credentials is a new request)."""
        if request.method == "REGISTER" or request.routes:
            # Towards the registrar or a proxy the last nonce is reused,
            # saving the challenge round trip (RFC 7616 §3.6 nonce count).
            apply_credentials(request, self.auth.preemptive(request))
        for _ in range(_AUTH_ROUNDS):
            if on_sent is not None:
                on_sent(request)
            response = await self.endpoint.request(
                request, dest or self._destination(request), on_response=on_response
            )
            if response.status not in (401, 407):
                break
            request = self._retry_with_credentials(request, response, dialog)
        if dialog is not None:
            dialog.receive_response(request, response)
        return response

    def _retry_with_credentials(
        self, request: Request, response: Response, dialog: Dialog | None
    ) -> Request:
        """The request again with credentials and the next CSeq (§22.2);
        :class:`AuthenticationFailed` when this peer has none the server
        would take (or they were refused)."""
        try:
            lines = self.auth.authorize(request, response)
        except AuthenticationError as exc:
            raise AuthenticationFailed(
                request.method, response.status, response.reason, str(exc), response
            ) from None
        if dialog is not None:
            dialog.local_seq += 1
            seq = dialog.local_seq
        else:
            seq = request.cseq.seq + 1
        kept = [
            (name, value if name.lower() != "cseq" else f"{seq} {request.method}")
            for name, value in request.headers
            if name.lower() not in ("via", "authorization", "proxy-authorization")
        ]
        retry = Request(request.method, request.uri, kept, request.body)
        apply_credentials(retry, lines)
        if request.method == "REGISTER":
            self._reg_cseq = seq
        return retry

    def _check(self, response: Response, method: str | None = None) -> Response:
        """``response`` if it is a success, else the error for it."""
        if response.status < 300:
            return response
        name = method or response.cseq.method
        warning = response.headers.get("Warning") or ""
        if response.status in (401, 407):
            raise AuthenticationFailed(name, response.status, response.reason, warning, response)
        raise RequestFailed(name, response.status, response.reason, warning, response)

    def _spawn(self, coro: object) -> None:
        assert asyncio.iscoroutine(coro)
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- registration -----------------------------------------------------------------------------
    async def register(self, expires: int | None = None) -> int:
        """Sign in at the registrar and keep the binding fresh; returns the
        seconds granted.  Raises :class:`AuthenticationFailed` or
        :class:`RequestFailed` when the registrar refuses."""
        if expires is not None:
            self.expires = expires
        granted = await self._register_once(self.expires)
        if self._reg_task is None or self._reg_task.done():
            self._reg_task = asyncio.ensure_future(self._keep_registered(granted))
        return granted

    async def _register_once(self, expires: int) -> int:
        contact = self._contact_for(self.transport)
        for _ in range(2):
            self._reg_cseq += 1
            # The Request-URI names the domain (§10.2); the registrar's
            # address only says where the request goes.
            req = make_request(
                "REGISTER",
                SipURI(self.aor.host, scheme=self.aor.scheme),
                from_addr=self.from_address,
                to_addr=self.from_address,
                call_id=self._reg_call_id,
                cseq=self._reg_cseq,
                contact=contact,
                headers=[("Expires", str(expires)), ("User-Agent", self.user_agent)],
            )
            response = await self._send_to_server(req)
            if response.status == 423 and (mins := response.headers.get("Min-Expires")):
                # Interval Too Brief: ask again for what the registrar wants.
                with contextlib.suppress(ValueError):
                    expires = max(expires, int(mins))
                    continue
            break
        self._check(response, "REGISTER")
        if expires == 0:
            self._registered_contact = None
            return 0
        pushed = response.headers.get(POLICY_HEADER)
        if pushed is not None:
            try:
                apply_header(self.policy, pushed)
            except PolicyHeaderError as exc:
                log.info("ignored the server's policy: %s", exc)
        granted = _granted(response, contact, expires)
        self._registered_contact = contact
        self._emit(Registered(str(self.aor), contact, granted))
        return granted

    async def _keep_registered(self, granted: int) -> None:
        backoff = 1.0
        while True:
            # Refresh well before expiry; a short binding halfway through.
            if granted > 0:
                await asyncio.sleep(max(1.0, granted - min(60.0, granted / 2)))
            try:
                granted = await self._register_once(self.expires)
                backoff = 1.0
            except RequestFailed as exc:
                # Exponential back-off, or the registrar's Retry-After when
                # it asks for longer (RFC 3261 §21.5.4 / §20.33).
                wait = backoff
                retry = None
                if exc.response is not None:
                    with contextlib.suppress(SIPParseError):
                        retry = exc.response.retry_after
                if retry is not None and retry.duration is not None:
                    wait = max(wait, float(retry.duration))
                self._emit(RegistrationFailed(str(self.aor), exc.status, exc.reason, wait))
                backoff = min(backoff * 2, _MAX_BACKOFF)
                await asyncio.sleep(wait)
                granted = 0  # the next loop pass tries again at once

    async def _unregister(self) -> None:
        try:
            await self._register_once(0)
        except RequestFailed as exc:
            log.info("unregister failed: %s", exc)
            return
        self._emit(Unregistered(str(self.aor)))

    async def unregister(self) -> None:
        """Remove the binding and stop refreshing it."""
        if self._reg_task is not None:
            self._reg_task.cancel()
            self._reg_task = None
        await self._unregister()

    async def _send_to_server(self, request: Request) -> Response:
        """Send a request meant for this user's own server (REGISTER,
        PUBLISH): through the outbound proxy when there is one, else to the
        registrar."""
        if self.proxy is not None:
            self._preload_route(request)
            return await self._send(request)
        dest_req = Request("OPTIONS", self.registrar, [])
        dest = self._destination(dest_req)
        return await self._send(request, dest=dest)

    async def subscribe(
        self, uri: str, event: str, *, expires: int = 600, accept: str | None = None
    ) -> Subscription:
        """Subscribe to any event package at ``uri`` (RFC 6665); NOTIFYs
        arrive as :class:`NotifyReceived` events.  For presence use
        ``peer.presence.watch``."""
        return await self.presence.subscribe(uri, event, expires=expires, accept=accept)

    def _on_subscribe(self, incoming: IncomingRequest) -> None:
        self.presence.on_subscribe(incoming)

    def _on_notify(self, incoming: IncomingRequest) -> None:
        self.presence.on_notify(incoming)

    def _preload_route(self, request: Request) -> None:
        if self.proxy is not None:
            request.headers.add("Route", str(self.proxy))

    # -- instant messages ---------------------------------------------------------------------------
    async def message(
        self,
        to: str,
        text: str | bytes,
        content_type: str = "text/plain;charset=utf-8",
    ) -> Response:
        """Send an instant message (RFC 3428) outside any dialog; returns the
        2xx (200 or 202) or raises :class:`RequestFailed` with the status."""
        body = text.encode() if isinstance(text, str) else text
        saving = self._saving(content_type)
        if saving and aor_key(to) not in self._told:
            # Tell the other side once that this conversation is being saved.
            self._told.add(aor_key(to))
            await self._message(to, self._saving_notice(), "text/plain;charset=utf-8", False)
        response = await self._message(to, body, content_type, saving)
        if saving:
            await self._remember("out", to, content_type, body)
        return response

    def _saving(self, content_type: str) -> bool:
        """Whether a message of ``content_type`` goes into the history."""
        return self.policy.effective(Feature.HISTORY) and mime_of(content_type) in _IM_TYPES

    def _saving_notice(self) -> bytes:
        """What the others are told, once per conversation, when this
        user keeps its history."""
        return f"[{self.aor} is saving this conversation]".encode()

    async def _message(self, to: str, body: bytes, content_type: str, saving: bool) -> Response:
        headers = [("User-Agent", self.user_agent)]
        if saving:
            headers.append((HISTORY_HEADER, "saved"))
        req = make_request(
            "MESSAGE",
            to,
            from_addr=self.from_address,
            to_addr=to if "<" in to else f"<{to}>",
            body=body,
            content_type=content_type,
            headers=headers,
        )
        self._preload_route(req)
        return self._check(await self._send(req))

    async def _remember(
        self, direction: str, peer: str, content_type: str, body: bytes, conv: str | None = None
    ) -> None:
        # Both as address-of-record keys, which history() looks them up by.
        conv_key = None if conv is None else aor_key(conv)
        entry = HistoryEntry(time.time(), direction, aor_key(peer), content_type, body, conv_key)
        try:
            await self.store.history.add(entry)
        except Exception:
            log.exception("could not save the conversation history")

    async def history(self, peer: str, limit: int = 1000) -> list[HistoryEntry]:
        """The saved messages with ``peer`` (or in a conversation URI),
        oldest first; empty unless history is on."""
        return await self.store.history.with_peer(aor_key(peer), limit)

    async def call_log(self, limit: int = 100) -> list[CallRecord]:
        """The most recent calls, newest first (empty when the call log is
        off)."""
        await self._call_log.flush()
        return await self.store.call_log.recent(limit)

    async def typing(self, to: str, active: bool = True) -> Response:
        """Tell ``to`` that this user is typing (or stopped): an RFC 3994
        is-composing MESSAGE.  The other side gets a
        :class:`ComposingChanged` event, not a message."""
        body, ctype = self._composing_body(active)
        return await self.message(to, body, ctype)

    def _composing_body(self, active: bool) -> tuple[bytes, str]:
        state = ComposingState.ACTIVE if active else ComposingState.IDLE
        doc = IsComposing(
            state,
            last_active=_dt.datetime.now(_dt.UTC) if active else None,
            content_type="text/plain",
            refresh=_COMPOSING_REFRESH if active else None,
        )
        return encode_iscomposing(doc), ISCOMPOSING_CONTENT_TYPE

    async def _on_message(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        call = None
        if request.to_tag:
            call = self._calls.get(uas_dialog_id(request))
            if call is None or call.dialog is None:
                incoming.respond(481)
                return
            if not self._dialog_accepts(call.dialog, incoming):
                return
        if self._overloaded():
            incoming.respond(503, headers=[("Retry-After", "5")])
            return
        ctype = request.headers.get("Content-Type") or "text/plain"
        frm = request.from_addr
        conv = call.conversation if call is not None else None
        if conv is not None and mime_of(ctype) == CPIM_CONTENT_TYPE:
            try:
                said = decode_cpim(request.body)
            except SIPParseError as exc:
                incoming.respond(400, headers=[("Warning", f'399 sipstack "{exc}"')])
                return
            incoming.respond(200)
            if self.policy.effective(Feature.HISTORY) and mime_of(said.content_type) in _IM_TYPES:
                await self._remember("in", said.sender, said.content_type, said.body, conv.uri)
            self._emit(
                MessageReceived(
                    sender=said.sender,
                    display_name=said.sender_name,
                    recipient=conv.uri,
                    content_type=said.content_type,
                    body=said.body,
                    call_id=request.call_id,
                    conversation=conv,
                    saved=request.headers.get(HISTORY_HEADER) == "saved",
                )
            )
            return
        if mime_of(ctype) == ISCOMPOSING_CONTENT_TYPE:
            try:
                composing = decode_iscomposing(request.body)
            except PresenceError as exc:
                incoming.respond(400, headers=[("Warning", f'399 sipstack "{exc}"')])
                return
            incoming.respond(200)
            self._emit(ComposingChanged(str(frm.uri), composing, call))
            return
        incoming.respond(200)
        if self.policy.effective(Feature.HISTORY) and mime_of(ctype) in _IM_TYPES:
            await self._remember("in", str(frm.uri), ctype, request.body)
        self._emit(
            MessageReceived(
                sender=str(frm.uri),
                display_name=frm.display_name,
                recipient=str(request.to_addr.uri),
                content_type=ctype,
                body=request.body,
                call_id=request.call_id,
                call=call,
                saved=request.headers.get(HISTORY_HEADER) == "saved",
            )
        )

    def _dialog_accepts(self, dialog: Dialog, incoming: IncomingRequest) -> bool:
        try:
            dialog.receive_request(incoming.request)
        except DialogError as exc:
            incoming.respond(exc.status, exc.reason)
            return False
        return True

    # -- calls ----------------------------------------------------------------------------------
    async def call(self, to: str, sdp: bytes = b"", *, timeout: float | None = None) -> Call:
        """Invite ``to`` to a session offering ``sdp``; returns the answered
        :class:`Call` (ACK sent) or raises :class:`CallFailed` (486, 603,
        487 …).  Cancelling the awaiting task cancels the INVITE."""
        return await self._invite(to, sdp, timeout, conversation=False)

    async def join(self, uri: str, *, timeout: float | None = None) -> Conversation:
        """Join the multi-party conversation at ``uri`` (created by the
        first to join); its roster is followed at once.  Raises
        :class:`CallFailed` when the focus refuses."""
        call = await self._invite(uri, b"", timeout, conversation=True)
        conv = call.conversation
        assert conv is not None
        try:
            sub = await self.presence.subscribe(
                uri, "conference", accept=CONFERENCE_INFO_CONTENT_TYPE, conversation=conv
            )
        except RequestFailed as exc:
            log.info("no roster for %s: %s", uri, exc)
        else:
            conv.subscription = sub
        return conv

    def _roster_update(self, conv: Conversation, body: bytes) -> None:
        try:
            update = decode_conference_info(body)
            roster = apply_update(conv.roster, update)
        except PresenceError as exc:
            log.info("bad roster for %s: %s", conv.uri, exc)
            return
        before = {u.entity: u for u in conv.participants}
        conv.roster = roster
        after = {u.entity: u for u in roster.users}
        for entity, user in after.items():
            if entity not in before:
                self._emit(ParticipantJoined(conv, user))
        for entity, user in before.items():
            if entity not in after:
                self._emit(ParticipantLeft(conv, user))

    async def _invite(
        self, to: str, sdp: bytes, timeout: float | None, *, conversation: bool
    ) -> Call:
        invite = make_request(
            "INVITE",
            to,
            from_addr=self.from_address,
            to_addr=to if "<" in to else f"<{to}>",
            contact=self._contact_for(self.transport),
            body=sdp,
            content_type=SDP if sdp else None,
            headers=[("User-Agent", self.user_agent), ("Allow", self.endpoint.allow)],
        )
        self._preload_route(invite)
        call = Call(self, outgoing=True, remote=to, call_id=invite.call_id, local_sdp=sdp)
        if conversation:
            call.conversation = Conversation(to, call)
        self._ringing[invite.call_id] = call
        answered: asyncio.Future[Response] = asyncio.get_running_loop().create_future()

        def on_response(response: Response) -> None:
            self._invite_response(call, invite, response, answered)

        def on_sent(request: Request) -> None:
            call._invite = request

        sending = asyncio.ensure_future(
            self._send(invite, on_response=on_response, on_sent=on_sent)
        )
        call._sending = sending
        try:
            async with asyncio.timeout(timeout):
                final = await asyncio.shield(sending)
        except (asyncio.CancelledError, TimeoutError):
            self._spawn(self._cancel_call(call))
            raise
        if 200 <= final.status < 300:
            await call._confirmed.wait()
            return call
        self._ringing.pop(invite.call_id, None)
        reason = "cancelled" if final.status == 487 else "rejected"
        if call.state is not CallState.ENDED:
            self._call_over(call, reason, by_remote=final.status != 487, status=final.status)
        raise CallFailed(
            "INVITE", final.status, final.reason, final.headers.get("Warning") or "", final
        )

    def _invite_response(
        self, call: Call, invite: Request, response: Response, answered: asyncio.Future[Response]
    ) -> None:
        status = response.status
        invite = call._invite or invite
        if status < 200:
            call._progress.set()
            if status > 100:
                if response.body and response.content_type is not None:
                    call.remote_sdp = response.body  # early media (183)
                if response.to_tag and call.dialog is None:
                    with contextlib.suppress(SIPParseError):
                        call.dialog = Dialog.as_uac(invite, response)
                if call.conversation is None:
                    self._emit(CallProgress(call, status, response.reason))
            return
        if status >= 300:
            return
        # A 2xx: the first one answers the call; another one with the same
        # tag is a retransmission (ACK again); one from another fork gets
        # an ACK and a BYE (§13.2.2.4).
        try:
            dialog_id = uac_dialog_id(response)
        except SIPParseError:
            return
        known = self._calls.get(dialog_id)
        if known is not None:
            if known._ack is not None:
                self._spawn(self.endpoint.send_stateless(known._ack, self._destination(known._ack)))
            return
        if call.state is CallState.RINGING and call._ack is None:
            try:
                dialog = Dialog.as_uac(invite, response)
            except SIPParseError as exc:
                log.info("a 2xx to INVITE that cannot make a dialog: %s", exc)
                return
            call.dialog = dialog
            call.remote_sdp = response.body
            # Set now, not when the ACK went out: a 2xx from another fork
            # may arrive before then and must not take the call over.
            call.state = CallState.ANSWERED
            self._calls[dialog.id] = call
            self._ringing.pop(call.call_id, None)
            self._spawn(self._ack_2xx(call, invite, response))
        else:
            self._spawn(self._ack_and_bye(invite, response))

    async def _ack_2xx(self, call: Call, invite: Request, response: Response) -> None:
        """ACK a 2xx (§13.2.2.4): a new transaction-less request in the
        dialog with the INVITE's CSeq number."""
        dialog = call.dialog
        assert dialog is not None
        ack = self._in_dialog(dialog, "ACK", cseq=invite.cseq.seq)
        call._ack = ack
        await self.endpoint.send_stateless(ack, self._destination(ack))
        first = call.state is not CallState.ACTIVE
        if first and call.answered_at is None:
            call.answered_at = time.time()
        call.state = CallState.ACTIVE
        call._confirmed.set()
        if first and call.conversation is None:
            self._emit(CallAnswered(call))

    async def _ack_and_bye(self, invite: Request, response: Response) -> None:
        try:
            dialog = Dialog.as_uac(invite, response)
        except SIPParseError:
            return
        ack = self._in_dialog(dialog, "ACK", cseq=invite.cseq.seq)
        await self.endpoint.send_stateless(ack, self._destination(ack))
        await self._send(self._in_dialog(dialog, "BYE"), dialog=dialog)

    async def _cancel_call(self, call: Call) -> None:
        """CANCEL a ringing outgoing call (§9.1), once the INVITE has had
        a provisional response (or its 2xx is answered with ACK + BYE)."""
        sending = call._sending
        if sending is None:
            return
        # §9.1: no CANCEL before a provisional response; until one comes,
        # a 2xx may still arrive and is then ended with a BYE below.
        if not sending.done():
            progress: asyncio.Future[object] = asyncio.ensure_future(call._progress.wait())
            waiting: list[asyncio.Future[object]] = [sending, progress]  # type: ignore[list-item]
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            progress.cancel()
        invite = call._invite
        if invite is not None and call.state is CallState.RINGING and not sending.done():
            with contextlib.suppress(RequestFailed, SIPUsageError):
                await self.endpoint.request(cancel_for(invite), self._destination(invite))
        try:
            final = await asyncio.wait_for(asyncio.shield(sending), 40.0)
        except (TimeoutError, asyncio.CancelledError):
            return
        if 200 <= final.status < 300 and call.dialog is not None:
            await call._confirmed.wait()
            await call.hangup()
        elif call.state is not CallState.ENDED:
            self._call_over(call, "cancelled", by_remote=False, status=final.status)

    async def _on_invite(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        if request.to_tag:
            await self._on_reinvite(incoming)
            return
        if self._overloaded() or self._closed:
            incoming.respond(503, headers=[("Retry-After", "5")])
            return
        try:
            dialog = Dialog.as_uas(request, incoming.to_tag, confirmed=False)
        except DialogError as exc:
            incoming.respond(exc.status, exc.reason)
            return
        call = Call(
            self,
            outgoing=False,
            remote=str(request.from_addr.uri),
            call_id=request.call_id,
            remote_sdp=request.body,
        )
        call.dialog = dialog
        call._incoming = incoming
        self._calls[dialog.id] = call
        incoming.respond(180, headers=[("Contact", self._contact_for(incoming.flow.transport))])
        self._emit(IncomingCall(call))
        loop = asyncio.get_running_loop()
        loop.call_later(self.ring_timeout, self._ring_timeout, call)

    def _ring_timeout(self, call: Call) -> None:
        incoming = call._incoming
        if incoming is not None and not incoming.answered and call.state is CallState.RINGING:
            incoming.respond(480, "No Answer")
            call._incoming = None
            self._call_over(call, "failed", by_remote=False, status=480)

    async def _on_reinvite(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        call = self._calls.get(uas_dialog_id(request))
        if call is None or call.dialog is None or call.state is CallState.ENDED:
            incoming.respond(481)
            return
        if call._busy:
            incoming.respond(491)  # glare: our own re-INVITE is pending (§14.2)
            return
        if not self._dialog_accepts(call.dialog, incoming):
            return
        if request.body:
            call.remote_sdp = request.body
            if call.local_sdp:
                call.local_sdp = reanswer(call.local_sdp, request.body)
        incoming.respond(
            200,
            headers=[("Contact", self._contact_for(incoming.flow.transport))],
            body=call.local_sdp,
            content_type=SDP if call.local_sdp else None,
        )
        self._emit(CallUpdated(call))

    def _on_ack(self, incoming: IncomingRequest) -> None:
        call = self._calls.get(uas_dialog_id(incoming.request))
        if call is None or call.outgoing:
            return
        if incoming.request.body and not call.remote_sdp:
            call.remote_sdp = incoming.request.body  # offer in the 2xx, answer in the ACK
        if call.state is CallState.ANSWERED:
            call.state = CallState.ACTIVE
            call.answered_at = time.time()
            call._confirmed.set()
            self._emit(CallAnswered(call))

    def _on_cancel(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        call = self._calls.get((request.call_id, incoming.to_tag, request.from_addr.tag or ""))
        if call is not None and call._incoming is incoming:
            call._incoming = None
            self._call_over(call, "cancelled", by_remote=True, status=487)

    def _on_ack_timeout(self, invite: Request, response: Response) -> None:
        call = self._calls.get(uas_dialog_id(response))
        if call is not None and call.state is CallState.ANSWERED:
            log.info("no ACK for the 2xx of %s: ending it", call)
            self._spawn(self._bye_no_ack(call))

    async def _bye_no_ack(self, call: Call) -> None:
        dialog = call.dialog
        assert dialog is not None
        bye = self._in_dialog(dialog, "BYE")
        self._call_over(call, "no-ack", by_remote=True)
        with contextlib.suppress(RequestFailed, SIPUsageError):
            await self._send(bye, dialog=dialog)

    def _call_of(self, incoming: IncomingRequest) -> Call | None:
        """The live call an in-dialog request belongs to, its CSeq checked;
        None after answering it (481, or the dialog's refusal)."""
        call = self._calls.get(uas_dialog_id(incoming.request))
        if call is None or call.dialog is None or call.state is CallState.ENDED:
            incoming.respond(481)
            return None
        return call if self._dialog_accepts(call.dialog, incoming) else None

    def _on_bye(self, incoming: IncomingRequest) -> None:
        call = self._call_of(incoming)
        if call is None:
            return
        incoming.respond(200)
        self._call_over(call, "bye", by_remote=True)

    def _on_info(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        call = self._call_of(incoming)
        if call is None:
            return
        ctype = request.headers.get("Content-Type") or ""
        if mime_of(ctype) == CONTROL_CONTENT_TYPE:
            granted = CONTROL_VERBS.get(request.body.strip().lower())
            if granted is None:
                incoming.respond(400, headers=[("Warning", '399 sipstack "grant or revoke"')])
                return
            incoming.respond(200)
            self._emit(ControlChanged(call, granted))
            return
        incoming.respond(200)
        self._emit(InfoReceived(call, ctype, request.body))

    def _call_over(
        self, call: Call, reason: str, *, by_remote: bool, status: int | None = None
    ) -> None:
        if call.state is CallState.ENDED:
            return
        call._end()
        if call.dialog is not None:
            self._calls.pop(call.dialog.id, None)
        self._ringing.pop(call.call_id, None)
        conv = call.conversation
        if conv is None:
            self._emit(CallEnded(call, reason, by_remote, status))
            return
        conv.left = True
        if conv.subscription is not None and by_remote:
            self._spawn(conv.subscription.unsubscribe())
        self._emit(ConversationEnded(conv, reason, by_remote))

    def _all_calls(self) -> list[Call]:
        return list({id(c): c for c in [*self._calls.values(), *self._ringing.values()]}.values())

    async def _close_call(self, call: Call) -> None:
        with contextlib.suppress(RequestFailed, SIPUsageError):
            await call.hangup()
        if call.state is not CallState.ENDED:
            self._call_over(call, "closed", by_remote=False)


def _granted(response: Response, contact: str, asked: int) -> int:
    """The expiry the registrar granted our contact (its Contact's
    ``expires``, else Expires, else what we asked)."""
    mine = parse_address(contact).uri
    for c in response.contacts:
        if c.uri == mine and c.expires is not None:
            return c.expires
    value = response.headers.get("Expires")
    if value is not None and value.strip().isdigit():
        return int(value)
    return asked


def reanswer(previous: bytes, offer: bytes) -> bytes:
    """Our answer to a new ``offer`` in a session we answered with
    ``previous`` (RFC 3264 §8): the same streams and formats, each direction
    the offer's mirrored (hold offers sendonly: we answer recvonly; a resume
    gets sendrecv back), the origin version one higher when anything
    changed and ``previous`` itself when nothing did.  Unparseable SDP on
    either side: ``previous`` unchanged, as before any of this."""
    try:
        prev, new_offer = parse_sdp(previous), parse_sdp(offer)
    except SDPError:
        return previous
    address = prev.connection.address if prev.connection else prev.origin.address
    # What we are able to do, not what we last agreed to: a stream answered
    # recvonly during a hold must be able to go back to sendrecv.
    ours = [m.with_direction("sendrecv") for m in prev.media]
    origin = prev.origin
    try:
        answer = make_answer(
            new_offer, address, ours, username=origin.username,
            session_id=origin.session_id, version=origin.version,
        )  # fmt: skip
    except (SDPError, SIPUsageError):
        return previous
    if answer.media == prev.media and answer.connection == prev.connection:
        return previous
    return replace(answer, origin=replace(answer.origin, version=origin.version + 1)).serialize()
