"""Adapters giving every SIP parser under benchmark the same small interface.

Each adapter wraps one implementation (sipstack itself or a Python SIP parser
from PyPI) and offers three operations:

``touch(data)``
    Parse ``data`` and read the fields a proxy needs to route or match a
    transaction: Call-ID, top Via branch and host, CSeq number and method.
``full(data)``
    Parse ``data`` and read every header the library exposes as a typed or
    parsed value, forcing any lazy parsing to actually run.
``serializer(data)``
    Parse ``data`` once and return a zero-argument callable that re-serializes
    the unmodified message to bytes (so only serialization is timed), or
    ``None`` when the library cannot serialize.

Libraries are imported lazily, when an adapter is constructed, so a missing
one is reported as "not installed" instead of breaking the run.  Modules are
held as ``Any`` because most competitors ship no type information.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import io
import logging
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

TouchResult = tuple[str, str | None, str, int, str]
"""(call_id, top Via branch, top Via host, CSeq number, CSeq method)."""


class Adapter(ABC):
    """Common interface of one SIP parser implementation."""

    name: ClassVar[str]
    """Display name in the results table."""
    distribution: ClassVar[str]
    """Distribution name, used to look up the installed version."""
    notes: ClassVar[str]
    """What the adapter calls and what the library does not parse."""

    def __init__(self) -> None:
        """Import the library (raising ImportError if absent) and record its version."""
        self._load()
        try:
            self.version = importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            self.version = "source tree"

    @abstractmethod
    def _load(self) -> None:
        """Import the modules the adapter needs."""

    @abstractmethod
    def touch(self, data: bytes) -> TouchResult:
        """Parse ``data`` and read the transaction-matching fields."""

    @abstractmethod
    def full(self, data: bytes) -> object:
        """Parse ``data`` and read every typed header the library offers."""

    def serializer(self, data: bytes) -> Callable[[], bytes] | None:
        """Parse ``data`` once; return a callable that re-serializes it, or None."""
        return None

    def serialize(self, data: bytes) -> bytes | None:
        """Parse and re-serialize ``data``; None when serialization is unsupported."""
        fn = self.serializer(data)
        return None if fn is None else fn()


# --- sipstack -----------------------------------------------------------------


class SipstackAdapter(Adapter):
    """This project's parser, ``sipstack.message.parse``."""

    name = "sipstack"
    distribution = "sipstack"
    notes = (
        "parse(bytes) -> Request|Response; lazy typed accessors (top_via, cseq, vias, "
        "from_addr, ...); bytes(m) returns the original bytes for an unmodified message."
    )

    def _load(self) -> None:
        self._parse: Any = importlib.import_module("sipstack.message").parse

    def touch(self, data: bytes) -> TouchResult:
        m = self._parse(data)
        v = m.top_via
        cseq = m.cseq
        return m.call_id, v.branch, v.host, cseq.seq, cseq.method

    def full(self, data: bytes) -> object:
        # validate() parses every typed header completely (Via parameters,
        # which the views otherwise read lazily, included) and checks the
        # cross-header rules; the reads below then come from its cache.
        m = self._parse(data).validate()
        vias = [(v.transport, v.host, v.port, v.branch) for v in m.vias]
        fa, ta = m.from_addr, m.to_addr
        out: list[object] = [
            m.call_id,
            m.cseq.seq,
            m.cseq.method,
            vias,
            (fa.display_name, fa.uri.host, fa.tag),
            (ta.display_name, ta.uri.host, ta.tag),
            [a.uri.host for a in m.contacts],
            [a.uri.host for a in m.routes],
            [a.uri.host for a in m.record_routes],
            m.max_forwards,
            m.content_length,
            m.content_type,
            m.expires,
            m.event,
            m.subscription_state,
            m.allow,
            m.supported,
            m.require,
            m.sip_etag,
            m.sip_if_match,
            list(m.authorization),
            m.www_authenticate,
        ]
        uri = getattr(m, "uri", None)
        if uri is not None:
            out.append((uri.host, uri.user, uri.port))
        return out

    def serializer(self, data: bytes) -> Callable[[], bytes] | None:
        m = self._parse(data)
        return lambda: bytes(m)


