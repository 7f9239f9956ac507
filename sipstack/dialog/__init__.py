"""Sans-I/O dialogs (RFC 3261 §12): ids, route sets, CSeq spaces and the
requests sent inside a dialog."""

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

__all__ = [
    "TARGET_REFRESH",
    "Dialog",
    "DialogError",
    "DialogId",
    "DialogState",
    "cancel_for",
    "uac_dialog_id",
    "uas_dialog_id",
]
