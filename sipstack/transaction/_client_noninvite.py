"""The non-INVITE client transaction, RFC 3261 §17.1.2 (Figure 6).

::

    start ──► Trying ──1xx──► Proceeding ──200-699──► Completed ──Timer K──► Terminated
                │  ▲ Timer E: retransmit   │  ▲ Timer E: retransmit (every T2)
                │  └──────┘                │  └──────┘
                ├─200-699──► Completed     │
                └─Timer F / transport error ┴──────────────────────────────► Terminated

Timer E retransmits the request on unreliable transports only, doubling
from T1 up to T2 (in Proceeding: every T2).  Timer F (64*T1) ends the
transaction with a timeout.  Timer K (T4 on unreliable transports, zero on
reliable ones) absorbs retransmitted responses in Completed.
"""

from __future__ import annotations

from typing import ClassVar

from ..message import Request, Response
from ._common import (
    DEFAULT_TIMERS,
    Events,
    MessageToSend,
    ResponseToTU,
    State,
    TimerConfig,
    Transaction,
    TransactionTimeout,
)

__all__ = ["ClientNonInviteTransaction"]


class ClientNonInviteTransaction(Transaction):
    """Sends one non-INVITE request and collects its responses.

    >>> tx = ClientNonInviteTransaction(request, reliable=False)
    >>> events = tx.start(now)                 # [MessageToSend(request)]
    >>> events = tx.receive_response(resp, now)
    >>> events = tx.handle_timer(now)          # when now >= tx.next_deadline
    """

    __slots__ = ("_interval", "request")

    def __init__(
        self, request: Request, *, reliable: bool, timers: TimerConfig = DEFAULT_TIMERS
    ) -> None:
        if request.method in ("INVITE", "ACK"):
            raise ValueError(f"{request.method} does not use a non-INVITE client transaction")
        super().__init__(State.TRYING, reliable=reliable, timers=timers)
        self.request = request
        self._interval = timers.t1

    def start(self, now: float) -> Events:
        """Send the request and start Timers E and F (once)."""
        self._start_once()
        return self._fire("start", now)

    def receive_response(self, response: Response, now: float) -> Events:
        """A response matched this transaction (§17.1.3)."""
        return self._fire("1xx" if response.status < 200 else "final", now, response)

    # -- actions ---------------------------------------------------------------
    def _send(self, now: float, _: object) -> Events:
        if not self.reliable:
            self._set("E", now + self._interval)
        self._set("F", now + 64 * self.timers.t1)
        return [MessageToSend(self.request)]

    def _retransmit(self, now: float, _: object) -> Events:
        # §17.1.2.2: doubling up to T2 in Trying, T2 in Proceeding.
        if self.state is State.TRYING:
            self._interval = min(2 * self._interval, self.timers.t2)
        else:
            self._interval = self.timers.t2
        self._set("E", now + self._interval)
        return [MessageToSend(self.request, retransmission=True)]

    def _provisional(self, now: float, response: object) -> Events:
        assert isinstance(response, Response)
        if self.state is State.TRYING and not self.reliable:
            # Entering Proceeding: from now on retransmit every T2.
            self._interval = self.timers.t2
        return [ResponseToTU(response)]

    def _final(self, now: float, response: object) -> Events:
        assert isinstance(response, Response)
        self._cancel("E", "F")
        self._set("K", now + (0.0 if self.reliable else self.timers.t4))
        return [ResponseToTU(response)]

    def _timeout(self, now: float, _: object) -> Events:
        return [TransactionTimeout("F")]

    _T, _P, _C, _X = State.TRYING, State.PROCEEDING, State.COMPLETED, State.TERMINATED
    TABLE: ClassVar[dict[tuple[State, str], tuple[str, State]]] = {
        (_T, "start"): ("send", _T),
        (_T, "timer_E"): ("retransmit", _T),
        (_T, "1xx"): ("provisional", _P),
        (_T, "final"): ("final", _C),
        (_T, "timer_F"): ("timeout", _X),
        (_T, "transport_error"): ("transport_error", _X),
        (_P, "timer_E"): ("retransmit", _P),
        (_P, "1xx"): ("provisional", _P),
        (_P, "final"): ("final", _C),
        (_P, "timer_F"): ("timeout", _X),
        (_P, "transport_error"): ("transport_error", _X),
        (_C, "1xx"): ("absorb", _C),
        (_C, "final"): ("absorb", _C),
        (_C, "timer_K"): ("absorb", _X),
    }
    del _T, _P, _C, _X
