"""The interceptor API: objects that see every message an endpoint sends and
receives, and the lifecycle events above it, in an ordered pipeline."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from typing import ClassVar

from ..endpoint import Endpoint, HookPoint, MessageInfo, Verdict
from ..message import Request, Response

__all__ = ["Interceptor", "Pipeline"]

log = logging.getLogger("sipstack.interceptors")


class Interceptor:
    """Subclass and override :meth:`on_message` and/or :meth:`on_event`.

    ``on_message`` is called for every message at the ``points`` the class
    lists (by default on the wire, in and out, retransmissions included —
    see :class:`~sipstack.endpoint.MessageInfo`).  It may change the message
    in place, and returns what the endpoint's hooks return: ``None`` (go
    on), ``False`` (stop it silently), or a status code or response that
    stops an incoming request and answers it.

    ``on_event`` gets the lifecycle events above the messages (the Peer's
    typed events: registration, calls, subscriptions, presence,
    conversations).

    An interceptor that raises is logged and counted; with ``fail_closed``
    the message is stopped (an incoming request answered 500), otherwise it
    goes on.
    """

    #: Where ``on_message`` is called.
    points: ClassVar[tuple[HookPoint, ...]] = (HookPoint.WIRE_IN, HookPoint.WIRE_OUT)
    #: Stop the message when this interceptor fails (for example, an archive
    #: the administrator made mandatory).
    fail_closed: bool = False

    @property
    def name(self) -> str:
        """A name for logs and counters."""
        return type(self).__name__

    def on_message(self, message: Request | Response, info: MessageInfo) -> Verdict:
        """See every message; return a verdict."""
        return None

    def on_event(self, event: object) -> None:
        """See a lifecycle event."""

    def close(self) -> None:
        """Release what the interceptor holds (files …)."""

    def __call__(self, message: Request | Response, info: MessageInfo) -> Verdict:
        return self.on_message(message, info)


class Pipeline:
    """The ordered interceptors of one endpoint."""

    def __init__(self, endpoint: Endpoint, interceptors: Iterable[Interceptor] = ()) -> None:
        self.endpoint = endpoint
        self.interceptors: list[Interceptor] = []
        #: Failures of ``on_event`` by interceptor name (message-level
        #: failures are counted by the endpoint as ``hook_errors``).
        self.errors: Counter[str] = Counter()
        for interceptor in interceptors:
            self.add(interceptor)

    def add(self, interceptor: Interceptor) -> None:
        """Append ``interceptor``: it runs after those added before."""
        self.interceptors.append(interceptor)
        # The bound method, not the object: one call less per message.
        for point in interceptor.points:
            self.endpoint.add_hook(point, interceptor.on_message)

    def event(self, event: object) -> None:
        """Give a lifecycle event to every interceptor, in order; a failing
        one is logged and counted, the others still see it."""
        for interceptor in self.interceptors:
            try:
                interceptor.on_event(event)
            except Exception:
                self.errors[interceptor.name] += 1
                log.exception("interceptor %s failed on %s", interceptor.name, type(event).__name__)

    def close(self) -> None:
        """Close every interceptor."""
        for interceptor in self.interceptors:
            try:
                interceptor.close()
            except Exception:
                log.exception("interceptor %s failed to close", interceptor.name)
