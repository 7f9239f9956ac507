"""The transaction table of an endpoint (sans-I/O): it creates transactions,
matches every incoming message to one (RFC 3261 §17.1.3, §17.2.3), answers
what the RFC makes the transaction layer answer — CANCEL (§9.2: 200 for the
CANCEL, 487 for the INVITE, 481 when nothing matches) and merged requests
(§8.2.2.2: 482) — keeps one timer heap for all of them, and forgets
transactions once they terminate.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import logging
from dataclasses import dataclass
from typing import cast

from ..errors import SIPUsageError
from ..message import Request, Response, make_response
from ._client_invite import ClientInviteTransaction
from ._client_noninvite import ClientNonInviteTransaction
from ._common import (
    DEFAULT_TIMERS,
    MessageToSend,
    ResponseToTU,
    State,
    TimerConfig,
    Transaction,
    TransactionError,
    TransactionEvent,
    TransactionTerminated,
    TransactionTimeout,
    TransportError,
)
from ._keys import ClientKey, ServerKey, client_key, merge_key, response_key, server_key
from ._server_invite import ServerInviteTransaction
from ._server_noninvite import ServerNonInviteTransaction

__all__ = [
    "AckReceived",
    "CancelReceived",
    "ClientTransaction",
    "Outgoing",
    "RequestReceived",
    "ResponseReceived",
    "ServerTransaction",
    "StrayResponse",
    "TransactionFailed",
    "TransactionLayer",
]

log = logging.getLogger("sipstack.transaction")

ClientTransaction = ClientInviteTransaction | ClientNonInviteTransaction
ServerTransaction = ServerInviteTransaction | ServerNonInviteTransaction


@dataclass(slots=True)
class Outgoing:
    """Hand ``message`` to the transport."""

    message: Request | Response
    retransmission: bool = False
    #: The transaction it belongs to (None for a stateless answer).
    transaction: Transaction | None = None


@dataclass(slots=True)
class RequestReceived:
    """A new request for the TU, with the server transaction to answer it on."""

    request: Request
    transaction: ServerTransaction


@dataclass(slots=True)
class ResponseReceived:
    """A response for the TU, from one of its client transactions."""

    response: Response
    transaction: ClientTransaction


@dataclass(slots=True)
class TransactionFailed:
    """A client transaction ended without a final response: ``reason`` is
    ``"timeout"`` (treat as 408) or ``"transport"`` (treat as 503)."""

    transaction: ClientTransaction
    reason: str


@dataclass(slots=True)
class AckReceived:
    """An ACK that matched no INVITE server transaction: the ACK for a 2xx,
    which belongs to the dialog (§17.2.3)."""

    ack: Request


@dataclass(slots=True)
class AckTimeout:
    """No ACK came for the 2xx to an INVITE within 64*T1 (§13.3.1.4): the
    dialog is confirmed, but the TU should end the session with a BYE."""

    invite: Request
    response: Response


@dataclass(slots=True)
class CancelReceived:
    """A CANCEL matched an INVITE still in progress; it was answered 200 and
    the INVITE 487 (§9.2).  The TU should stop ringing."""

    invite: Request
    transaction: ServerTransaction


@dataclass(slots=True)
class StrayResponse:
    """A response that matches no client transaction (§18.1.2): dropped by a
    UA, forwarded statelessly by a proxy."""

    response: Response


LayerEvent = (
    Outgoing
    | RequestReceived
    | ResponseReceived
    | TransactionFailed
    | AckReceived
    | AckTimeout
    | CancelReceived
    | StrayResponse
)


class TransactionLayer:
    """Every transaction of one endpoint, and one timer heap for them all."""

    def __init__(
        self,
        timers: TimerConfig = DEFAULT_TIMERS,
        max_transactions: int = 100_000,
        *,
        merge_detection: bool = True,
    ) -> None:
        self.timers = timers
        self.max_transactions = max_transactions
        #: Answer merged requests 482 (§8.2.2.2) — what a UAS does; a proxy
        #: turns it off: a request that spirals back is not a merge.
        self.merge_detection = merge_detection
        self._clients: dict[ClientKey, ClientTransaction] = {}
        self._servers: dict[ServerKey, ServerTransaction] = {}
        self._merge: dict[tuple[str, str, int, str], ServerKey] = {}
        # INVITE server transactions that sent a 2xx, by what its ACK carries
        # (Call-ID, CSeq number, To tag): that ACK has a branch of its own.
        self._accepted: dict[tuple[str, int, str], ServerInviteTransaction] = {}
        self._heap: list[tuple[float, int, Transaction]] = []
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._clients) + len(self._servers)

    @property
    def next_deadline(self) -> float | None:
        """When :meth:`handle_timer` should next be called."""
        heap = self._heap
        while heap and heap[0][0] != heap[0][2].next_deadline:
            self._requeue(heapq.heappop(heap))  # stale: that timer was cancelled or moved
        return heap[0][0] if heap else None

    def _requeue(self, entry: tuple[float, int, Transaction]) -> None:
        """A stale heap entry was dropped; make sure the transaction's
        current deadline is still queued."""
        deadline, _, tx = entry
        if tx._queued == deadline:
            tx._queued = None
            current = tx.next_deadline
            if current is not None:
                tx._queued = current
                heapq.heappush(self._heap, (current, next(self._seq), tx))

    # -- sending -----------------------------------------------------------------
    def send_request(
        self, request: Request, now: float, *, reliable: bool, context: object = None
    ) -> tuple[ClientTransaction, list[LayerEvent]]:
        """Start a client transaction for ``request`` (its top Via carries
        the branch); ``context`` is attached to it for the caller."""
        if len(self) >= self.max_transactions:
            raise SIPUsageError(f"more than {self.max_transactions} transactions")
        key = client_key(request)
        if key in self._clients:
            raise SIPUsageError(f"a transaction with branch {key[0]} already exists")
        cls = ClientInviteTransaction if request.method == "INVITE" else ClientNonInviteTransaction
        tx = cls(request, reliable=reliable, timers=self.timers)
        tx.context = context
        tx._key = key
        self._clients[key] = tx
        return tx, self._after(tx, tx.start(now))

    def send_response(
        self, tx: ServerTransaction, response: Response, now: float
    ) -> list[LayerEvent]:
        """The TU answers on a server transaction."""
        events = self._after(tx, tx.send_response(response, now))
        if 200 <= response.status < 300 and type(tx) is ServerInviteTransaction:
            tag = response.to_tag
            if tag is not None:
                self._accepted[(tx.request.call_id, tx.request.cseq.seq, tag)] = tx
        return events

    # -- receiving ---------------------------------------------------------------
    def receive(
        self, message: Request | Response, now: float, *, reliable: bool, context: object = None
    ) -> list[LayerEvent]:
        """Match an incoming message and return what follows from it; a new
        server transaction gets ``context`` attached (the endpoint passes
        the flow the request came on)."""
        if isinstance(message, Response):
            rkey = response_key(message)
            ctx = None if rkey is None else self._clients.get(rkey)
            if ctx is None:
                return [StrayResponse(message)]
            try:
                return self._after(ctx, ctx.receive_response(message, now))
            except TransactionError as exc:
                log.info("dropped a response its transaction cannot take: %s", exc)
                return []
        key = server_key(message)
        tx = self._servers.get(key)
        method = message._method
        if tx is not None:
            if (
                method == "ACK"
                and type(tx) is ServerInviteTransaction
                and tx.state is State.ACCEPTED
            ):
                # An ACK for the 2xx reusing the INVITE's branch: the dialog's.
                return self._ack_2xx(tx, message, now)
            try:
                return self._after(tx, tx.receive_request(message, now))
            except TransactionError as exc:
                log.info("dropped a request its transaction cannot take: %s", exc)
                return []
        if method == "ACK":
            if self._accepted:
                accepted = self._accepted.get(
                    (message.call_id, message.cseq.seq, message.to_tag or "")
                )
                if accepted is not None:
                    return self._ack_2xx(accepted, message, now)
            return [AckReceived(message)]
        if len(self._clients) + len(self._servers) >= self.max_transactions:
            # Overload: answer statelessly rather than grow without bound.
            return [Outgoing(make_response(message, 503, headers=[("Retry-After", "5")]))]
        if method == "CANCEL":
            return self._cancel(message, key, now, reliable, context)
        mkey = merge_key(message) if self.merge_detection else None
        if mkey is not None:
            other = self._merge.get(mkey)
            if other is not None and other != key and other in self._servers:
                tx = self._new_server(message, key, reliable, context)
                return self._after(tx, tx.send_response(make_response(message, 482), now))
            self._merge[mkey] = key
        tx = self._new_server(message, key, reliable, context)
        tx._key = (key, mkey)
        if method != "INVITE":
            return [RequestReceived(message, tx)]
        assert isinstance(tx, ServerInviteTransaction)
        return [RequestReceived(message, tx), *self._after(tx, tx.start(now))]

    def _ack_2xx(self, tx: ServerInviteTransaction, ack: Request, now: float) -> list[LayerEvent]:
        """The ACK for a 2xx stops its retransmissions and goes to the TU."""
        if tx.state is State.ACCEPTED:
            self._after(tx, tx.receive_request(ack, now))
        return [AckReceived(ack)]

    def _new_server(
        self, request: Request, key: ServerKey, reliable: bool, context: object
    ) -> ServerTransaction:
        cls = ServerInviteTransaction if request._method == "INVITE" else ServerNonInviteTransaction
        tx = cls(request, reliable=reliable, timers=self.timers)
        tx.context = context
        self._servers[key] = tx
        return tx

    def _cancel(
        self, cancel: Request, key: ServerKey, now: float, reliable: bool, context: object
    ) -> list[LayerEvent]:
        tx = self._new_server(cancel, key, reliable, context)
        invite = self._servers.get(server_key(cancel, method="INVITE"))
        if invite is None:
            return self._after(tx, tx.send_response(make_response(cancel, 481), now))
        events = self._after(
            tx, tx.send_response(make_response(cancel, 200, to_tag=_tag(invite)), now)
        )
        if invite.state is State.PROCEEDING:
            assert isinstance(invite, ServerInviteTransaction)
            terminated = make_response(invite.request, 487, to_tag=_tag(invite))
            events += self._after(invite, invite.send_response(terminated, now))
            events.append(CancelReceived(invite.request, invite))
        return events

    def transport_error(self, tx: Transaction, now: float, reason: str) -> list[LayerEvent]:
        """The transport could not send a message of ``tx`` (§17.1.4,
        §17.2.4): the transaction ends and a client's TU learns it."""
        if tx.terminated:
            return []
        try:
            return self._after(tx, tx.transport_error(now, reason))
        except TransactionError:
            return []  # the state has nothing left to lose

    def has_server_transaction(self, request: Request) -> bool:
        """Whether ``request`` matches a live server transaction (it is a
        retransmission, or an ACK/CANCEL for one)."""
        return server_key(request) in self._servers

    def to_tag(self, tx: ServerTransaction) -> str:
        """The To tag for a response on ``tx``: the one already sent on it,
        else one derived from the request (§8.2.6.2: every response of a
        transaction carries the same tag)."""
        return _tag(tx)

    def discard(self, tx: Transaction) -> None:
        """Forget ``tx`` without another message (a request an interceptor
        stopped silently); a retransmission starts a new transaction."""
        tx.state = State.TERMINATED
        tx._deadlines.clear()
        tx._next = None
        self._forget(tx)

    def active(self) -> int:
        """Transactions still waiting for a final response (used to drain
        them on shutdown)."""
        waiting = (State.CALLING, State.TRYING, State.PROCEEDING)
        return sum(
            1
            for table in (self._clients, self._servers)
            for tx in table.values()
            if tx.state in waiting
        )

    def server_transactions(self) -> list[ServerTransaction]:
        """Every live server transaction."""
        return list(self._servers.values())

    def client_transactions(self) -> list[ClientTransaction]:
        """Every live client transaction."""
        return list(self._clients.values())

    # -- timers ------------------------------------------------------------------
    def handle_timer(self, now: float) -> list[LayerEvent]:
        """Fire every due timer of every transaction."""
        events: list[LayerEvent] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            entry = heapq.heappop(heap)
            deadline, _, tx = entry
            if tx.next_deadline != deadline:
                self._requeue(entry)  # stale entry
                continue
            tx._queued = None
            events += self._after(tx, tx.handle_timer(now))
        return events

    def _after(self, tx: Transaction, events: list[TransactionEvent]) -> list[LayerEvent]:
        """Translate a transaction's events and keep the table and the heap
        up to date."""
        out: list[LayerEvent] = []
        for e in events:
            if isinstance(e, MessageToSend):
                out.append(Outgoing(e.message, e.retransmission, tx))
            elif isinstance(e, ResponseToTU):
                assert isinstance(tx, ClientInviteTransaction | ClientNonInviteTransaction)
                out.append(ResponseReceived(e.response, tx))
            elif isinstance(e, TransactionTimeout | TransportError):
                if isinstance(e, TransactionTimeout) and e.timer == "L":
                    assert isinstance(tx, ServerInviteTransaction) and tx._last is not None
                    out.append(AckTimeout(tx.request, tx._last))
                elif isinstance(tx, ClientInviteTransaction | ClientNonInviteTransaction):
                    out.append(
                        TransactionFailed(
                            tx, "timeout" if isinstance(e, TransactionTimeout) else "transport"
                        )
                    )
            elif isinstance(e, TransactionTerminated):
                self._forget(tx)
        deadline = tx.next_deadline
        if deadline is not None and deadline != tx._queued:
            tx._queued = deadline
            heapq.heappush(self._heap, (deadline, next(self._seq), tx))
        return out

    def _forget(self, tx: Transaction) -> None:
        if isinstance(tx, ClientInviteTransaction | ClientNonInviteTransaction):
            ckey = cast(ClientKey | None, tx._key) or client_key(tx.request)
            self._clients.pop(ckey, None)
            return
        assert isinstance(tx, ServerInviteTransaction | ServerNonInviteTransaction)
        if self._accepted and type(tx) is ServerInviteTransaction and tx._last is not None:
            tag = tx._last.to_tag
            akey = (tx.request.call_id, tx.request.cseq.seq, tag or "")
            if self._accepted.get(akey) is tx:
                del self._accepted[akey]
        if tx._key is not None:
            skey, mkey = cast(tuple[ServerKey, tuple[str, str, int, str] | None], tx._key)
        else:
            skey, mkey = server_key(tx.request), merge_key(tx.request)
        if self._servers.get(skey) is tx:
            del self._servers[skey]
        if mkey is not None and self._merge.get(mkey) == skey:
            del self._merge[mkey]


def _tag(tx: ServerTransaction) -> str:
    """The To tag for responses the layer sends on behalf of the TU: the
    one the TU already used on this transaction, else one derived from the
    branch, so that the 200 to a CANCEL and the 487 carry the same tag
    (§9.2)."""
    last = tx._last if isinstance(tx, ServerInviteTransaction) else tx.last_response
    if last is not None and last.to_addr.tag:
        return last.to_addr.tag
    seed = f"{tx.request.top_via.branch}|{tx.request.call_id}".encode()
    return hashlib.sha256(seed).hexdigest()[:12]
