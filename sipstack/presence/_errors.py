"""The two exceptions of the presence package.

Everything this package refuses is a :class:`PresenceError`, so one
``except PresenceError`` covers it.  The subclass :class:`PresenceUsageError`
marks refusals caused by the local program rather than by a peer (a value no
XML 1.0 document can carry, a naive datetime); it is also a
:class:`~sipstack.errors.SIPUsageError`, the project's family for API misuse.
"""

from __future__ import annotations

from ..errors import SIPParseError, SIPUsageError

__all__ = ["PresenceError", "PresenceUsageError"]


class PresenceError(SIPParseError):
    """A presence-related XML body (PIDF, watcher-info, is-composing) is not
    acceptable.

    Decoders raise it, and nothing else, for every bad input: malformed XML,
    a wrong root element or namespace, a DTD or entity declaration, a body
    over the size limit (``status`` 413), too many or too deeply nested
    elements, non-UTF-8 bytes, unparsable timestamps or numbers.  A server
    answers a PUBLISH or NOTIFY carrying such a body with ``status``.
    """


class PresenceUsageError(PresenceError, SIPUsageError):
    """The local program built a document this package will not encode: a
    text containing a character XML 1.0 cannot carry (NUL, most C0 controls,
    lone surrogates, U+FFFE, U+FFFF), a naive datetime, an identifier with
    surrounding white space, and the like.  Raised on construction, so a
    document that exists can always be encoded."""
