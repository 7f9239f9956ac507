"""Server-side roles built on the endpoint.  So far: the conversation focus
that hosts multi-party instant-message conversations."""

from ._focus import ConversationFocus

__all__ = ["ConversationFocus"]