# --- sippy --------------------------------------------------------------------


class SippyAdapter(Adapter):
    """sippy, the Sippy Software B2BUA: ``SipRequest(buf)`` / ``SipResponse(buf)``."""

    name = "sippy"
    distribution = "sippy"
    notes = (
        "Takes str, so the adapter decodes the bytes first (as its transaction manager "
        "does).  SipRequest(str)/SipResponse(str) split headers; each header body is "
        "parsed lazily by SipHeader.getBody().  Content-Type/Length are folded into "
        "msg.body (MsgBody).  Event, Subscription-State, SIP-If-Match stay raw strings.  "
        "str(msg) re-serializes (regenerating Content-Length)."
    )

    def _load(self) -> None:
        self._request: Any = importlib.import_module("sippy.SipRequest").SipRequest
        self._response: Any = importlib.import_module("sippy.SipResponse").SipResponse

    def _parse(self, data: bytes) -> Any:
        text = data.decode()
        if text.startswith("SIP/"):
            return self._response(text)
        return self._request(text)

    def touch(self, data: bytes) -> TouchResult:
        m = self._parse(data)
        via = m.getHFBody("via")
        cseq = m.getHFBody("cseq")
        return (
            str(m.getHFBody("call-id")),
            via.getBranch(),
            via.hostname,
            cseq.getCSeqNum(),
            cseq.getCSeqMethod(),
        )

    def full(self, data: bytes) -> object:
        m = self._parse(data)
        for header in m.headers:  # force the lazy parse of every header body
            header.getBody()

        def addr(hf: Any) -> tuple[Any, ...]:
            a = hf.getUri()
            return a.name, a.url.host, a.getParam("tag")

        def nums(name: str) -> list[int]:
            return [b.getNum() for b in m.getHFBodys(name)]

        out: list[object] = [
            str(m.getHFBody("call-id")),
            m.getHFBody("cseq").getCSeq(),
            [(v.transport, v.hostname, v.port, v.getBranch()) for v in m.getHFBodys("via")],
            addr(m.getHFBody("from")),
            addr(m.getHFBody("to")),
            [addr(c) for c in m.getHFBodys("contact")],
            [addr(r) for r in m.getHFBodys("route")],
            [addr(r) for r in m.getHFBodys("record-route")],
            nums("max-forwards"),
            nums("expires"),
            [b.methods for b in m.getHFBodys("allow")],
            [b.caps for b in m.getHFBodys("supported")],
            [
                (a.username, a.realm, a.nonce, a.uri, a.qop, a.nc, a.cnonce, a.algorithm)
                for a in m.getHFBodys("authorization")
            ],
            [str(b) for b in m.getHFBodys("event")],
            [str(b) for b in m.getHFBodys("subscription-state")],
            [str(b) for b in m.getHFBodys("sip-if-match")],
        ]
        body = m.body
        if body is not None:
            ctype = body.mtype
            if not ctype.parsed:
                ctype.parse()
            out.append((ctype.name, ctype.params, len(body.content)))
        ruri = getattr(m, "ruri", None)
        if ruri is not None:
            out.append((ruri.host, ruri.username, ruri.port))
        return out

    def serializer(self, data: bytes) -> Callable[[], bytes] | None:
        m = self._parse(data)
        return lambda: str(m).encode()


# --- sipmessage -----------------------------------------------------------------


