"""The server: registrar, proxy, presence and conversations behind one
endpoint (``sipstack server``), and the roles it is made of."""

from ._app import (
    CONVERSATION_PREFIX,
    Server,
    ServerConfig,
    add_user,
    load_config,
    parse_hostport,
    run_server,
)
from ._focus import ConversationFocus
from ._presence import ACCESS_EVENT, PresenceServer
from ._proxy import Proxy
from ._registrar import Registrar, aor_of

__all__ = [
    "ACCESS_EVENT",
    "CONVERSATION_PREFIX",
    "ConversationFocus",
    "PresenceServer",
    "Proxy",
    "Registrar",
    "Server",
    "ServerConfig",
    "add_user",
    "aor_of",
    "load_config",
    "parse_hostport",
    "run_server",
]
