"""The user agent: :class:`Peer` signs in, sends and receives instant
messages, and places and answers calls; everything it learns arrives as
typed events."""

from ._call import Call, CallState
from ._events import (
    AuthenticationFailed,
    CallAnswered,
    CallEnded,
    CallFailed,
    CallProgress,
    CallUpdated,
    Event,
    IncomingCall,
    InfoReceived,
    MessageReceived,
    Registered,
    RegistrationFailed,
    RequestFailed,
    Unregistered,
)
from ._peer import Peer

__all__ = [
    "AuthenticationFailed",
    "Call",
    "CallAnswered",
    "CallEnded",
    "CallFailed",
    "CallProgress",
    "CallState",
    "CallUpdated",
    "Event",
    "IncomingCall",
    "InfoReceived",
    "MessageReceived",
    "Peer",
    "Registered",
    "RegistrationFailed",
    "RequestFailed",
    "Unregistered",
]
