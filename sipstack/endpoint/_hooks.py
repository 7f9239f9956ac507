"""The points where an endpoint lets interceptors see and steer messages.

Four message points, in the order a message passes them::

    network -> WIRE_IN -> transactions -> TU_IN  -> handlers / callers
    network <- WIRE_OUT <- transactions <- TU_OUT <- handlers / callers

``WIRE_*`` see every message on the wire, retransmissions included;
``TU_*`` see what the transaction layer exchanges with the application,
once per message.  Lifecycle events (a transaction completed) arrive at
:data:`HookPoint.TRANSACTION_DONE`.  The interceptor pipeline builds on
these; a plain callable is enough to use them directly.
"""

from __future__ import annotations

import enum
from typing import NamedTuple, Protocol

from ..message import Request, Response

__all__ = ["Hook", "HookPoint", "MessageInfo", "Verdict"]


class HookPoint(enum.Enum):
    """Where in the endpoint a hook is called."""

    # Hooks are looked up by point on every message: the identity hash is
    # computed in C, Enum's own __hash__ is a Python call.
    __hash__ = object.__hash__

    WIRE_IN = "wire-in"
    TU_IN = "tu-in"
    TU_OUT = "tu-out"
    WIRE_OUT = "wire-out"
    TRANSACTION_DONE = "transaction-done"


class MessageInfo(NamedTuple):
    """What a hook learns besides the message itself.

    ``direction`` is ``"in"`` or ``"out"``; ``local`` and ``remote`` are
    ``(host, port)`` (``None`` when not known yet, e.g. at ``TU_OUT``);
    ``time`` is wall-clock seconds since the epoch; ``retransmission`` is
    true for a message the transaction layer sends again.  At
    ``TRANSACTION_DONE`` the message is the request and ``final`` its final
    response (``None`` when it failed without one).

    Immutable; a named tuple rather than a frozen dataclass because one is
    made for every message a hook sees, and this one is made in C.
    """

    point: HookPoint
    direction: str
    transport: str | None
    local: tuple[str, int] | None
    remote: tuple[str, int] | None
    time: float
    retransmission: bool = False
    final: Response | None = None


#: What a hook returns: ``None`` or ``True`` lets the message go on;
#: ``False`` stops it silently; a status code or a :class:`Response` stops
#: an inbound request and answers it with that.
Verdict = bool | int | Response | None


class Hook(Protocol):
    """A callable hook.  It may set ``fail_closed = True`` as an attribute:
    when such a hook raises, the message is stopped (an inbound request is
    answered 500); otherwise the error is logged and counted and the
    message goes on."""

    def __call__(self, message: Request | Response, info: MessageInfo) -> Verdict:
        """Inspect (and possibly modify) ``message``; return a verdict."""
