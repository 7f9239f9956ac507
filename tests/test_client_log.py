"""The interceptor pipeline and the client SIP log: headers, route, sender
and receiver are recorded; the body never is (a property over arbitrary
bodies); credentials are masked; nothing is written while it is off; a
failing interceptor does not take the endpoint down."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sipstack.endpoint import Endpoint, HookPoint, IncomingRequest, MessageInfo
from sipstack.interceptors import ClientLog, Interceptor, Pipeline, mask_credentials
from sipstack.message import Request, Response, make_request, make_response, parse
from sipstack.transport import Destination

TIMEOUT = 5.0


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def test_records_both_directions_with_route_and_no_body(tmp_path: Path) -> None:
    body = b"meet me at the usual place"
    async with Endpoint(["udp:127.0.0.1:0"]) as server, Endpoint(["udp:127.0.0.1:0"]) as client:
        server.route("MESSAGE", lambda incoming: incoming.respond(200))
        log = ClientLog(tmp_path / "sip.jsonl", text_path=tmp_path / "sip.log")
        Pipeline(client, [log])
        port = server.listener("UDP").local[1]
        req = make_request(
            "MESSAGE", f"sip:bob@127.0.0.1:{port}", from_addr="<sip:alice@example.com>",
            to_addr="<sip:bob@example.com>", body=body, content_type="text/plain",
            headers=[("Route", f"<sip:127.0.0.1:{port};lr>")],
        )  # fmt: skip
        assert (await asyncio.wait_for(client.request(req), TIMEOUT)).status == 200
        log.close()
    out, back = lines(tmp_path / "sip.jsonl")
    assert out["direction"] == "out" and back["direction"] == "in"
    assert out["transport"] == "UDP" and out["remote"] == f"127.0.0.1:{port}"
    assert str(out["start_line"]).startswith("MESSAGE sip:bob@")
    names = [h[0] for h in out["headers"]]  # type: ignore[union-attr]
    assert "Via" in names and "Route" in names
    assert out["body_length"] == len(body) and out["content_type"] == "text/plain"
    assert str(back["start_line"]) == "SIP/2.0 200 OK"
    for path in (tmp_path / "sip.jsonl", tmp_path / "sip.log"):
        assert b"usual place" not in path.read_bytes()
    text = (tmp_path / "sip.log").read_text()
    assert "MESSAGE sip:bob@" in text and "body: 26 bytes text/plain" in text


def test_credentials_are_masked() -> None:
    value = (
        'Digest username="alice", realm="x", nonce="abc", uri="sip:x", '
        'response="0123456789abcdef0123456789abcdef", cnonce="c", nc=00000001, qop=auth'
    )
    masked = mask_credentials(value)
    assert masked == 'Digest username="alice", ***'
    assert "0123456789" not in masked and "abc" not in masked


def _info(direction: str = "out") -> MessageInfo:
    return MessageInfo(
        HookPoint.WIRE_OUT, direction, "UDP", ("127.0.0.1", 5060), ("192.0.2.1", 5060),
        time.time(),
    )  # fmt: skip


def test_nothing_is_written_while_it_is_off(tmp_path: Path) -> None:
    on = [False]
    log = ClientLog(tmp_path / "sip.jsonl", enabled=lambda: on[0])
    msg = make_request("OPTIONS", "sip:a@b", from_addr="<sip:c@d>", to_addr="<sip:a@b>")
    log.on_message(msg, _info())
    log.close()
    assert not (tmp_path / "sip.jsonl").exists()
    on[0] = True
    log.on_message(msg, _info())
    log.close()
    assert len(lines(tmp_path / "sip.jsonl")) == 1


_HEADER_LIKE = st.lists(
    st.sampled_from(
        [
            "Via: SIP/2.0/UDP evil.example;branch=z9hG4bKevil",
            "Content-Length: 0",
            'Authorization: Digest username="x", response="abc"',
            "",
            "MESSAGE sip:someone@else SIP/2.0",
            "the quick brown fox jumps over the lazy dog",
            "\u00e9t\u00e9 \u2603 \U0001f600",
        ]
    ),
    max_size=8,
).map(lambda ls: "\r\n".join(ls).encode())
_BODIES = st.one_of(st.binary(max_size=2048), _HEADER_LIKE, st.text(max_size=300).map(str.encode))


def _log_of(tmp_path: Path, name: str, body: bytes, incoming: bool, info: MessageInfo) -> bytes:
    path, text_path = tmp_path / f"{name}.jsonl", tmp_path / f"{name}.log"
    for p in (path, text_path):
        p.unlink(missing_ok=True)
    req = make_request(
        "MESSAGE", "sip:bob@example.com", from_addr="<sip:alice@example.com>;tag=t",
        to_addr="<sip:bob@example.com>", body=body, content_type="application/octet-stream",
        via="SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKprop", call_id="prop-call",
    )  # fmt: skip
    msg: Request | Response = parse(bytes(req))
    if incoming:
        msg = parse(bytes(make_response(msg, 200, body=body, content_type="text/plain")))  # type: ignore[arg-type]
    log = ClientLog(path, text_path=text_path)
    log.on_message(msg, info)
    log.close()
    written = path.read_bytes() + text_path.read_bytes()
    # The JSON form escapes some bytes; its decoded text is compared too.
    decoded = "\n".join(json.dumps(json.loads(x)) for x in path.read_text().splitlines())
    return written + b"\n" + decoded.encode()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_BODIES, incoming=st.booleans())
def test_the_log_never_contains_the_body(tmp_path: Path, body: bytes, incoming: bool) -> None:
    """The log of a message is compared with the log of the same message
    whose body was replaced by filler of the same length: no 9-byte run of
    the body may be in the first and not in the second (what both share is
    the log's own wording and the headers, which it records)."""
    info = _info("in" if incoming else "out")
    real = _log_of(tmp_path, "real", body, incoming, info)
    filler = _log_of(tmp_path, "filler", b"\x00" * len(body), incoming, info)
    for i in range(max(0, len(body) - 8)):
        window = body[i : i + 9]
        assert window not in real or window in filler, f"body bytes {window!r} leaked"


async def test_a_failing_interceptor_is_counted_and_fail_open_or_closed(tmp_path: Path) -> None:
    class Broken(Interceptor):
        points = (HookPoint.WIRE_IN,)

        def on_message(self, message: Request | Response, info: MessageInfo) -> None:
            raise RuntimeError("bug")

    class BrokenClosed(Broken):
        fail_closed = True

    async with Endpoint(["udp:127.0.0.1:0"]) as server, Endpoint(["udp:127.0.0.1:0"]) as client:
        got: list[IncomingRequest] = []
        server.route("MESSAGE", lambda incoming: (got.append(incoming), incoming.respond(200))[1])
        pipeline = Pipeline(server, [Broken()])
        dest = Destination("UDP", "127.0.0.1", server.listener("UDP").local[1])

        def message() -> Request:
            return make_request(
                "MESSAGE", "sip:bob@x", from_addr="<sip:a@x>", to_addr="<sip:bob@x>", body=b"hi"
            )

        assert (await client.request(message(), dest)).status == 200  # fail-open: goes on
        assert server.stats["hook_errors"] == 1 and len(got) == 1
        pipeline.add(BrokenClosed())
        assert (await client.request(message(), dest)).status == 500  # fail-closed: stopped
        assert len(got) == 1


def test_events_reach_every_interceptor_even_after_a_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[object] = []

    class Fails(Interceptor):
        def on_event(self, event: object) -> None:
            raise ValueError("nope")

    class Sees(Interceptor):
        def on_event(self, event: object) -> None:
            seen.append(event)

    pipeline = Pipeline(Endpoint(["udp:127.0.0.1:0"]), [Fails(), Sees()])
    with caplog.at_level(logging.ERROR):
        pipeline.event("registered")
    assert seen == ["registered"] and pipeline.errors["Fails"] == 1


def test_the_log_rotates(tmp_path: Path) -> None:
    log = ClientLog(tmp_path / "sip.jsonl", max_bytes=2000, backups=2)
    msg = make_request("OPTIONS", "sip:a@b", from_addr="<sip:c@d>", to_addr="<sip:a@b>")
    for _ in range(30):
        log.on_message(msg, _info())
    log.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    # Two backups kept (the current file opens again with the next record).
    assert (
        {"sip.jsonl.1", "sip.jsonl.2"} <= set(names) <= {"sip.jsonl", "sip.jsonl.1", "sip.jsonl.2"}
    )
    total = sum(len(lines(tmp_path / n)) for n in names)
    assert 0 < total < 30  # the oldest went with the rotation
    assert all(p.stat().st_size <= 2000 + 1000 for p in tmp_path.iterdir())


_NAMES = st.sampled_from(
    ["Via", "v", "Route", "Record-Route", "Subject", "X-Odd", "Authorization",
     "Proxy-Authorization", "Content-Type", "c", "User-Agent"]
)  # fmt: skip
_VALUES = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\r\n\x00"),
    max_size=60,
)


