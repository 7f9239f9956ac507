"""Small things the server's roles share."""

from __future__ import annotations

from ..endpoint import IncomingRequest

__all__ = ["local_contact"]


def local_contact(incoming: IncomingRequest, user: str | None = None) -> str:
    """A Contact URI (in brackets) for this server on the flow ``incoming``
    came on: its local address, with ``transport=tcp`` for TCP and
    ``sips`` for TLS."""
    host, port = incoming.flow.local
    shown = f"[{host}]" if ":" in host else host
    transport = incoming.flow.transport
    scheme = "sips" if transport == "TLS" else "sip"
    tparam = ";transport=tcp" if transport == "TCP" else ""
    userpart = f"{user}@" if user else ""
    return f"<{scheme}:{userpart}{shown}:{port}{tparam}>"
