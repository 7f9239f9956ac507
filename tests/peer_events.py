"""Helpers for tests that drive Peers: wait for an event of a kind, and a
peer's own address on one of its listeners."""

from __future__ import annotations

import time
from typing import TypeVar

from sipstack.ua import Peer

E = TypeVar("E")


async def expect(peer: Peer, kind: type[E], timeout: float = 10.0) -> E:
    """The next event of ``kind`` (others before it are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        event = await peer.next_event(max(0.01, deadline - time.monotonic()))
        if isinstance(event, kind):
            return event


def address(peer: Peer, user: str, transport: str = "UDP") -> str:
    """``sip:user@host:port`` of the peer's listener for ``transport``."""
    lst = peer.endpoint.listener(transport)
    host, port = lst.local[0], lst.local[1]
    scheme = "sips" if transport == "TLS" else "sip"
    tparam = ";transport=tcp" if transport == "TCP" else ""
    return f"{scheme}:{user}@{host}:{port}{tparam}"
