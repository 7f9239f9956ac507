"""RFC 3261 §17 transactions as sans-I/O state machines (time passed in).

The four machines of RFC 3261 Figures 5-8 with the RFC 6026 corrections.
with the keys that match messages to them (§17.1.3, §17.2.3, §8.2.2.2),
and the TransactionLayer that keeps them all: matching, CANCEL, merged
requests, one timer heap.  The asyncio endpoint that drives it follows.
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
from ._keys import client_key, merge_key, response_key, server_key
from ._layer import (
    AckReceived,
    AckTimeout,
    CancelReceived,
    ClientTransaction,
    Outgoing,
    RequestReceived,
    ResponseReceived,
    ServerTransaction,
    StrayResponse,
    TransactionFailed,
    TransactionLayer,
)
from ._server_invite import TRYING_DELAY, ServerInviteTransaction
from ._server_noninvite import ServerNonInviteTransaction

__all__ = [
    "DEFAULT_TIMERS",
    "TRYING_DELAY",
    "AckReceived",
    "AckTimeout",
    "CancelReceived",
    "ClientInviteTransaction",
    "ClientNonInviteTransaction",
    "ClientTransaction",
    "MessageToSend",
    "Outgoing",
    "RequestReceived",
    "ResponseReceived",
    "ResponseToTU",
    "ServerInviteTransaction",
    "ServerNonInviteTransaction",
    "ServerTransaction",
    "State",
    "StrayResponse",
    "TimerConfig",
    "Transaction",
    "TransactionError",
    "TransactionEvent",
    "TransactionFailed",
    "TransactionLayer",
    "TransactionTerminated",
    "TransactionTimeout",
    "TransportError",
    "ack_for",
    "client_key",
    "merge_key",
    "response_key",
    "server_key",
]
