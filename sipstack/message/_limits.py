"""Hard limits applied to every message the parser and the framer see."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_LIMITS", "Limits"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on untrusted input.  Every field has a default a server can live
    with; lower them to shed load, raise them for unusual deployments.

    ``max_message_size``
        Whole message, start line to the end of the body (513 when exceeded).
    ``max_header_lines``
        Lines in the header section, folded continuation lines included.
    ``max_line_length``
        Longest single line of the header section, in characters.
    ``max_uri_length``
        Longest Request-URI (414 when exceeded).
    ``max_body_size``
        Largest body a Content-Length may declare (413 when exceeded).
    """

    max_message_size: int = 65_535
    max_header_lines: int = 128
    max_line_length: int = 8_192
    max_uri_length: int = 4_096
    max_body_size: int = 65_535


DEFAULT_LIMITS = Limits()
