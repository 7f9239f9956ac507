"""The asyncio SIP endpoint: transports, transactions, handlers and the
hook points interceptors attach to.

>>> async with Endpoint(listen=["udp:127.0.0.1:5060"]) as ep:
...     @ep.route("MESSAGE")
...     def on_message(incoming):
...         incoming.respond(200)
"""

from ._endpoint import KNOWN_METHODS, Endpoint, Handler, IncomingRequest
from ._hooks import Hook, HookPoint, MessageInfo, Verdict

__all__ = [
    "KNOWN_METHODS",
    "Endpoint",
    "Handler",
    "Hook",
    "HookPoint",
    "IncomingRequest",
    "MessageInfo",
    "Verdict",
]
