"""The media type of a body, as the Peer compares them."""

from __future__ import annotations

from ..errors import SIPParseError
from ..message import parse_content_type

__all__ = ["mime_of"]


def mime_of(content_type: str | None) -> str:
    """``type/subtype`` of a Content-Type value in lower case ("" when it is
    absent or does not parse: such a body matches no type the Peer acts on)."""
    if not content_type:
        return ""
    try:
        return parse_content_type(content_type).mime
    except SIPParseError:
        return ""
