"""sipstack: an asyncio SIP protocol stack with a sans-I/O core.

The message layer lives in :mod:`sipstack.message`; errors in
:mod:`sipstack.errors`.
"""

from .errors import SIPError, SIPParseError, SIPUsageError
from .message import Request, Response, parse

__version__ = "0.1.0"

__all__ = [
    "Request",
    "Response",
    "SIPError",
    "SIPParseError",
    "SIPUsageError",
    "__version__",
    "parse",
]
