"""The INVITE server transaction, RFC 3261 §17.2.1 (Figure 7) with the
RFC 6026 correction (the Accepted state and Timer L).

::

    INVITE ──► Proceeding ──TU 300-699──► Completed ──ACK──► Confirmed ──Timer I──► Terminated
                │ ▲ TU 1xx; INVITE: resend  │ ▲ Timer G / INVITE: resend final
                │ └──┘ 200 ms: 100 Trying   │ └──┘
                │                           └──Timer H (no ACK) ─────────────────► Terminated
                └──TU 2xx──► Accepted ──Timer L──► Terminated
                             │ ▲ Timer G2xx: resend the 2xx until the ACK
                             └──┘ (TU 2xx pass through; INVITEs absorbed)

If the TU has sent no provisional response 200 ms after the INVITE arrived,
the transaction answers 100 Trying itself (§17.2.1).  Timer G retransmits
the final response on unreliable transports, doubling up to T2; Timer H
(64*T1) gives up waiting for the ACK; Timer I (T4, zero on reliable
transports) absorbs retransmitted ACKs.
"""

from __future__ import annotations

from typing import ClassVar

from ..message import Request, Response, make_response
from ._common import (
    DEFAULT_TIMERS,
    Events,
    MessageToSend,
    State,
    TimerConfig,
    Transaction,
    TransactionTimeout,
)

__all__ = ["TRYING_DELAY", "ServerInviteTransaction"]

#: How long the TU may stay silent before the transaction sends 100 Trying.
TRYING_DELAY = 0.2


class ServerInviteTransaction(Transaction):
    """Answers an INVITE; the TU sends responses through it."""

    __slots__ = ("_interval", "_last", "acked", "request")

    def __init__(
        self, request: Request, *, reliable: bool, timers: TimerConfig = DEFAULT_TIMERS
    ) -> None:
        if request.method != "INVITE":
            raise ValueError(f"{request.method} does not use an INVITE server transaction")
        super().__init__(State.PROCEEDING, reliable=reliable, timers=timers)
        self.request = request
        self._interval = timers.t1
        self._last: Response | None = None
        #: Whether the ACK for a 2xx arrived (Accepted state).
        self.acked = False

    def start(self, now: float) -> Events:
        """The INVITE arrived at ``now``: arm the 100 Trying timer (once)."""
        self._start_once()
        self._set("Trying", now + TRYING_DELAY)
        return []

    def send_response(self, response: Response, now: float) -> Events:
        """The TU answers the INVITE."""
        s = response.status
        return self._fire(
            "send_1xx" if s < 200 else "send_2xx" if s < 300 else "send_final", now, response
        )

    def receive_request(self, request: Request, now: float) -> Events:
        """A retransmitted INVITE, or the ACK for a 300-699 response."""
        return self._fire("ack" if request.method == "ACK" else "request", now, request)

    # -- actions ---------------------------------------------------------------
    def _send(self, now: float, response: object) -> Events:
        assert isinstance(response, Response)
        self._cancel("Trying")
        self._last = response
        return [MessageToSend(response)]

    def _trying(self, now: float, _: object) -> Events:
        return self._send(now, make_response(self.request, 100))

    def _resend(self, now: float, _: object) -> Events:
        return [] if self._last is None else [MessageToSend(self._last, retransmission=True)]

    def _accept(self, now: float, response: object) -> Events:
        self._set("L", now + 64 * self.timers.t1)  # RFC 6026 §8.7
        self._set("G2xx", now + self._interval)
        return self._send(now, response)

    def _retransmit_2xx(self, now: float, _: object) -> Events:
        self._interval = min(2 * self._interval, self.timers.t2)
        self._set("G2xx", now + self._interval)
        return self._resend(now, None)

    def _ack_2xx(self, now: float, _: object) -> Events:
        self.acked = True
        self._cancel("G2xx")
        return []

    def _end_accepted(self, now: float, _: object) -> Events:
        return [] if self.acked else [TransactionTimeout("L")]

    def _reject(self, now: float, response: object) -> Events:
        if not self.reliable:
            self._set("G", now + self._interval)
        self._set("H", now + 64 * self.timers.t1)
        return self._send(now, response)

    def _retransmit(self, now: float, _: object) -> Events:
        self._interval = min(2 * self._interval, self.timers.t2)
        self._set("G", now + self._interval)
        return self._resend(now, None)

    def _confirm(self, now: float, _: object) -> Events:
        self._cancel("G", "H")
        self._set("I", now + (0.0 if self.reliable else self.timers.t4))
        return []

    def _no_ack(self, now: float, _: object) -> Events:
        return [TransactionTimeout("H")]

    _P, _C, _CF, _A, _X = (
        State.PROCEEDING,
        State.COMPLETED,
        State.CONFIRMED,
        State.ACCEPTED,
        State.TERMINATED,
    )
    TABLE: ClassVar[dict[tuple[State, str], tuple[str, State]]] = {
        (_P, "request"): ("resend", _P),
        (_P, "timer_Trying"): ("trying", _P),
        (_P, "send_1xx"): ("send", _P),
        (_P, "send_2xx"): ("accept", _A),
        (_P, "send_final"): ("reject", _C),
        (_P, "transport_error"): ("transport_error", _X),
        (_C, "request"): ("resend", _C),
        (_C, "timer_G"): ("retransmit", _C),
        (_C, "timer_H"): ("no_ack", _X),
        (_C, "ack"): ("confirm", _CF),
        (_C, "transport_error"): ("transport_error", _X),
        (_CF, "ack"): ("absorb", _CF),
        (_CF, "request"): ("absorb", _CF),
        (_CF, "timer_I"): ("absorb", _X),
        (_A, "request"): ("absorb", _A),
        (_A, "send_2xx"): ("send", _A),
        (_A, "ack"): ("ack_2xx", _A),
        (_A, "timer_G2xx"): ("retransmit_2xx", _A),
        (_A, "timer_L"): ("end_accepted", _X),
    }
    del _P, _C, _CF, _A, _X
