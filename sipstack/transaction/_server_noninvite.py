"""The non-INVITE server transaction, RFC 3261 §17.2.2 (Figure 8).

::

    request ──► Trying ──TU 1xx──► Proceeding ──TU 200-699──► Completed ──Timer J──► Terminated
                  │                   ▲  │ request: resend last 1xx    │ request: resend final
                  └──TU 200-699───────┼──┴─────────────► Completed     │
                                       └ TU 1xx                          ▼

Retransmitted requests are absorbed in Trying and answered with the last
response sent in Proceeding and Completed.  Timer J (64*T1 on unreliable
transports, zero on reliable ones) keeps the final response for
retransmitted requests.  A transport error terminates the transaction.
"""

from __future__ import annotations

from typing import ClassVar

from ..message import Request, Response, parse
from ._common import (
    DEFAULT_TIMERS,
    Events,
    MessageToSend,
    State,
    TimerConfig,
    Transaction,
)

__all__ = ["ServerNonInviteTransaction"]


class ServerNonInviteTransaction(Transaction):
    """Answers one non-INVITE request; the TU sends responses through it.

    >>> tx = ServerNonInviteTransaction(request, reliable=False)
    >>> events = tx.send_response(response, now)     # [MessageToSend(response)]
    >>> events = tx.receive_request(retransmission, now)
    """

    __slots__ = ("_last", "_last_raw", "_request", "_request_raw")

    # In Completed, which lasts Timer J (32 s on UDP), the transaction keeps
    # its request (as received) and its final response as bytes only: tens
    # of thousands of completed transactions are then a few flat objects
    # each instead of message trees the garbage collector has to walk.
    _request: Request | None
    _request_raw: bytes
    _last: Response | None
    _last_raw: bytes | None

    def __init__(
        self, request: Request, *, reliable: bool, timers: TimerConfig = DEFAULT_TIMERS
    ) -> None:
        if request.method in ("INVITE", "ACK"):
            raise ValueError(f"{request.method} does not use a non-INVITE server transaction")
        super().__init__(State.TRYING, reliable=reliable, timers=timers)
        self._request = request
        self._request_raw = b""
        self._last = None
        self._last_raw = None

    @property
    def request(self) -> Request:
        """The request this transaction answers."""
        req = self._request
        if req is None:
            parsed = parse(self._request_raw)
            assert isinstance(parsed, Request)
            return parsed
        return req

    @property
    def last_response(self) -> Response | None:
        """The last response sent on this transaction."""
        if self._last is None and self._last_raw is not None:
            parsed = parse(self._last_raw)
            assert isinstance(parsed, Response)
            return parsed
        return self._last

    def send_response(self, response: Response, now: float) -> Events:
        """The TU answers; a final response moves to Completed."""
        return self._fire("send_1xx" if response.status < 200 else "send_final", now, response)

    def receive_request(self, request: Request, now: float) -> Events:
        """A retransmission of the request matched this transaction."""
        return self._fire("request", now, request)

    # -- actions ---------------------------------------------------------------
    def _send(self, now: float, response: object) -> Events:
        assert isinstance(response, Response)
        self._last = response
        return [MessageToSend(response)]

    def _send_final(self, now: float, response: object) -> Events:
        events = self._send(now, response)
        if self.reliable:
            self._set("J", now)
        else:
            self._set("J", now + 64 * self.timers.t1)
            assert isinstance(response, Response)
            req = self.request
            # The bytes the request arrived as are already at hand (a
            # transport's Via stamp is left out); a request built locally
            # is serialised.
            self._request_raw = req._raw if req._raw is not None else bytes(req)
            self._last_raw = bytes(response)
            self._last = self._request = None
        return events

    def _resend(self, now: float, _: object) -> Events:
        last = self.last_response
        assert last is not None
        return [MessageToSend(last, retransmission=True)]

    _T, _P, _C, _X = State.TRYING, State.PROCEEDING, State.COMPLETED, State.TERMINATED
    TABLE: ClassVar[dict[tuple[State, str], tuple[str, State]]] = {
        (_T, "request"): ("absorb", _T),
        (_T, "send_1xx"): ("send", _P),
        (_T, "send_final"): ("send_final", _C),
        (_T, "transport_error"): ("transport_error", _X),
        (_P, "request"): ("resend", _P),
        (_P, "send_1xx"): ("send", _P),
        (_P, "send_final"): ("send_final", _C),
        (_P, "transport_error"): ("transport_error", _X),
        (_C, "request"): ("resend", _C),
        (_C, "timer_J"): ("absorb", _X),
        (_C, "transport_error"): ("transport_error", _X),
    }
    del _T, _P, _C, _X
