"""Sans-I/O dialogs (RFC 3261 §12): ids, route sets, CSeq spaces and the
requests sent inside a dialog; RFC 6665 subscriptions on both ends."""

from ._dialog import (
    TARGET_REFRESH,
    Dialog,
    DialogError,
    DialogId,
    DialogState,
    cancel_for,
    uac_dialog_id,
    uas_dialog_id,
)
from ._subscription import (
    NO_RETRY_REASONS,
    Notification,
    Notifier,
    Subscriber,
    SubscriptionStatus,
)

__all__ = [
    "NO_RETRY_REASONS",
    "TARGET_REFRESH",
    "Dialog",
    "DialogError",
    "DialogId",
    "DialogState",
    "Notification",
    "Notifier",
    "Subscriber",
    "SubscriptionStatus",
    "cancel_for",
    "uac_dialog_id",
    "uas_dialog_id",
]
