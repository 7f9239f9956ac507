"""Presence bodies, sans-I/O: PIDF with RPID rich presence (RFC 3863,
RFC 4480), access-level filtering, watcher information (RFC 3857/3858),
is-composing indications (RFC 3994) and conference rosters (RFC 4575).

>>> from sipstack.presence import AccessLevel, Availability, Presence, decode, encode, filter_for
>>> doc = Presence("sip:alice@example.com", Availability.BUSY, note="In a call")
>>> body = encode(filter_for(doc, AccessLevel.PUBLIC))   # what a Public watcher gets
>>> decode(body).note is None
True

Every decoder takes untrusted bytes and either returns a document or raises
:class:`PresenceError`: DTDs and entities are refused, size, element count
and nesting are bounded, and only UTF-8 is read.  Documents are validated on
construction, so a document that exists can always be encoded.
"""

from ._access import VISIBILITY, AccessLevel, PresenceItem, filter_for, visible_items
from ._conference import (
    CONFERENCE_INFO_CONTENT_TYPE,
    ConferenceInfo,
    ConferenceInfoState,
    ConferenceUser,
    EndpointStatus,
    apply_update,
    decode_conference_info,
    encode_conference_info,
)
from ._errors import PresenceError, PresenceUsageError
from ._iscomposing import (
    ISCOMPOSING_CONTENT_TYPE,
    ComposingState,
    IsComposing,
    decode_iscomposing,
    encode_iscomposing,
)
from ._pidf import (
    DEFAULT_MAX_TUPLES,
    DEFAULT_TUPLE_ID,
    PIDF_CONTENT_TYPE,
    RPID_ACTIVITIES,
    SIPSTACK_PIDF_NS,
    Availability,
    Meeting,
    OutOfOffice,
    Presence,
    decode,
    encode,
)
from ._service import ACCESS_EVENT, Outgoing, PresenceService, SubscribeAnswer, aor_key
from ._winfo import (
    WATCHERINFO_CONTENT_TYPE,
    Watcher,
    WatcherEvent,
    WatcherInfo,
    WatcherInfoState,
    WatcherList,
    WatcherStatus,
    decode_watcherinfo,
    encode_watcherinfo,
)
from ._xml import DEFAULT_MAX_DEPTH, DEFAULT_MAX_ELEMENTS, DEFAULT_MAX_SIZE

__all__ = [
    "ACCESS_EVENT",
    "CONFERENCE_INFO_CONTENT_TYPE",
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_ELEMENTS",
    "DEFAULT_MAX_SIZE",
    "DEFAULT_MAX_TUPLES",
    "DEFAULT_TUPLE_ID",
    "ISCOMPOSING_CONTENT_TYPE",
    "PIDF_CONTENT_TYPE",
    "RPID_ACTIVITIES",
    "SIPSTACK_PIDF_NS",
    "VISIBILITY",
    "WATCHERINFO_CONTENT_TYPE",
    "AccessLevel",
    "Availability",
    "ComposingState",
    "ConferenceInfo",
    "ConferenceInfoState",
    "ConferenceUser",
    "EndpointStatus",
    "IsComposing",
    "Meeting",
    "OutOfOffice",
    "Outgoing",
    "Presence",
    "PresenceError",
    "PresenceItem",
    "PresenceService",
    "PresenceUsageError",
    "SubscribeAnswer",
    "Watcher",
    "WatcherEvent",
    "WatcherInfo",
    "WatcherInfoState",
    "WatcherList",
    "WatcherStatus",
    "aor_key",
    "apply_update",
    "decode",
    "decode_conference_info",
    "decode_iscomposing",
    "decode_watcherinfo",
    "encode",
    "encode_conference_info",
    "encode_iscomposing",
    "encode_watcherinfo",
    "filter_for",
    "visible_items",
]
