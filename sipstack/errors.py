"""The error contract of sipstack.

Two families, as in h11: input from a peer that breaks the protocol raises
:class:`SIPParseError` (or a subclass), which carries the status code a server
should answer with; misuse of the API by the local program raises
:class:`SIPUsageError`.  Receiving data may raise nothing else.
"""

from __future__ import annotations

__all__ = [
    "BadExtension",
    "BodyTooLarge",
    "HeaderError",
    "MessageTooLarge",
    "SIPError",
    "SIPParseError",
    "SIPUsageError",
    "TooManyHeaders",
    "URITooLong",
    "UnsupportedURIScheme",
    "VersionNotSupported",
]


class SIPError(Exception):
    """Base class of every exception sipstack raises on purpose."""


class SIPParseError(SIPError):
    """A peer sent something that is not valid SIP.

    ``status`` and ``reason`` are the response a server should answer with
    (when the message parsed far enough to build a response at all).
    """

    status: int = 400
    reason: str = "Bad Request"

    def __init__(
        self, message: str, *, status: int | None = None, reason: str | None = None
    ) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        if reason is not None:
            self.reason = reason

    @property
    def detail(self) -> str:
        """The human-readable explanation (also ``str(exc)``)."""
        return str(self.args[0]) if self.args else ""


class HeaderError(SIPParseError):
    """A header value does not follow its grammar."""

    def __init__(self, header: str, message: str) -> None:
        super().__init__(f"bad {header} header: {message}")
        self.header = header


class TooManyHeaders(SIPParseError):
    """The message has more header lines than the configured limit."""

    reason = "Too Many Headers"


class MessageTooLarge(SIPParseError):
    """The whole message (or its header section) exceeds the size limit."""

    status = 513
    reason = "Message Too Large"


class BodyTooLarge(SIPParseError):
    """The declared body is larger than the configured limit."""

    status = 413
    reason = "Request Entity Too Large"


class URITooLong(SIPParseError):
    """The Request-URI exceeds the configured length limit."""

    status = 414
    reason = "Request-URI Too Long"


class UnsupportedURIScheme(SIPParseError):
    """The Request-URI has a scheme this element does not serve."""

    status = 416
    reason = "Unsupported URI Scheme"


class BadExtension(SIPParseError):
    """The request requires (Require / Proxy-Require) unsupported extensions."""

    status = 420
    reason = "Bad Extension"

    def __init__(self, unsupported: list[str]) -> None:
        super().__init__("unsupported extensions: " + ", ".join(unsupported))
        self.unsupported = list(unsupported)


class VersionNotSupported(SIPParseError):
    """The request uses a SIP version other than SIP/2.0."""

    status = 505
    reason = "Version Not Supported"


class SIPUsageError(SIPError, ValueError):
    """The local program used the API wrongly (for example, a header value
    containing CR or LF, which would allow header injection)."""
