"""What every transaction state machine shares: timer configuration, the
events a transaction hands out, and the timer bookkeeping.

Theory of operation
-------------------
A transaction never reads the clock and never sends anything.  Each entry
point takes ``now`` (seconds, any monotonic origin) and returns a list of
events for the caller: messages to hand to the transport, results for the
transaction user (TU).  Timers are deadlines kept inside the transaction;
the caller asks :attr:`Transaction.next_deadline`, schedules one wake-up
(``loop.call_at``), and calls :meth:`Transaction.handle_timer` then.  Every
RFC 3261 timer is thereby testable in microseconds with a fake clock.

Each machine is a table ``{(state, input): (action, next_state)}`` named
after RFC 3261 Figures 5-8 (with the RFC 6026 corrections); an input that is
not in the table for the current state is an error, never a silent no-op.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from ..errors import SIPUsageError
from ..message import Request, Response

__all__ = [
    "DEFAULT_TIMERS",
    "MessageToSend",
    "ResponseToTU",
    "State",
    "TimerConfig",
    "Transaction",
    "TransactionError",
    "TransactionEvent",
    "TransactionTerminated",
    "TransactionTimeout",
    "TransportError",
]


@dataclass(frozen=True, slots=True)
class TimerConfig:
    """RFC 3261 §17.1.1.1 timer values, in seconds.

    ``t1``: RTT estimate (500 ms); ``t2``: longest retransmit interval for
    non-INVITE requests and INVITE responses (4 s); ``t4``: longest time a
    message stays in the network (5 s).
    """

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0

    def __post_init__(self) -> None:
        if not 0 < self.t1 <= self.t2:
            raise SIPUsageError("timers need 0 < T1 <= T2")
        if self.t4 <= 0:
            raise SIPUsageError("T4 must be positive")


DEFAULT_TIMERS = TimerConfig()


class State(enum.Enum):
    """Transaction states of RFC 3261 §17 (and RFC 6026 ``ACCEPTED``)."""

    CALLING = "Calling"
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"


@dataclass(slots=True)
class MessageToSend:
    """Hand ``message`` to the transport (first sending or retransmission)."""

    message: Request | Response
    retransmission: bool = False


@dataclass(slots=True)
class ResponseToTU:
    """A response for the transaction user (client transactions)."""

    response: Response


@dataclass(slots=True)
class TransactionTimeout:
    """Timer B or F fired: the TU treats it as a 408 (RFC 3261 §8.1.3.1)."""

    timer: str


@dataclass(slots=True)
class TransportError:
    """The transport could not send: the TU treats it as a 503 (§8.1.3.1)."""

    reason: str


@dataclass(slots=True)
class TransactionTerminated:
    """The transaction reached Terminated; the caller can forget it."""


TransactionEvent = (
    MessageToSend | ResponseToTU | TransactionTimeout | TransportError | TransactionTerminated
)


class TransactionError(SIPUsageError):
    """An input the current state does not accept (for example a final
    response sent twice by the TU)."""


Events = list[TransactionEvent]


class Transaction:
    """Base of the four state machines: state, table dispatch and timers."""

    __slots__ = (
        "_deadlines",
        "_key",
        "_next",
        "_queued",
        "_started",
        "context",
        "reliable",
        "state",
        "timers",
    )

    #: ``{(state, input): (action, next_state)}``: each subclass's table;
    #: ``action`` names a method ``_<action>(now, arg) -> events``.
    TABLE: ClassVar[dict[tuple[State, str], tuple[str, State]]] = {}
    # TABLE with the action names resolved to functions, once per class.
    _RESOLVED: ClassVar[dict[tuple[State, str], tuple[Callable[..., Events], State]]] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls._RESOLVED = {k: (getattr(cls, "_" + a), s) for k, (a, s) in cls.TABLE.items()}

    def __init__(self, state: State, *, reliable: bool, timers: TimerConfig) -> None:
        self.state = state
        self.reliable = reliable
        self.timers = timers
        self._deadlines: dict[str, float] = {}
        self._next: float | None = None
        self._started = False
        #: Whatever the layer's user attaches (the endpoint keeps the flow
        #: a request came on, or where a request goes); never read here.
        self.context: object = None
        # Kept by the TransactionLayer: the table keys of this transaction
        # and the deadline it last queued in the timer heap.
        self._key: object = None
        self._queued: float | None = None

    def _start_once(self) -> None:
        if self._started:
            raise TransactionError("the transaction was already started")
        self._started = True

    @property
    def terminated(self) -> bool:
        """True once the transaction reached Terminated."""
        return self.state is State.TERMINATED

    @property
    def next_deadline(self) -> float | None:
        """The earliest pending timer deadline, or None."""
        return self._next

    def pending_timers(self) -> dict[str, float]:
        """Timer name -> deadline, for inspection and tests."""
        return dict(self._deadlines)

    def _fire(self, inp: str, now: float, arg: object = None) -> Events:
        try:
            action, next_state = self._RESOLVED[self.state, inp]
        except KeyError:
            raise TransactionError(
                f"{type(self).__name__}: input {inp!r} is not valid in state {self.state.value}"
            ) from None
        events: Events = action(self, now, arg)
        if next_state is not self.state:
            self.state = next_state
            if next_state is State.TERMINATED:
                self._deadlines.clear()
                self._next = None
                events.append(TransactionTerminated())
        return events

    def handle_timer(self, now: float) -> Events:
        """Fire every timer whose deadline is at or before ``now``, earliest
        first, and return the resulting events."""
        events: Events = []
        while self._deadlines:
            name, deadline = min(self._deadlines.items(), key=lambda kv: kv[1])
            if deadline > now:
                break
            del self._deadlines[name]
            self._next = min(self._deadlines.values()) if self._deadlines else None
            events += self._fire("timer_" + name, deadline)
        return events

    def transport_error(self, now: float, reason: str) -> Events:
        """The transport failed to send; the transaction terminates."""
        return self._fire("transport_error", now, reason)

    # -- actions every machine's table uses ----------------------------------
    def _absorb(self, now: float, _: object) -> Events:
        return []

    def _transport_error(self, now: float, reason: object) -> Events:
        return [TransportError(str(reason))]

    # -- helpers for the tables ---------------------------------------------
    def _set(self, name: str, deadline: float) -> None:
        d = self._deadlines
        d[name] = deadline
        nxt = self._next
        if nxt is None or deadline < nxt or len(d) == 1:
            self._next = deadline
        else:
            self._next = min(d.values())

    def _cancel(self, *names: str) -> None:
        d = self._deadlines
        for name in names:
            d.pop(name, None)
        self._next = min(d.values()) if d else None