class SipmessageAdapter(Adapter):
    """sipmessage (Spacinov): ``Message.parse(bytes)`` with typed properties."""

    name = "sipmessage"
    distribution = "sipmessage"
    notes = (
        "Message.parse(bytes) stores raw header strings; touch parses only the top Via "
        "line with Via.parse_many.  Every typed property (via, "
        "from_address, contact, route, cseq, authorization, ...) re-parses on each access.  "
        "No typed Event, Subscription-State, Allow, SIP-ETag or SIP-If-Match: read raw via "
        "msg.headers.get().  bytes(msg) re-serializes (compact names expanded)."
    )

    def _load(self) -> None:
        mod: Any = importlib.import_module("sipmessage")
        self._message: Any = mod.Message
        self._via: Any = mod.Via

    def touch(self, data: bytes) -> TouchResult:
        m = self._message.parse(data)
        # Cheapest public path to the top Via: parse only the first Via header
        # line (m.via would parse every Via).
        via = self._via.parse_many(m.headers["Via"])[0]
        cseq = m.cseq
        return m.call_id, via.parameters.get("branch"), via.host, cseq.sequence, cseq.method

    def full(self, data: bytes) -> object:
        m = self._message.parse(data)
        fa, ta = m.from_address, m.to_address
        headers = m.headers
        out: list[object] = [
            m.call_id,
            m.cseq,
            [(v.transport, v.host, v.port, v.parameters.get("branch")) for v in m.via],
            (fa.name, fa.uri.host, fa.parameters.get("tag")),
            (ta.name, ta.uri.host, ta.parameters.get("tag")),
            [a.uri.host for a in m.contact],
            [a.uri.host for a in m.route],
            [a.uri.host for a in m.record_route],
            m.max_forwards,
            m.content_length,
            m.content_type,
            m.expires,
            m.supported,
            m.require,
            m.accept,
            m.authorization,
            m.www_authenticate,
            headers.get("Event"),
            headers.get("Subscription-State"),
            headers.getlist("Allow"),
            headers.get("SIP-ETag"),
            headers.get("SIP-If-Match"),
        ]
        uri = getattr(m, "uri", None)
        if uri is not None:
            out.append((uri.host, uri.user, uri.port))
        return out

    def serializer(self, data: bytes) -> Callable[[], bytes] | None:
        m = self._message.parse(data)
        return lambda: bytes(m)


# --- aiosipua -------------------------------------------------------------------


class AiosipuaAdapter(Adapter):
    """aiosipua: ``SipMessage.parse(bytes)`` plus its header codec functions."""

    name = "aiosipua"
    distribution = "aiosipua"
    notes = (
        "SipMessage.parse(bytes) stores raw values in a case-insensitive multidict "
        "(multi-value headers split at parse time); properties via, from_addr, to_addr, "
        "contact, cseq parse on each access; touch uses parse_via on the first Via.  "
        "Route/Record-Route/Authorization/R-URI "
        "parsed with the exported parse_address/parse_auth/parse_uri.  No typed "
        "Max-Forwards, Expires, Content-Type, Event, Allow, Supported.  bytes(msg) "
        "re-serializes."
    )

    def _load(self) -> None:
        mod: Any = importlib.import_module("aiosipua")
        self._message: Any = mod.SipMessage
        self._parse_address: Any = mod.parse_address
        self._parse_auth: Any = mod.parse_auth
        self._parse_uri: Any = mod.parse_uri
        self._parse_via: Any = mod.parse_via

    def touch(self, data: bytes) -> TouchResult:
        m = self._message.parse(data)
        # Via values are split at parse time, so the first one is the top Via;
        # m.via would parse all of them.
        via = self._parse_via(m.get_header("via"))
        cseq = m.cseq
        return m.call_id, via.branch, via.host, cseq.seq, cseq.method

    def full(self, data: bytes) -> object:
        m = self._message.parse(data)
        fa, ta = m.from_addr, m.to_addr
        pa = self._parse_address
        out: list[object] = [
            m.call_id,
            m.cseq,
            [(v.transport, v.host, v.port, v.branch) for v in m.via],
            (fa.display_name, fa.uri.host, fa.tag),
            (ta.display_name, ta.uri.host, ta.tag),
            [a.uri.host for a in m.contact],
            [pa(v).uri.host for v in m.get_header_values("route")],
            [pa(v).uri.host for v in m.get_header_values("record-route")],
            m.content_length,
            m.content_type,
            [self._parse_auth(v, credentials=True) for v in m.get_header_values("authorization")],
            m.get_header("max-forwards"),
            m.get_header("expires"),
            m.get_header("event"),
            m.get_header("subscription-state"),
            m.get_header_values("allow"),
            m.get_header_values("supported"),
            m.get_header("sip-if-match"),
        ]
        uri = getattr(m, "uri", None)
        if isinstance(uri, str):
            u = self._parse_uri(uri)
            out.append((u.host, u.user, u.port))
        return out

    def serializer(self, data: bytes) -> Callable[[], bytes] | None:
        m = self._message.parse(data)
        return lambda: bytes(m)


