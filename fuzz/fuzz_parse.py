"""atheris harness for the datagram parser.

Asserts the error contract of ``sipstack.message.parse``: for any input,
``parse`` either returns a message or raises ``SIPParseError``; on a message,
``validate()``, ``.uri`` (requests) and ``bytes()`` also raise nothing but
``SIPParseError``; and ``bytes(msg)`` of the untouched message is exactly the
input with leading CRLFs removed, cut at the framed end of the body.

The receive path of the transports is checked too: the answer
``error_response`` builds for an input that failed to parse is itself a
valid response with the error's status, and stamping ``received``/``rport``
into a request's Via (``stamp_via``) gives a message that parses again with
the stamp in its top Via.

When the C accelerator is built, each input is also parsed by the
pure-Python path, and the two must agree: the same error, or the same start
line, header lines, keys and validated views.

Any other exception (or a failed assertion) crashes the fuzzer.

With FUZZ_DEEP=1 every typed view and every property of every typed value is
read too (Address.expires, SipURI.aor, Via.rport, AuthHeader.nc ...).
"""

from __future__ import annotations

import contextlib
import os
import sys

import atheris

with atheris.instrument_imports():
    from sipstack.errors import SIPParseError
    from sipstack.message import (
        Address,
        AuthHeader,
        ContentType,
        Event,
        Request,
        Response,
        RetryAfter,
        SipURI,
        SubscriptionState,
        TelURI,
        Via,
        _address,
        _message,
        _values,
        error_response,
        parse,
    )
    from sipstack.transport import stamp_via

# Where the parser reaches the accelerator: (module, name, value).
HOOKS = [
    (_message, "_c_parse_head", _message._c_parse_head),
    (_message, "_fill_views", _message._fill_views),
    (_address, "_c_address", _address._c_address),
    (_values, "_c_via", _values._c_via),
]
ACCELERATED = _message.ACCELERATED

DEEP = os.environ.get("FUZZ_DEEP", "") not in ("", "0")

VIEWS = (
    "call_id", "cseq", "from_addr", "to_addr", "top_via", "vias", "contact_is_star", "contacts",
    "routes", "record_routes", "refer_to", "max_forwards", "content_length", "content_type",
    "expires", "min_expires", "event", "subscription_state", "allow", "supported", "require",
    "proxy_require", "unsupported", "sip_etag", "sip_if_match", "www_authenticate",
    "proxy_authenticate", "authorization", "proxy_authorization", "retry_after", "date", "uri",
)  # fmt: skip

PROPERTIES: dict[type, tuple[str, ...]] = {
    SipURI: ("aor", "transport", "maddr", "lr", "secure", "user", "password", "port", "params"),
    TelURI: ("is_global", "number", "params"),
    Address: ("tag", "expires", "q", "display_name", "uri", "params"),
    Via: ("branch", "has_magic_cookie", "received", "rport_requested", "rport", "maddr", "ttl",
          "sent_by", "params"),
    AuthHeader: ("is_digest", "realm", "nonce", "opaque", "algorithm", "qop_options", "stale",
                 "username", "response", "uri", "cnonce", "nc"),
    ContentType: ("mime", "charset", "params"),
    Event: ("id", "params"),
    SubscriptionState: ("reason", "expires", "retry_after", "params"),
    RetryAfter: ("duration", "params"),
}  # fmt: skip


def expected_slice(data: bytes, msg: Request | Response) -> bytes:
    """The input without leading CRLFs, cut at the end of the framed body."""
    start = 0
    while data.startswith(b"\r\n", start):
        start += 2
    head_end = data.index(b"\r\n\r\n", start) + 4
    return data[start : head_end + msg.content_length]


def touch(value: object) -> None:
    """Read everything a typed value offers."""
    str(value)
    if isinstance(value, tuple):
        for item in value:
            touch(item)
        return
    with contextlib.suppress(TypeError):
        hash(value)
    for name in PROPERTIES.get(type(value), ()):
        v = getattr(value, name)
        if isinstance(v, SipURI | TelURI):
            touch(v)
        elif name == "params" and v is not None:
            list(v)
            str(v)


SOURCE = ("192.0.2.7", 40001)


def check_error_response(data: bytes, exc: SIPParseError) -> None:
    """An answer to an unparseable request must be a valid response."""
    reply = error_response(data, exc)
    if reply is None:
        return
    try:
        answer = parse(reply)
    except SIPParseError as err:
        raise AssertionError(f"error_response built an invalid message: {err}: {reply!r}") from None
    if not isinstance(answer, Response) or answer.status != exc.status:
        raise AssertionError(f"error_response built the wrong answer: {reply!r}")


def check_stamp(msg: Request) -> None:
    """Stamping the Via keeps the request valid."""
    try:
        stamp_via(msg, SOURCE)
    except SIPParseError:
        return
    try:
        again = parse(bytes(msg))
    except SIPParseError as err:
        raise AssertionError(f"stamping the Via broke the message: {err}") from None
    assert isinstance(again, Request)
    via = again.top_via
    if via.received is not None and via.received != SOURCE[0]:
        raise AssertionError(f"stamped Via has received={via.received!r}")


def indexed(data: bytes) -> object:
    """What parse() and validate() make of the message, or the error."""
    try:
        msg = parse(data)
        head = (msg.start_line, msg.headers._lines, msg.headers._keys, msg.headers._raws)
        msg.validate()
        views = (msg.top_via, msg.vias, msg.from_addr, msg.to_addr, msg.contacts, msg.routes)
    except SIPParseError as exc:
        return (type(exc).__name__, str(exc), exc.status)
    return head, repr(views)


def check_accelerator(data: bytes) -> None:
    """The accelerated parser and the pure-Python one agree."""
    fast = indexed(data)
    for module, name, _ in HOOKS:
        setattr(module, name, None)
    try:
        pure = indexed(data)
    finally:
        for module, name, value in HOOKS:
            setattr(module, name, value)
    if fast != pure:
        raise AssertionError(f"accelerated parse {fast!r} != pure-Python parse {pure!r}")


def TestOneInput(data: bytes) -> None:
    if ACCELERATED:
        check_accelerator(data)
    try:
        msg = parse(data)
    except SIPParseError as exc:
        check_error_response(data, exc)
        return
    expected = expected_slice(data, msg)
    if bytes(msg) != expected:
        raise AssertionError(f"bytes(msg) {bytes(msg)!r} != input slice {expected!r}")
    with contextlib.suppress(SIPParseError):
        msg.validate()
    if isinstance(msg, Request):
        with contextlib.suppress(SIPParseError):
            msg.uri  # noqa: B018
    if DEEP:
        for name in VIEWS:
            with contextlib.suppress(SIPParseError):
                touch(getattr(msg, name, None))
        with contextlib.suppress(SIPParseError):
            for name, _ in msg.headers:
                msg.headers.get_all(name)
                msg.headers.get_list(name)
    if bytes(msg) != expected:
        raise AssertionError("reading typed views changed bytes(msg)")
    if isinstance(msg, Request):
        check_stamp(msg)


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
