"""RFC 3261 §17 transactions as sans-I/O state machines (time passed in).

So far: the non-INVITE client and server transactions.  The INVITE pair,
matching (§17.1.3, §17.2.3) and the endpoint that drives them follow.
"""

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
from ._server_noninvite import ServerNonInviteTransaction

__all__ = [
    "DEFAULT_TIMERS",
    "ClientNonInviteTransaction",
    "MessageToSend",
    "ResponseToTU",
    "ServerNonInviteTransaction",
    "State",
    "TimerConfig",
    "Transaction",
    "TransactionError",
    "TransactionEvent",
    "TransactionTerminated",
    "TransactionTimeout",
    "TransportError",
]
