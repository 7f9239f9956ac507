"""The INVITE client transaction, RFC 3261 §17.1.1 (Figure 5) with the
RFC 6026 correction (the Accepted state and Timer M).

::

    start ──► Calling ──1xx──► Proceeding ──1xx──┐
                │ ▲ Timer A: retransmit   │ ◄────┘
                │ └──┘ (doubling)         │
                ├─300-699: ACK ───────────┴──300-699: ACK──► Completed ──Timer D──► Terminated
                ├─2xx ────────────────────┴──2xx───────────► Accepted ──Timer M──► Terminated
                └─Timer B / transport error ─────────────────────────────────────► Terminated

The transaction builds and sends the ACK for a 300-699 response itself
(§17.1.1.3) and re-sends it for each retransmission of that response; the
ACK for a 2xx belongs to the dialog, so every 2xx (retransmissions too)
goes to the TU while the transaction is Accepted.
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

__all__ = ["ClientInviteTransaction", "ack_for"]


def ack_for(invite: Request, response: Response) -> Request:
    """The ACK a client transaction sends for a 300-699 response
    (RFC 3261 §17.1.1.3): same Request-URI, Call-ID, From, CSeq number and
    Route set as the INVITE, the To of the response, and only the INVITE's
    top Via."""
    h = invite.headers
    lines = [
        ("Via", h.get_list("Via")[0]),
        ("Max-Forwards", "70"),
        ("From", h.get("From") or ""),
        ("To", response.headers.get("To") or ""),
        ("Call-ID", h.get("Call-ID") or ""),
        ("CSeq", f"{invite.cseq.seq} ACK"),
    ]
    lines += [("Route", v) for v in h.get_all("Route")]
    return Request("ACK", invite.uri, lines)


class ClientInviteTransaction(Transaction):
    """Sends an INVITE and collects its responses."""

    __slots__ = ("_ack", "_interval", "request")

    def __init__(
        self, request: Request, *, reliable: bool, timers: TimerConfig = DEFAULT_TIMERS
    ) -> None:
        if request.method != "INVITE":
            raise ValueError(f"{request.method} does not use an INVITE client transaction")
        super().__init__(State.CALLING, reliable=reliable, timers=timers)
        self.request = request
        self._interval = timers.t1
        self._ack: Request | None = None

    def start(self, now: float) -> Events:
        """Send the INVITE and start Timers A and B (once)."""
        self._start_once()
        return self._fire("start", now)

    def receive_response(self, response: Response, now: float) -> Events:
        """A response matched this transaction (§17.1.3)."""
        s = response.status
        return self._fire("1xx" if s < 200 else "2xx" if s < 300 else "final", now, response)

    # -- actions ---------------------------------------------------------------
    def _send(self, now: float, _: object) -> Events:
        if not self.reliable:
            self._set("A", now + self._interval)
        self._set("B", now + 64 * self.timers.t1)
        return [MessageToSend(self.request)]

    def _retransmit(self, now: float, _: object) -> Events:
        # §17.1.1.2: Timer A doubles each time, with no cap.
        self._interval *= 2
        self._set("A", now + self._interval)
        return [MessageToSend(self.request, retransmission=True)]

    def _provisional(self, now: float, response: object) -> Events:
        assert isinstance(response, Response)
        self._cancel("A", "B")
        return [ResponseToTU(response)]

    def _accepted(self, now: float, response: object) -> Events:
        assert isinstance(response, Response)
        self._cancel("A", "B")
        self._set("M", now + 64 * self.timers.t1)  # RFC 6026 §8.4
        return [ResponseToTU(response)]

    def _pass_2xx(self, now: float, response: object) -> Events:
        assert isinstance(response, Response)
        return [ResponseToTU(response)]

    def _reject(self, now: float, response: object) -> Events:
        assert isinstance(response, Response)
        self._cancel("A", "B")
        self._set("D", now + (0.0 if self.reliable else 32.0))  # §17.1.1.2: at least 32 s
        self._ack = ack_for(self.request, response)
        return [ResponseToTU(response), MessageToSend(self._ack)]

    def _resend_ack(self, now: float, _: object) -> Events:
        assert self._ack is not None
        return [MessageToSend(self._ack, retransmission=True)]

    def _timeout(self, now: float, _: object) -> Events:
        return [TransactionTimeout("B")]

    _CA, _P, _C, _A, _X = (
        State.CALLING,
        State.PROCEEDING,
        State.COMPLETED,
        State.ACCEPTED,
        State.TERMINATED,
    )
    TABLE: ClassVar[dict[tuple[State, str], tuple[str, State]]] = {
        (_CA, "start"): ("send", _CA),
        (_CA, "timer_A"): ("retransmit", _CA),
        (_CA, "timer_B"): ("timeout", _X),
        (_CA, "1xx"): ("provisional", _P),
        (_CA, "2xx"): ("accepted", _A),
        (_CA, "final"): ("reject", _C),
        (_CA, "transport_error"): ("transport_error", _X),
        (_P, "1xx"): ("provisional", _P),
        (_P, "2xx"): ("accepted", _A),
        (_P, "final"): ("reject", _C),
        (_P, "transport_error"): ("transport_error", _X),
        (_C, "final"): ("resend_ack", _C),
        (_C, "1xx"): ("absorb", _C),  # a late provisional
        (_C, "2xx"): ("pass_2xx", _C),  # a forked 2xx after a rejection: the TU ACKs and BYEs it
        (_C, "timer_D"): ("absorb", _X),
        (_C, "transport_error"): ("transport_error", _X),
        (_A, "2xx"): ("pass_2xx", _A),
        (_A, "1xx"): ("absorb", _A),
        (_A, "final"): ("absorb", _A),
        (_A, "timer_M"): ("absorb", _X),
    }
    del _CA, _P, _C, _A, _X
