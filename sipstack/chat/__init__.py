"""``sipstack chat``: an interactive client on :class:`~sipstack.ua.Peer`.

``sipstack chat sip:alice@example.com`` signs in (the password comes from
``$SIPSTACK_PASSWORD`` or a prompt) and then reads lines: ``/msg bob hi``,
``/status away``, ``/call bob``, ``/join conv-team`` … (``/help`` lists
them), a plain line going to the conversation joined or the last contact
talked with.  Incoming messages, presence changes of watched contacts,
calls and conversation joins appear as status lines; errors in plain words.

At a terminal, lines are edited with readline and commands and contacts
complete with Tab.  From a pipe or a file the client reads a script and
exits at its end, once the messages still being sent have gone.
"""

from ._app import ChatOptions, run_chat
from ._client import ChatClient, explain
from ._terminal import Completer, clean

__all__ = ["ChatClient", "ChatOptions", "Completer", "clean", "explain", "run_chat"]
