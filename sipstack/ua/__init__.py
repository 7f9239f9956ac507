"""The user agent: :class:`Peer` signs in, sends and receives instant
messages, and places and answers calls; everything it learns arrives as
typed events."""

from ._call import CONTROL_CONTENT_TYPE, CONTROL_PACKAGE, Call, CallState
from ._conversation import Conversation
from ._events import (
    AuthenticationFailed,
    CallAnswered,
    CallEnded,
    CallFailed,
    CallProgress,
    CallUpdated,
    ComposingChanged,
    ControlChanged,
    ConversationEnded,
    Event,
    IncomingCall,
    InfoReceived,
    MessageReceived,
    NotifyReceived,
    ParticipantJoined,
    ParticipantLeft,
    PresenceChanged,
    Registered,
    RegistrationFailed,
    RequestFailed,
    SubscriptionEnded,
    Unregistered,
    WatchersChanged,
)
from ._peer import Peer
from ._presence import PresenceAgent, Subscription

__all__ = [
    "CONTROL_CONTENT_TYPE",
    "CONTROL_PACKAGE",
    "AuthenticationFailed",
    "Call",
    "CallAnswered",
    "CallEnded",
    "CallFailed",
    "CallProgress",
    "CallState",
    "CallUpdated",
    "ComposingChanged",
    "ControlChanged",
    "Conversation",
    "ConversationEnded",
    "Event",
    "IncomingCall",
    "InfoReceived",
    "MessageReceived",
    "NotifyReceived",
    "ParticipantJoined",
    "ParticipantLeft",
    "Peer",
    "PresenceAgent",
    "PresenceChanged",
    "Registered",
    "RegistrationFailed",
    "RequestFailed",
    "Subscription",
    "SubscriptionEnded",
    "Unregistered",
    "WatchersChanged",
]