# --- pyVoIP ---------------------------------------------------------------------


class PyVoIPAdapter(Adapter):
    """pyVoIP: ``pyVoIP.SIP.SIPMessage(bytes)``, an eager dict-based parser."""

    name = "pyVoIP"
    distribution = "pyVoIP"
    notes = (
        "SIPMessage(bytes) parses eagerly into dicts (Via list of dicts, From/To dicts "
        "with tag, CSeq {'check','method'} with the number as str, Authorization dict) "
        "and also parses the SDP body.  Accepts only INVITE/ACK/BYE/CANCEL requests and "
        "no compact header names; Contact, Route, Record-Route, Max-Forwards, Expires "
        "stay raw (first occurrence only).  No serializer.  'pyVoIP.VoIP' must be "
        "imported before 'pyVoIP.SIP' to avoid a circular import."
    )

    def _load(self) -> None:
        importlib.import_module("pyVoIP.VoIP")
        self._message: Any = importlib.import_module("pyVoIP.SIP").SIPMessage

    def touch(self, data: bytes) -> TouchResult:
        m = self._message(data)
        headers = m.headers
        via = headers["Via"][0]
        cseq = headers["CSeq"]
        return (
            headers["Call-ID"],
            via.get("branch"),
            via["address"][0],
            int(cseq["check"]),
            cseq["method"],
        )

    def full(self, data: bytes) -> object:
        m = self._message(data)
        h = m.headers
        return [
            h["Call-ID"],
            h["CSeq"],
            [(v["type"], v["address"], v.get("branch")) for v in h["Via"]],
            h.get("From"),
            h.get("To"),
            h.get("Contact"),
            h.get("Route"),
            h.get("Record-Route"),
            h.get("Max-Forwards"),
            h.get("Content-Length"),
            h.get("Content-Type"),
            h.get("Expires"),
            h.get("Allow"),
            h.get("Supported"),
            h.get("Authorization"),
            m.body,
        ]


# --- snl (SIPandLove) -------------------------------------------------------------


class SnlAdapter(Adapter):
    """snl ("SIPandLove"): ``SIPMessage.frombytes(bytes)``, a pyparsing RFC 3261 grammar."""

    name = "snl"
    distribution = "snl"
    notes = (
        "SIPMessage.frombytes(bytes) (returns None on error) parses every known header "
        "eagerly with a pyparsing ABNF grammar; Record-Route, Allow, Supported are kept "
        "raw.  Importing it installs a logging class and sys.excepthook and prints a "
        "banner: the adapter silences and undoes that.  bytes(msg) re-serializes."
    )

    def _load(self) -> None:
        logger_class = logging.getLoggerClass()
        excepthook = sys.excepthook
        sink = io.StringIO()
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                mod: Any = importlib.import_module("snl.Message")
        finally:
            logging.setLoggerClass(logger_class)
            sys.excepthook = excepthook
        for name in list(logging.root.manager.loggerDict):
            if name.split(".", 1)[0] in ("snl", "SIPandLove"):
                logging.getLogger(name).setLevel(logging.CRITICAL)
        self._message: Any = mod.SIPMessage

    def _parse(self, data: bytes) -> Any:
        m = self._message.frombytes(data)
        if m is None:
            raise ValueError("snl could not parse the message (frombytes returned None)")
        return m

    def touch(self, data: bytes) -> TouchResult:
        m = self._parse(data)
        via = m.header("Via")
        return m.callid, via.params.get("branch"), via.host, m.seq, m.CseqMETHOD

    def full(self, data: bytes) -> object:
        m = self._parse(data)

        def addr(h: Any) -> tuple[Any, ...]:
            return h.display, h.address.host, h.params.get("tag")

        def first(name: str, attr: str) -> Any:
            h = m.header(name)
            return None if h is None else getattr(h, attr)

        return [
            m.callid,
            m.seq,
            m.CseqMETHOD,
            [(v.protocol, v.host, v.port, v.params.get("branch")) for v in m.headers("Via")],
            addr(m.header("From")),
            addr(m.header("To")),
            [addr(c) for c in m.headers("Contact")],
            [addr(r) for r in m.headers("Route")],
            [r.value for r in m.headers("Record-Route")],
            first("Max-Forwards", "max"),
            first("Content-Length", "length"),
            first("Content-Type", "subtype"),
            first("Expires", "delta"),
            first("Event", "event"),
            first("Subscription-State", "state"),
            [a.params for a in m.headers("Authorization")],
            getattr(m, "uri", None),
        ]

    def serializer(self, data: bytes) -> Callable[[], bytes] | None:
        m = self._parse(data)
        return lambda: bytes(m)