@given(
    extra=st.lists(st.tuples(_NAMES, _VALUES, st.sampled_from([":", ": ", " :  ", ":\t"])),
                   max_size=8),
    direction=st.sampled_from(["in", "out"]),
    retransmission=st.booleans(),
)  # fmt: skip
def test_the_written_line_is_the_record(
    extra: list[tuple[str, str, str]], direction: str, retransmission: bool
) -> None:
    """The JSON line written on the hot path is exactly :meth:`record` (the
    plain dict), whatever the header values, spacing and credentials."""
    head = [
        "MESSAGE sip:bob@example.com SIP/2.0",
        "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx",
        "From: <sip:a@example.com>;tag=1",
        "To: <sip:bob@example.com>",
        "Call-ID: c",
        "CSeq: 1 MESSAGE",
    ]
    head += [f"{name}{sep}{value}" for name, value, sep in extra]
    try:
        msg = parse(("\r\n".join(head) + "\r\nContent-Length: 2\r\n\r\nhi").encode())
    except Exception:
        return  # e.g. a Content-Type the parser refuses: not this test's business
    info = MessageInfo(
        HookPoint.WIRE_IN, direction, "UDP", ("::1", 5060), ("192.0.2.1", 5070), 1.5e9,
        retransmission,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        log = ClientLog(Path(tmp) / "sip.jsonl")
        log.on_message(msg, info)
        log.close()
        (written,) = lines(Path(tmp) / "sip.jsonl")
    assert written == log.record(msg, info)


async def _exchange(log: ClientLog, body: bytes, count: int = 3) -> int:
    """``count`` MESSAGEs with ``body`` from a client endpoint that has
    ``log``; the server's port."""
    async with Endpoint(["udp:127.0.0.1:0"]) as server, Endpoint(["udp:127.0.0.1:0"]) as client:
        server.route("MESSAGE", lambda incoming: incoming.respond(200))
        Pipeline(client, [log])
        port = server.listener("UDP").local[1]
        for i in range(count):
            req = make_request(
                "MESSAGE", f"sip:bob@127.0.0.1:{port}", from_addr="<sip:alice@example.com>",
                to_addr="<sip:bob@example.com>", body=body, content_type="text/plain",
                headers=[("Authorization", f'Digest username="alice", response="secret{i}"')],
            )  # fmt: skip
            assert (await asyncio.wait_for(client.request(req), TIMEOUT)).status == 200
    return port


def _shape(records: list[dict[str, object]]) -> list[object]:
    """What two runs share (not ports, tags, branches or times)."""
    return [
        (
            r["direction"], r["transport"], r["retransmission"], str(r["start_line"])[:8],
            [(n, v if n == "Authorization" else "") for n, v in r["headers"]],  # type: ignore[attr-defined]
            r["body_length"], r["content_type"],
        )
        for r in records
    ]  # fmt: skip


async def test_the_writer_process_writes_what_this_process_would(tmp_path: Path) -> None:
    body = b"the body stays out of every log\r\nVia: not a header"
    here = ClientLog(tmp_path / "here.jsonl", text_path=tmp_path / "here.log")
    await _exchange(here, body)
    here.close()
    away = ClientLog(tmp_path / "away.jsonl", text_path=tmp_path / "away.log", offload=True)
    await _exchange(away, body)
    away.flush()
    pid = away.writer_pid
    assert pid is not None and pid != os.getpid()
    away.close()
    assert away.writer_pid is None
    with pytest.raises(ProcessLookupError):  # the writer is gone, reaped by close()
        os.kill(pid, 0)
    ours, theirs = lines(tmp_path / "here.jsonl"), lines(tmp_path / "away.jsonl")
    assert len(theirs) == 6 and _shape(theirs) == _shape(ours)
    assert len((tmp_path / "away.log").read_text().splitlines()) == 6
    for name in ("away.jsonl", "away.log"):
        data = (tmp_path / name).read_bytes()
        assert b"stays out" not in data and b"secret" not in data


async def test_flush_waits_for_the_writer_process(tmp_path: Path) -> None:
    log = ClientLog(tmp_path / "sip.jsonl", offload=True)
    await _exchange(log, b"hello", count=2)
    log.flush()
    assert len(lines(tmp_path / "sip.jsonl")) == 4
    log.close()


async def test_a_dead_writer_process_loses_nothing_after_it(tmp_path: Path) -> None:
    """When the writer dies, what comes later is written here (nothing is
    dropped and nothing raises on the endpoint's path)."""
    log = ClientLog(tmp_path / "sip.jsonl", offload=True)
    await _exchange(log, b"hello", count=1)
    log.flush()
    pid = log.writer_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    await _exchange(log, b"hello", count=2)
    log.close()
    assert log.writer_pid is None
    assert len(lines(tmp_path / "sip.jsonl")) == 6


@settings(max_examples=5, deadline=None)
@given(bodies=st.lists(st.binary(min_size=16, max_size=600), min_size=1, max_size=20))
def test_the_writer_process_never_writes_a_body(bodies: list[bytes]) -> None:
    """The same property through the writer process: random bodies (too
    random to share 9 bytes with the headers) never reach either file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sip.jsonl"
        log = ClientLog(path, text_path=Path(tmp) / "sip.log", offload=True)
        for i, body in enumerate(bodies):
            req = make_request(
                "MESSAGE", "sip:bob@example.com", from_addr="<sip:alice@example.com>;tag=t",
                to_addr="<sip:bob@example.com>", body=body, content_type="application/octet-stream",
                via=f"SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKw{i}", call_id=f"w{i}",
            )  # fmt: skip
            log.on_message(parse(bytes(req)), _info())
        log.close()
        written = path.read_bytes() + (Path(tmp) / "sip.log").read_bytes()
        decoded = "\n".join(json.dumps(json.loads(x)) for x in path.read_text().splitlines())
        assert len(path.read_text().splitlines()) == len(bodies)
    for body in bodies:
        for i in range(len(body) - 8):
            window = body[i : i + 9]
            assert window not in written and window not in decoded.encode(), "a body leaked"
