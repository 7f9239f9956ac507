"""The sans-I/O SIP message layer: parsing, serialising, typed header views,
URIs and stream framing.  Nothing here opens a socket or reads the clock.

>>> from sipstack.message import parse
>>> msg = parse(data)            # bytes -> Request | Response
>>> msg.call_id, msg.top_via.branch, msg.cseq.seq
>>> bytes(msg) == data           # an untouched message serialises exactly
"""

from ..errors import (
    BadExtension,
    BodyTooLarge,
    HeaderError,
    MessageTooLarge,
    SIPParseError,
    SIPUsageError,
    TooManyHeaders,
    UnsupportedURIScheme,
    URITooLong,
    VersionNotSupported,
)
from ._address import Address, parse_address
from ._build import (
    error_response,
    make_request,
    make_response,
    new_branch,
    new_call_id,
    new_tag,
)
from ._cpim import CPIM_CONTENT_TYPE, CPIMError, CPIMMessage, decode_cpim, encode_cpim
from ._framer import Ping, Pong, StreamFramer
from ._headers import COMPACT_FORMS, Headers, canonical_name
from ._lex import Params, parse_params, quote, split_commas, unquote
from ._limits import DEFAULT_LIMITS, Limits
from ._message import ACCELERATED, REASON_PHRASES, Message, Request, Response, parse
from ._uri import URI, AbsoluteURI, SipURI, TelURI, parse_uri
from ._values import (
    AuthHeader,
    ContentType,
    CSeq,
    Event,
    RetryAfter,
    SubscriptionState,
    Via,
    format_date,
    parse_auth,
    parse_content_type,
    parse_cseq,
    parse_date,
    parse_event,
    parse_retry_after,
    parse_subscription_state,
    parse_via,
)

__all__ = [
    "ACCELERATED",
    "COMPACT_FORMS",
    "CPIM_CONTENT_TYPE",
    "DEFAULT_LIMITS",
    "REASON_PHRASES",
    "URI",
    "AbsoluteURI",
    "Address",
    "AuthHeader",
    "BadExtension",
    "BodyTooLarge",
    "CPIMError",
    "CPIMMessage",
    "CSeq",
    "ContentType",
    "Event",
    "HeaderError",
    "Headers",
    "Limits",
    "Message",
    "MessageTooLarge",
    "Params",
    "Ping",
    "Pong",
    "Request",
    "Response",
    "RetryAfter",
    "SIPParseError",
    "SIPUsageError",
    "SipURI",
    "StreamFramer",
    "SubscriptionState",
    "TelURI",
    "TooManyHeaders",
    "URITooLong",
    "UnsupportedURIScheme",
    "VersionNotSupported",
    "Via",
    "canonical_name",
    "decode_cpim",
    "encode_cpim",
    "error_response",
    "format_date",
    "make_request",
    "make_response",
    "new_branch",
    "new_call_id",
    "new_tag",
    "parse",
    "parse_address",
    "parse_auth",
    "parse_content_type",
    "parse_cseq",
    "parse_date",
    "parse_event",
    "parse_params",
    "parse_retry_after",
    "parse_subscription_state",
    "parse_uri",
    "parse_via",
    "quote",
    "split_commas",
    "unquote",
]