# --- aiovoip ----------------------------------------------------------------------


class AiovoipAdapter(Adapter):
    """aiovoip (maintained fork of aiosip): ``Message.from_raw_headers(bytes)``."""

    name = "aiovoip"
    distribution = "aiovoip"
    notes = (
        "Its transports split head and body on CRLFCRLF and call "
        "Message.from_raw_headers(head) (the adapter does the same); headers land in a "
        "CIMultiDict (str, or list for repeats).  Via.from_header, from_details/"
        "to_details/contact_details (regex) and auth parse on demand; CSeq number and "
        "method come from cseq/method.  No compact names; Via needs an explicit port.  "
        "msg.encode() re-serializes (headers sorted by name)."
    )

    def _load(self) -> None:
        self._message: Any = importlib.import_module("aiovoip.message").Message
        self._via: Any = importlib.import_module("aiovoip.via").Via
        self._auth: Any = importlib.import_module("aiovoip.auth").Auth

    def _parse(self, data: bytes) -> Any:
        head, _, body = data.partition(b"\r\n\r\n")
        m = self._message.from_raw_headers(head)
        m._raw_payload = body
        return m

    @staticmethod
    def _values(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [value]

    def touch(self, data: bytes) -> TouchResult:
        m = self._parse(data)
        via = self._via.from_header(self._values(m.headers["Via"])[0])
        return m.headers["Call-ID"], via["params"].get("branch"), via["host"], m.cseq, m.method

    def full(self, data: bytes) -> object:
        m = self._parse(data)
        headers = m.headers
        vias = [self._via.from_header(v) for v in self._values(headers["Via"])]
        auth = headers.get("Authorization")
        return [
            headers["Call-ID"],
            m.cseq,
            m.method,
            [(v["protocol"], v["host"], v["port"], v["params"].get("branch")) for v in vias],
            m.from_details.details,
            m.to_details.details,
            None if m.contact_details is None else m.contact_details.details,
            headers.get("Content-Type"),
            headers.get("Content-Length"),
            headers.get("Max-Forwards"),
            headers.get("Expires"),
            None if auth is None else self._auth.from_authorization_header(auth, m.method),
            m.payload,
        ]

    def serializer(self, data: bytes) -> Callable[[], bytes] | None:
        m = self._parse(data)
        return lambda: bytes(m.encode())


# --- registry -----------------------------------------------------------------------

SIPSTACK: type[Adapter] = SipstackAdapter
COMPETITORS: tuple[type[Adapter], ...] = (
    SippyAdapter,
    SipmessageAdapter,
    AiosipuaAdapter,
    PyVoIPAdapter,
    AiovoipAdapter,
    SnlAdapter,
)


@dataclass
class Loaded:
    """Outcome of trying to construct one adapter."""

    cls: type[Adapter]
    adapter: Adapter | None
    error: str | None


def load(cls: type[Adapter]) -> Loaded:
    """Construct ``cls``, turning an import failure into an error message."""
    try:
        return Loaded(cls, cls(), None)
    except ImportError as exc:
        return Loaded(cls, None, f"not installed ({exc})")
    except Exception as exc:  # a broken install must not stop the run
        return Loaded(cls, None, f"failed to load: {type(exc).__name__}: {exc}")
