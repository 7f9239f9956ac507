"""The endpoint: transports, the transaction table, one timer, handlers.

Theory of operation
-------------------
Everything runs on the event loop's thread and, on the hot path, without
creating tasks: a datagram is read, parsed, matched by the sans-I/O
:class:`~sipstack.transaction.TransactionLayer`, and a handler that answers
synchronously has its response on the wire before the reader takes the
next datagram.  The layer's timers live in one heap; the endpoint keeps a
single ``loop.call_at`` handle for the earliest deadline.

Each server transaction carries the :class:`~sipstack.transport.Flow` its
request came on, so its responses go back the way RFC 3261 §18.2.2 says;
each client transaction carries where it was sent and the future its
caller awaits.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import socket
import ssl
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from types import TracebackType
from typing import Self

from ..errors import SIPParseError, SIPUsageError
from ..message import (
    Request,
    Response,
    error_response,
    make_response,
    new_branch,
    new_tag,
    parse,
)
from ..transaction import (
    DEFAULT_TIMERS,
    AckReceived,
    AckTimeout,
    CancelReceived,
    ClientTransaction,
    Outgoing,
    RequestReceived,
    ResponseReceived,
    ServerInviteTransaction,
    ServerNonInviteTransaction,
    ServerTransaction,
    State,
    StrayResponse,
    TimerConfig,
    Transaction,
    TransactionFailed,
    TransactionLayer,
)
from ..transaction._layer import LayerEvent
from ..transport import (
    RELIABLE,
    Connection,
    Destination,
    Flow,
    Listener,
    ListenSpec,
    TransportConfig,
    TransportManager,
    destination_for_request,
    destination_for_response,
    host_for_via,
    is_ip,
    parse_listen,
)
from ._hooks import Hook, HookPoint, MessageInfo, Verdict

__all__ = ["KNOWN_METHODS", "Endpoint", "Handler", "IncomingRequest"]

log = logging.getLogger("sipstack.endpoint")

#: Methods of the RFCs sipstack implements; a request with any other method
#: that no handler takes is answered 501, one of these 405 (RFC 3261 §8.2.1).
KNOWN_METHODS = frozenset(
    {
        "ACK",
        "BYE",
        "CANCEL",
        "INFO",
        "INVITE",
        "MESSAGE",
        "NOTIFY",
        "OPTIONS",
        "PRACK",
        "PUBLISH",
        "REFER",
        "REGISTER",
        "SUBSCRIBE",
        "UPDATE",
    }
)
# Responses to these requests establish dialogs and carry Record-Route back
# (RFC 3261 §12.1.1, RFC 6665 §4.1.2.4).
_DIALOG_CREATING = frozenset({"INVITE", "SUBSCRIBE", "REFER", "NOTIFY"})

Handler = Callable[["IncomingRequest"], Awaitable[None] | None]
# Server transaction states in which the TU still owes a final response.
_UNANSWERED = (State.TRYING, State.PROCEEDING)


class IncomingRequest:
    """A request for the application, with what it needs to answer it.

    A handler answers with :meth:`respond` (any number of provisional
    responses, then one final).  A non-INVITE request its handler leaves
    unanswered is answered 500 when the handler returns; an INVITE may be
    answered later (after ringing).  ``cancelled`` is set when a CANCEL
    ended an INVITE (it was answered 487 on the application's behalf).
    """

    __slots__ = ("_final", "_tag", "cancelled", "endpoint", "flow", "request", "transaction")

    def __init__(
        self, endpoint: Endpoint, request: Request, transaction: ServerTransaction, flow: Flow
    ) -> None:
        self.endpoint = endpoint
        self.request = request
        self.transaction = transaction
        self.flow = flow
        self.cancelled = False
        self._final: Response | None = None
        self._tag: str | None = None

    @property
    def answered(self) -> bool:
        """Whether a final response was sent."""
        return self._final is not None or self.transaction.state not in _UNANSWERED

    @property
    def to_tag(self) -> str:
        """The To tag this endpoint uses in its responses to the request (the
        same on every response, so early and final dialogs match)."""
        tag = self.request.to_tag or self._tag
        if tag is None:
            tag = self._tag = new_tag()
        return tag

    def respond(
        self,
        status: int,
        reason: str | None = None,
        *,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Response:
        """Build the response (RFC 3261 §8.2.6, Record-Route copied for
        dialog-creating requests) and send it; returns it."""
        method = self.request._method
        response = make_response(
            self.request,
            status,
            reason,
            to_tag=None if status == 100 else self.to_tag,
            headers=headers,
            body=body,
            content_type=content_type,
            copy_record_route=method in _DIALOG_CREATING and 100 < status < 300,
        )
        self._send(response, status)
        return response

    def send(self, response: Response) -> None:
        """Send a response built by the caller."""
        self._send(response, response.status)

    def forward(self, response: Response) -> None:
        """Send a response a proxy got from downstream (its own Via already
        removed): like :meth:`send`, and once the INVITE was answered 2xx,
        further 2xx (retransmissions, other forks) pass too (§16.7 step 5)."""
        if 200 <= response.status < 300 and self.transaction.state is State.ACCEPTED:
            self.endpoint._respond(self.transaction, response)
            return
        self._send(response, response.status)

    def _send(self, response: Response, status: int) -> None:
        if self._final is not None or self.transaction.state not in _UNANSWERED:
            raise SIPUsageError(f"{self.request.method} was already answered")
        if status >= 200:
            self._final = response
        self.endpoint._respond(self.transaction, response)

    def __repr__(self) -> str:
        return f"IncomingRequest({self.request.method} {self.request.uri_text} via {self.flow})"


class _Pending:
    """Client-side context: where the request went and who waits for it."""

    __slots__ = ("dest", "flow", "future", "on_response", "server_name")

    def __init__(
        self,
        dest: Destination,
        server_name: str | None,
        future: asyncio.Future[Response],
        on_response: Callable[[Response], None] | None,
    ) -> None:
        self.dest = dest
        self.server_name = server_name
        self.future = future
        self.on_response = on_response
        self.flow: Flow | None = None


class Endpoint:
    """A SIP endpoint: ``async with Endpoint(listen=[...]) as ep``.

    ``listen`` takes ``"udp:HOST:PORT"`` strings (``tcp``, ``tls``; port 0
    picks a free port, the one UDP or TCP already has on that host when
    it can) or
    :class:`~sipstack.transport.ListenSpec`.  TLS
    listening needs ``tls_server``; outgoing TLS verifies certificates
    with ``tls_client`` (default: the system trust store).
    ``merge_detection=False`` is for proxies (§8.2.2.2 is a UAS rule: a
    request spiralling back through a proxy is not a merged request).
    """

    def __init__(
        self,
        listen: Iterable[str | ListenSpec] = ("udp:127.0.0.1:0",),
        *,
        tls_server: ssl.SSLContext | None = None,
        tls_client: ssl.SSLContext | None = None,
        timers: TimerConfig = DEFAULT_TIMERS,
        transport_config: TransportConfig | None = None,
        max_transactions: int = 1_000_000,
        hooks: Iterable[tuple[HookPoint, Hook]] = (),
        merge_detection: bool = True,
    ) -> None:
        self._listen = [parse_listen(s) if isinstance(s, str) else s for s in listen]
        self._tls_server = tls_server
        self._tls_client = tls_client
        self._transport_config = transport_config or TransportConfig()
        self.layer = TransactionLayer(timers, max_transactions, merge_detection=merge_detection)
        self.handlers: dict[str, Handler] = {}
        #: Called with responses that match no client transaction (a proxy
        #: forwards them, §16.7); by default they are dropped.
        self.on_stray_response: Callable[[Response, Flow], None] | None = None
        #: Called with an INVITE a CANCEL ended (it was answered 487).
        self.on_cancel: Callable[[IncomingRequest], None] | None = None
        #: Called with the INVITE and its 2xx when no ACK came for it within
        #: 64*T1 (§13.3.1.4); the dialog's owner should send a BYE.
        self.on_ack_timeout: Callable[[Request, Response], None] | None = None
        #: Counters: ``hook_errors``, ``handler_errors``, ``bad_requests`` …
        self.stats: Counter[str] = Counter()
        # Only points with hooks are keys: each point's call site tests
        # membership, so a point nobody watches costs no call.
        self._hooks: dict[HookPoint, list[Hook]] = {}
        for point, hook in hooks:
            self.add_hook(point, hook)
        self._transports: TransportManager | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._invites: dict[ServerTransaction, IncomingRequest] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self._drained: asyncio.Event | None = None

    # -- configuration ------------------------------------------------------
    def route(self, method: str, handler: Handler | None = None) -> Callable[[Handler], Handler]:
        """Register ``handler`` for requests of ``method``; usable as a
        decorator (``@ep.route("MESSAGE")``)."""

        def register(h: Handler) -> Handler:
            if method.upper() == "CANCEL":
                raise SIPUsageError("CANCEL is answered by the transaction layer")
            self.handlers[method.upper()] = h
            return h

        if handler is not None:
            register(handler)
        return register

    def add_hook(self, point: HookPoint, hook: Hook) -> None:
        """Call ``hook`` at ``point`` (after the hooks added before it)."""
        self._hooks.setdefault(point, []).append(hook)

    @property
    def allow(self) -> str:
        """The Allow header value: the methods this endpoint handles."""
        methods = {"ACK", "CANCEL", "OPTIONS", *self.handlers}
        return ", ".join(sorted(methods))

    # -- lifecycle ----------------------------------------------------------
    async def start(self) -> None:
        """Open the listening sockets."""
        if self._transports is not None:
            raise SIPUsageError("the endpoint is already started")
        self._loop = asyncio.get_running_loop()
        self._transports = TransportManager(
            self._on_message,
            self._transport_config,
            tls_server=self._tls_server,
            tls_client=self._tls_client,
        )
        self._transports.on_connection_lost = self._connection_lost
        # A UDP or TCP listener asked for with port 0 takes the port of the
        # first UDP/TCP listener on its host when that is free, as SIP
        # expects (a UDP request too large for the path MTU is sent over
        # TCP to the same port, §18.1.1).
        picked: dict[str, int] = {}
        try:
            for spec in self._listen:
                listener = None
                if spec.port == 0 and spec.transport != "TLS" and spec.host in picked:
                    same = ListenSpec(spec.transport, spec.host, picked[spec.host])
                    try:
                        listener = await self._transports.listen(same)
                    except OSError:
                        listener = None  # taken for this transport: any free port
                if listener is None:
                    listener = await self._transports.listen(spec)
                if spec.transport != "TLS":
                    picked.setdefault(spec.host, listener.local[1])
                log.info("listening on %s %s:%d", listener.transport, *listener.local)
        except BaseException:
            await self._transports.close()
            self._transports = None
            raise

    async def close(self, timeout: float = 5.0) -> None:
        """Graceful shutdown: refuse new requests (503), let transactions
        that wait for a final response finish for up to ``timeout`` seconds,
        then answer what is left 503, fail what is left locally, and close
        every socket."""
        if self._transports is None or self._closing:
            return
        self._closing = True
        self._drained = asyncio.Event()
        if self.layer.active():
            try:
                await asyncio.wait_for(self._drained.wait(), timeout)
            except TimeoutError:
                log.info("%d transactions still running at shutdown", self.layer.active())
        for tx in self.layer.server_transactions():
            if tx.state in (State.TRYING, State.PROCEEDING):
                incoming = self._invites.get(tx)
                tag = incoming.to_tag if incoming is not None else self.layer.to_tag(tx)
                self._respond(tx, make_response(tx.request, 503, to_tag=tag))
        for ctx in self.layer.client_transactions():
            pending = ctx.context
            if isinstance(pending, _Pending) and not pending.future.done():
                pending.future.set_result(_local_response(ctx.request, 503, "endpoint closed"))
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=1.0)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await self._transports.close()
        self._transports = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def transports(self) -> TransportManager:
        """The transport manager (once started)."""
        if self._transports is None:
            raise SIPUsageError("the endpoint is not started")
        return self._transports

    @property
    def listeners(self) -> list[Listener]:
        """The sockets listened on, with the ports actually bound."""
        return list(self.transports.listeners)

    def listener(self, transport: str = "UDP") -> Listener:
        """The first listener of ``transport``."""
        lst = self.transports.listener_for(transport.upper())
        if lst is None:
            raise SIPUsageError(f"the endpoint does not listen on {transport}")
        return lst

    # -- the hot path: inbound ----------------------------------------------
    def _on_message(self, msg: Request | Response, flow: Flow) -> None:
        # (_hook_verdict here and at WIRE_OUT rather than _run_hooks: one
        # call less on the path of every message.)
        if HookPoint.WIRE_IN in self._hooks:
            verdict = self._hook_verdict(HookPoint.WIRE_IN, msg, flow, "in")
            if verdict is not None:
                self._stopped(msg, flow, "in", verdict)
                return
        if isinstance(msg, Request):
            try:
                cseq_method = msg.cseq.method
            except SIPParseError as exc:
                self._bad_request(msg, flow, exc)
                return
            if cseq_method != msg._method:
                self._bad_request(msg, flow, SIPParseError("CSeq method does not match"))
                return
            if (
                self._closing
                and msg._method not in ("ACK", "CANCEL")
                and not self.layer.has_server_transaction(msg)
            ):
                # A retransmission of a request still being handled goes on
                # to its transaction; only new work is turned away.
                self._stateless(
                    make_response(msg, 503, to_tag=new_tag(), headers=[("Retry-After", "5")]), flow
                )
                return
        loop = self._loop
        assert loop is not None
        try:
            events = self.layer.receive(msg, loop.time(), reliable=flow.reliable, context=flow)
        except SIPParseError as exc:
            # A header the transaction layer needs (Via, CSeq …) is invalid.
            if isinstance(msg, Request):
                self._bad_request(msg, flow, exc)
            else:
                log.info("dropped a response with a bad header from %s: %s", flow.remote, exc)
            return
        self._dispatch(events, flow)

    def _dispatch(self, events: list[LayerEvent], flow: Flow | None = None) -> None:
        for event in events:
            if type(event) is Outgoing:
                self._send(event, flow)
            elif type(event) is RequestReceived:
                self._deliver(event, flow)
            elif type(event) is ResponseReceived:
                self._response(event.response, event.transaction)
            elif type(event) is TransactionFailed:
                self._failed(event)
            elif type(event) is AckReceived:
                self._ack(event.ack, flow)
            elif type(event) is AckTimeout:
                log.info("no ACK for the 2xx to INVITE %s", event.invite.call_id)
                if self.on_ack_timeout is not None:
                    self.on_ack_timeout(event.invite, event.response)
            elif type(event) is CancelReceived:
                incoming = self._invites.pop(event.transaction, None)
                if incoming is not None:
                    incoming.cancelled = True
                    if self.on_cancel is not None:
                        self.on_cancel(incoming)
            elif type(event) is StrayResponse:
                if self.on_stray_response is not None and flow is not None:
                    self.on_stray_response(event.response, flow)
                else:
                    log.debug("dropped a response that matches no transaction")
        heap = self.layer._heap
        # Most events add deadlines later than the wake-up already set
        # (Timer J of a new transaction): only an earlier one reschedules.
        if heap and (self._timer is None or heap[0][0] < self._timer_at):
            self._schedule()
        if self._drained is not None and not self.layer.active():
            self._drained.set()

    def _deliver(self, event: RequestReceived, flow: Flow | None) -> None:
        request, tx = event.request, event.transaction
        assert flow is not None
        incoming = IncomingRequest(self, request, tx, flow)
        if HookPoint.TU_IN in self._hooks:
            verdict = self._hook_verdict(HookPoint.TU_IN, request, flow, "in")
            if verdict is not None:
                self._answer_verdict(incoming, verdict)
                return
        method = request._method
        handler = self.handlers.get(method)
        if handler is None:
            self._default(incoming)
            return
        if method == "INVITE":
            self._invites[tx] = incoming
        try:
            result = handler(incoming)
        except Exception:
            self._handler_failed(incoming)
            return
        if result is not None and inspect.isawaitable(result):
            task = asyncio.ensure_future(self._await_handler(incoming, result))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            self._handler_done(incoming)

    async def _await_handler(self, incoming: IncomingRequest, result: Awaitable[None]) -> None:
        try:
            await result
        except asyncio.CancelledError:
            raise
        except Exception:
            self._handler_failed(incoming)
            return
        self._handler_done(incoming)

    def _handler_done(self, incoming: IncomingRequest) -> None:
        if incoming.request._method != "INVITE" and not incoming.answered:
            log.warning("%s handler returned without answering; sent 500", incoming.request.method)
            self.stats["unanswered"] += 1
            incoming.respond(500, "Handler Did Not Answer")

    def _handler_failed(self, incoming: IncomingRequest) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, SIPParseError):
            # The handler read a header the peer got wrong: the peer's error
            # (400 or the like), not ours.
            self.stats["bad_requests"] += 1
            log.info("bad %s from %s: %s", incoming.request.method, incoming.flow.remote, exc)
            if not incoming.answered:
                incoming.respond(exc.status, exc.reason)
            return
        log.exception("%s handler failed", incoming.request.method)
        self.stats["handler_errors"] += 1
        if not incoming.answered:
            incoming.respond(500)

    def _default(self, incoming: IncomingRequest) -> None:
        method = incoming.request.method
        if method == "OPTIONS":
            incoming.respond(200, headers=[("Allow", self.allow), ("Accept", "text/plain")])
        elif method in KNOWN_METHODS:
            incoming.respond(405, headers=[("Allow", self.allow)])
        else:
            incoming.respond(501)

    def _ack(self, ack: Request, flow: Flow | None) -> None:
        handler = self.handlers.get("ACK")
        if handler is None or flow is None:
            return  # an ACK for a 2xx belongs to a dialog; nobody asked for it
        try:
            result = handler(IncomingRequest(self, ack, _NO_TRANSACTION, flow))
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(_swallow(result))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        except Exception:
            log.exception("ACK handler failed")
            self.stats["handler_errors"] += 1

    def _bad_request(self, msg: Request, flow: Flow, exc: SIPParseError) -> None:
        self.stats["bad_requests"] += 1
        log.info("bad %s from %s:%d: %s", msg.method, flow.remote[0], flow.remote[1], exc)
        if msg.method == "ACK":
            return
        reply = error_response(bytes(msg), exc)
        if reply is not None:
            answer = parse(reply)
            assert isinstance(answer, Response)
            self._stateless(answer, flow)

    # -- responses ----------------------------------------------------------
    def _respond(self, tx: ServerTransaction, response: Response) -> None:
        if response.status >= 200:
            self._invites.pop(tx, None)
        if HookPoint.TU_OUT in self._hooks:
            flow = tx.context if isinstance(tx.context, Flow) else None
            if not self._run_hooks(HookPoint.TU_OUT, response, flow, "out"):
                if response.status >= 200:
                    # The final answer was stopped: nothing more will be
                    # sent, so the transaction must not wait for it.
                    self.layer.discard(tx)
                    self._notify_done(tx, None)
                return
        assert self._loop is not None
        self._dispatch(self.layer.send_response(tx, response, self._loop.time()))

    def _send(self, event: Outgoing, inbound: Flow | None) -> None:
        message, tx = event.message, event.transaction
        if isinstance(message, Response):
            flow = tx.context if tx is not None else inbound
            if not isinstance(flow, Flow):
                return
            self._stateless(message, flow, event.retransmission)
            if (
                HookPoint.TRANSACTION_DONE in self._hooks
                and tx is not None
                and message.status >= 200
                and not event.retransmission
                and isinstance(tx, ServerInviteTransaction | ServerNonInviteTransaction)
            ):
                self._notify_done(tx, message)
        else:
            assert tx is not None
            pending = tx.context
            assert isinstance(pending, _Pending)
            self._send_request(message, tx, pending, event.retransmission)

    def _stateless(self, message: Response, flow: Flow, retransmission: bool = False) -> None:
        """Send a response back along ``flow`` (§18.2.2), past the WIRE_OUT
        hooks."""
        transports = self._transports
        if transports is None:
            return
        if (
            HookPoint.WIRE_OUT in self._hooks
            and self._hook_verdict(HookPoint.WIRE_OUT, message, flow, "out", retransmission)
            is not None
        ):
            return  # stopped: a response is never answered
        data = bytes(message)
        try:
            if flow.transport == "UDP":
                reply_to = flow.reply_to
                if reply_to is None:
                    dest = destination_for_response(message.top_via, "UDP")
                    reply_to = (dest.host, dest.port)
                transports.sendto(data, reply_to)
                return
            conn = flow.connection
            if conn is not None and not conn.closed:
                conn.write(data)
                return
            dest = destination_for_response(message.top_via, flow.transport)
        except (OSError, SIPParseError) as exc:
            log.info("could not send a response to %s: %s", flow.remote, exc)
            return
        self._spawn(self._send_later(data, dest))

    async def _send_later(self, data: bytes, dest: Destination) -> None:
        try:
            await self.transports.send(data, dest)
        except (OSError, SIPUsageError) as exc:
            log.info("could not send a response to %s:%d: %s", dest.host, dest.port, exc)

    # -- client side --------------------------------------------------------
    async def request(
        self,
        request: Request,
        dest: Destination | None = None,
        *,
        on_response: Callable[[Response], None] | None = None,
        push_via: bool = False,
        branch: str | None = None,
    ) -> Response:
        """Send ``request`` in a client transaction and return its final
        response.

        ``dest`` defaults to the next hop of the request (first loose Route,
        else the Request-URI; §8.1.2).  A top Via with a fresh branch and
        ``rport`` is added when the request has none.  ``on_response`` sees
        every response, provisional ones and 2xx retransmissions for INVITE
        included.  ``push_via`` adds this endpoint's Via above those the
        request has (a proxy forwarding it, §16.6 step 8); ``branch`` is the branch of
        the Via this endpoint adds (a proxy's loop-detection branch).  When no response comes (Timer B/F) or the transport
        fails, a locally made 408 or 503 is returned (RFC 3261 §8.1.3.1) with
        a Warning saying why.
        """
        if self._closing:
            raise SIPUsageError("the endpoint is closing")
        loop = self.transports.loop
        dest, server_name = await self._next_hop(request, dest, push_via, branch)
        if HookPoint.TU_OUT in self._hooks and not self._run_hooks(
            HookPoint.TU_OUT, request, None, "out"
        ):
            return _local_response(request, 503, "stopped by a hook")
        future: asyncio.Future[Response] = loop.create_future()
        pending = _Pending(dest, server_name, future, on_response)
        try:
            _, events = self.layer.send_request(
                request, loop.time(), reliable=dest.transport in RELIABLE, context=pending
            )
        except SIPParseError as exc:
            raise SIPUsageError(f"cannot send this request: {exc}") from None
        self._dispatch(events)
        return await future

    async def send_stateless(
        self, request: Request, dest: Destination | None = None, *, push_via: bool = False
    ) -> None:
        """Send a request outside any transaction (the ACK for a 2xx,
        §13.2.2.4); a top Via is added when missing (or always, with
        ``push_via``: a proxy forwarding it)."""
        # An application's request, like those of request(): TU_OUT sees it
        # (the ACK for a 2xx included) before the wire does.
        if HookPoint.TU_OUT in self._hooks and not self._run_hooks(
            HookPoint.TU_OUT, request, None, "out"
        ):
            return
        dest, server_name = await self._next_hop(request, dest, push_via)
        flow = self._flow_to(dest, None) or await self._connect(dest, server_name)
        if HookPoint.WIRE_OUT in self._hooks and not self._run_hooks(
            HookPoint.WIRE_OUT, request, flow, "out"
        ):
            return
        self._write(bytes(request), flow)

    async def _next_hop(
        self,
        request: Request,
        dest: Destination | None,
        push_via: bool = False,
        branch: str | None = None,
    ) -> tuple[Destination, str | None]:
        """Where ``request`` goes (an IP address) and the name a TLS peer
        must prove; the top Via is added when the request has none."""
        if dest is None:
            dest = destination_for_request(request)
        server_name = None
        if not is_ip(dest.host):
            server_name = dest.host
            dest = Destination(dest.transport, await self._resolve(dest), dest.port)
        if push_via or "Via" not in request.headers:
            dest = self._add_via(request, dest, branch)
        return dest, server_name

    async def _resolve(self, dest: Destination) -> str:
        kind = socket.SOCK_DGRAM if dest.transport == "UDP" else socket.SOCK_STREAM
        try:
            infos = await self.transports.loop.getaddrinfo(dest.host, dest.port, type=kind)
        except OSError as exc:
            raise SIPUsageError(f"cannot resolve {dest.host}: {exc}") from None
        return str(infos[0][4][0])

    def _add_via(
        self, request: Request, dest: Destination, branch: str | None = None
    ) -> Destination:
        """Add this endpoint's Via; a UDP request too large for the path MTU
        goes over TCP instead (§18.1.1)."""
        transport = dest.transport
        sent_by = self._sent_by(transport, dest.host)
        if branch is None:
            branch = new_branch()
        elif (
            not branch.startswith("z9hG4bK")
            or not branch.isascii()
            or not branch[7:].replace(".", "").replace("-", "").isalnum()
        ):
            raise SIPUsageError(f"branch {branch[:40]!r} is not a z9hG4bK token")
        request.headers.add(
            "Via", f"SIP/2.0/{transport} {sent_by};branch={branch};rport", first=True
        )
        if transport == "UDP" and len(bytes(request)) > self.transports.config.mtu_threshold:
            request.headers.pop_first("Via")
            sent_by = self._sent_by("TCP", dest.host)
            request.headers.add("Via", f"SIP/2.0/TCP {sent_by};branch={branch};rport", first=True)
            dest = Destination("TCP", dest.host, dest.port)
        return dest

    def _sent_by(self, transport: str, remote: str) -> str:
        transports = self.transports
        lst = transports.listener_for(transport, remote)
        if lst is None:
            # No listener of that transport (a client connecting out):
            # responses come back over the connection, so any local address
            # of the right family will do.
            lst = transports.listener_for("UDP", remote) or transports.listener_for("TCP", remote)
        if lst is None:
            return host_for_via(_local_ip_towards(remote))
        host = lst.local[0]
        if host in ("0.0.0.0", "::"):
            host = _local_ip_towards(remote)
        return f"{host_for_via(host)}:{lst.local[1]}"

    def _send_request(
        self, request: Request, tx: Transaction, pending: _Pending, retransmission: bool
    ) -> None:
        try:
            flow = self._flow_to(pending.dest, pending.flow)
        except OSError as exc:
            self._transport_failed(tx, exc)
            return
        if flow is None:
            self._spawn(self._connect_and_send(request, tx, pending, retransmission))
            return
        pending.flow = flow
        if HookPoint.WIRE_OUT in self._hooks and not self._run_hooks(
            HookPoint.WIRE_OUT, request, flow, "out", retransmission
        ):
            return
        try:
            self._write(bytes(request), flow)
        except OSError as exc:
            self._transport_failed(tx, exc)

    async def _connect_and_send(
        self, request: Request, tx: Transaction, pending: _Pending, retransmission: bool
    ) -> None:
        try:
            flow = await self._connect(pending.dest, pending.server_name)
            pending.flow = flow
            if HookPoint.WIRE_OUT in self._hooks and not self._run_hooks(
                HookPoint.WIRE_OUT, request, flow, "out", retransmission
            ):
                return
            self._write(bytes(request), flow)
        except (OSError, SIPUsageError) as exc:
            self._transport_failed(tx, exc)

    def _flow_to(self, dest: Destination, previous: Flow | None) -> Flow | None:
        """The flow a message to ``dest`` takes without opening a
        connection (the previous one while it is open), or None when a
        connection must be opened first."""
        if previous is not None and (previous.connection is None or not previous.connection.closed):
            return previous
        transports = self.transports
        if dest.transport == "UDP":
            udp = transports.udp_socket_for(dest.host)
            return Flow("UDP", udp.local, (dest.host, dest.port))
        conn = transports.connection(dest.transport, dest.host, dest.port)
        return None if conn is None else conn.flow

    async def _connect(self, dest: Destination, server_name: str | None) -> Flow:
        conn = await self.transports.connect(dest.transport, dest.host, dest.port, server_name)
        return conn.flow

    def _write(self, data: bytes, flow: Flow) -> None:
        if flow.connection is None:
            self.transports.sendto(data, flow.remote)
        else:
            flow.connection.write(data)

    def _connection_lost(self, conn: Connection) -> None:
        """A request sent on a connection that is now gone will not get its
        answer there: fail its transaction as a transport error (503) now
        rather than after Timer B/F, as a closed connection to a peer that
        went away would otherwise hold its caller for 32 s."""
        if self._closing:
            return
        waiting = (State.CALLING, State.TRYING, State.PROCEEDING)
        for tx in self.layer.client_transactions():
            pending = tx.context
            if (
                tx.state in waiting
                and isinstance(pending, _Pending)
                and pending.flow is not None
                and pending.flow.connection is conn
            ):
                self._transport_failed(
                    tx, ConnectionError(f"the connection to {conn.remote} closed")
                )

    def _transport_failed(self, tx: Transaction, exc: BaseException) -> None:
        log.info("transport error: %s", exc)
        assert self._loop is not None
        self._dispatch(self.layer.transport_error(tx, self._loop.time(), str(exc) or repr(exc)))

    def _response(self, response: Response, tx: ClientTransaction) -> None:
        pending = tx.context
        if not isinstance(pending, _Pending):
            return
        if HookPoint.TU_IN in self._hooks and not self._run_hooks(
            HookPoint.TU_IN, response, pending.flow, "in"
        ):
            if response.status >= 200 and not pending.future.done():
                pending.future.set_result(
                    _local_response(tx.request, 503, "a hook stopped the response")
                )
            return
        if pending.on_response is not None:
            try:
                pending.on_response(response)
            except Exception:
                log.exception("on_response callback failed")
        if response.status >= 200 and not pending.future.done():
            pending.future.set_result(response)
            if HookPoint.TRANSACTION_DONE in self._hooks:
                self._notify_done(tx, response)

    def _failed(self, event: TransactionFailed) -> None:
        pending = event.transaction.context
        if isinstance(pending, _Pending) and not pending.future.done():
            request = event.transaction.request
            if event.reason == "timeout":
                resp = _local_response(request, 408, "no response before the transaction timer")
            else:
                resp = _local_response(request, 503, "the transport failed")
            pending.future.set_result(resp)
            if HookPoint.TRANSACTION_DONE in self._hooks:
                self._notify_done(event.transaction, None)

    # -- timers -------------------------------------------------------------
    def _schedule(self) -> None:
        deadline = self.layer.next_deadline
        timer = self._timer
        if deadline is None:
            if timer is not None:
                timer.cancel()
                self._timer = None
            return
        if timer is not None:
            if self._timer_at <= deadline:
                return  # the earlier wake-up will reschedule
            timer.cancel()
        assert self._loop is not None
        self._timer_at = deadline
        self._timer = self._loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        assert self._loop is not None
        self._dispatch(self.layer.handle_timer(self._loop.time()))

    # -- hooks --------------------------------------------------------------
    def _run_hooks(
        self,
        point: HookPoint,
        message: Request | Response,
        flow: Flow | None,
        direction: str,
        retransmission: bool = False,
    ) -> bool:
        """True when the message may go on."""
        verdict = self._hook_verdict(point, message, flow, direction, retransmission)
        if verdict is None:
            return True
        self._stopped(message, flow, direction, verdict)
        return False

    def _stopped(
        self,
        message: Request | Response,
        flow: Flow | None,
        direction: str,
        verdict: int | Response,
    ) -> None:
        """A hook stopped ``message``: answer an incoming request with the
        verdict (unless it was a silent stop)."""
        silent = isinstance(verdict, int) and verdict == 0
        if isinstance(message, Request) and direction == "in" and flow is not None and not silent:
            self._stateless(_verdict_response(message, verdict), flow)

    def _hook_verdict(
        self,
        point: HookPoint,
        message: Request | Response,
        flow: Flow | None,
        direction: str,
        retransmission: bool = False,
    ) -> int | Response | None:
        """None to go on; otherwise the status or response that stops it
        (0 for a silent stop)."""
        hooks = self._hooks.get(point)
        if not hooks:
            return None
        if flow is None:
            info = _new_info(
                (point, direction, None, None, None, time.time(), retransmission, None)
            )
        else:
            info = _new_info(
                (point, direction, flow.transport, flow.local, flow.remote, time.time(),
                 retransmission, None)
            )  # fmt: skip
        for hook in hooks:
            try:
                verdict: Verdict = hook(message, info)
            except Exception:
                self.stats["hook_errors"] += 1
                log.exception("hook %r failed at %s", hook, point.value)
                # A bound method (an interceptor's on_message) answers for
                # the object it is bound to.
                owner = getattr(hook, "__self__", hook)
                if getattr(hook, "fail_closed", False) or getattr(owner, "fail_closed", False):
                    return 500
                continue
            if verdict is None or verdict is True:
                continue
            if verdict is False:
                return 0
            return verdict
        return None

    def _answer_verdict(self, incoming: IncomingRequest, verdict: int | Response) -> None:
        if verdict == 0:
            # Stopped silently: forget the transaction, so that nothing is
            # kept for a request nobody will answer.
            self.layer.discard(incoming.transaction)
            return
        if isinstance(verdict, Response):
            incoming.send(verdict)
        else:
            incoming.respond(verdict if verdict >= 200 else 500)

    def _notify_done(
        self, tx: ClientTransaction | ServerTransaction, final: Response | None
    ) -> None:
        hooks = self._hooks.get(HookPoint.TRANSACTION_DONE)
        if not hooks:
            return
        info = MessageInfo(
            HookPoint.TRANSACTION_DONE, "out", None, None, None, time.time(), final=final
        )
        for hook in hooks:
            try:
                hook(tx.request, info)
            except Exception:
                self.stats["hook_errors"] += 1
                log.exception("hook %r failed at %s", hook, HookPoint.TRANSACTION_DONE.value)

    # -- helpers ------------------------------------------------------------
    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


# MessageInfo(...) without the named tuple's Python-level __new__: one is
# made for every message a hook sees.
_new_info: Callable[[tuple[object, ...]], MessageInfo] = partial(tuple.__new__, MessageInfo)


def _verdict_response(request: Request, verdict: int | Response) -> Response:
    if isinstance(verdict, Response):
        return verdict
    return make_response(request, verdict if verdict >= 200 else 500, to_tag=new_tag())


def _local_response(request: Request, status: int, why: str) -> Response:
    """The response a client transaction reports when none arrived."""
    return make_response(request, status, headers=[("Warning", f'399 sipstack "{why}"')])


def _local_ip_towards(remote: str) -> str:
    """The local address the kernel would use to reach ``remote`` (a UDP
    connect sends nothing)."""
    family = socket.AF_INET6 if ":" in remote else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        try:
            s.connect((remote, 9))
            return str(s.getsockname()[0])
        except OSError:
            return "::1" if family == socket.AF_INET6 else "127.0.0.1"


async def _swallow(result: Awaitable[None]) -> None:
    try:
        await result
    except Exception:
        log.exception("ACK handler failed")


class _NoTransaction:
    state = State.TERMINATED


_NO_TRANSACTION: ServerTransaction = _NoTransaction()  # type: ignore[assignment]
