"""RFC 3261 §17 transactions as sans-I/O state machines (time passed in).

The four machines of RFC 3261 Figures 5-8 with the RFC 6026 corrections.
Matching (§17.1.3, §17.2.3) and the endpoint that drives them follow.
"""

from ._client_invite import ClientInviteTransaction, ack_for
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
from ._server_invite import TRYING_DELAY, ServerInviteTransaction
from ._server_noninvite import ServerNonInviteTransaction

__all__ = [
    "DEFAULT_TIMERS",
    "TRYING_DELAY",
    "ClientInviteTransaction",
    "ClientNonInviteTransaction",
    "MessageToSend",
    "ResponseToTU",
    "ServerInviteTransaction",
    "ServerNonInviteTransaction",
    "State",
    "TimerConfig",
    "Transaction",
    "TransactionError",
    "TransactionEvent",
    "TransactionTerminated",
    "TransactionTimeout",
    "TransportError",
    "ack_for",
]
