"""The client SIP log: every message and response with its route, sender,
receiver, transport, direction and time — never its body.

A record is built from the start line and the header lines only; the body
is never read, so it cannot leak: the record keeps its length and content
type.  Digest credentials are masked.  Records go to a rotating file of
JSON lines (one object per message, buffered: :meth:`ClientLog.flush`
and closing write them out), optionally a rotating human-readable file, and
optionally a stdlib logger (the "system event log").  It records
only while the policy's ``client-log`` feature is effective (off by
default).
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from json.encoder import encode_basestring as _escape
from pathlib import Path
from typing import TextIO

from ..endpoint import MessageInfo, Verdict
from ..message import Request, Response, canonical_name
from ._base import Interceptor

__all__ = ["ClientLog", "mask_credentials"]

# Header lookup keys (lower case, compact forms expanded).
_CREDENTIAL_KEYS = frozenset({"authorization", "proxy-authorization"})
_ROUTE_KEYS = frozenset({"via", "route", "record-route"})
_WS = " \t"
# Formatted header lines kept (a bound on memory, not a tuning knob).
_PAIRS_MAX = 4096
# Everything after the user name of Digest credentials (the response, the
# nonces and the rest) is replaced: a log is not where they belong.
_USERNAME = re.compile(r'username\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]+)', re.I)


def mask_credentials(value: str) -> str:
    """``Digest username="alice", ***`` for any credentials value (the
    scheme and user name kept, the rest masked)."""
    scheme, _, rest = value.strip().partition(" ")
    if not scheme:
        return "***"
    user = _USERNAME.search(rest)
    return f"{scheme} {user.group(0)}, ***" if user else f"{scheme} ***"


class _RotatingFile:
    """Lines appended to a file, rotated to ``path.1`` … ``path.N`` past
    ``max_bytes`` (what a logging handler does, without its per-record
    cost).  Lines wait in a list and reach the file ``BATCH`` at a time: one
    write call per batch instead of two per line."""

    BATCH = 128

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self._file: TextIO | None = None
        self._size = -1  # unknown until the file is opened
        self._pending: list[str] = []

    def write(self, line: str) -> None:
        pending = self._pending
        pending.append(line)
        if self._size < 0:
            self._open()
        self._size += len(line) + 1
        if self._size > self.max_bytes:
            self._drain()
            self._rotate()
        elif len(pending) >= self.BATCH:
            self._drain()

    def _open(self) -> TextIO:
        f = self._file = open(self.path, "a", encoding="utf-8", buffering=1 << 16)  # noqa: SIM115
        self._size = f.tell()
        return f

    def _drain(self) -> None:
        pending = self._pending
        if pending:
            f = self._file or self._open()
            pending.append("")
            f.write("\n".join(pending))
            pending.clear()

    def _rotate(self) -> None:
        self.close()
        for i in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{i}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{i + 1}"))
        if self.backups > 0:
            self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink(missing_ok=True)

    def flush(self) -> None:
        self._drain()
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        self._drain()
        if self._file is not None:
            self._file.close()
            self._file = None
        self._size = -1


class _Clock:
    """ISO 8601 UTC times, the date-time part formatted once per second."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def iso(self, t: float) -> str:
        second = int(t)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._prefix}.{int((t - second) * 1e6):06d}+00:00"


class ClientLog(Interceptor):
    """Log SIP messages (no bodies) to ``path`` as JSON lines, rotating at
    ``max_bytes`` with ``backups`` old files; ``text_path`` adds a
    human-readable file; ``logger`` forwards one line per message.

    ``enabled`` is asked before every record; the Peer passes its policy's
    ``effective(client-log)``.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        text_path: str | Path | None = None,
        logger: logging.Logger | None = None,
        enabled: Callable[[], bool] = lambda: True,
        max_bytes: int = 10 * 2**20,
        backups: int = 5,
    ) -> None:
        self.enabled = enabled
        self._json = self._text = None
        if path is not None:
            self._json = _RotatingFile(Path(path), max_bytes, backups)
        if text_path is not None:
            self._text = _RotatingFile(Path(text_path), max_bytes, backups)
        self._logger = logger
        self._clock = _Clock()
        self._pairs: dict[str, str] = {}
        self._addresses: dict[tuple[str, int] | None, tuple[str, str]] = {}

    def _pair(self, line: str) -> str:
        """``["name", "value"]`` of a header line, remembered: most lines of
        a transaction come back (the response copies the request's; a peer
        sends the same Max-Forwards, User-Agent …), and a dict lookup is a
        fraction of splitting and escaping again."""
        name, _, value = line.partition(":")
        pair = f"[{_escape(name.rstrip(_WS))}, {_escape(value.strip(_WS))}]"
        if len(self._pairs) >= _PAIRS_MAX:
            self._pairs.clear()
        self._pairs[line] = pair
        return pair

    def _address(self, addr: tuple[str, int] | None) -> tuple[str, str]:
        """An address as JSON and as text, remembered (a peer talks to few)."""
        known = self._addresses.get(addr)
        if known is None:
            text = _address(addr)
            known = ("null", "None") if text is None else (_escape(text), text)
            if len(self._addresses) >= _PAIRS_MAX:
                self._addresses.clear()
            self._addresses[addr] = known
        return known

    def _write(self, out: _RotatingFile | None, line: str) -> None:
        if out is not None:
            out.write(line)

    def flush(self) -> None:
        """Push buffered lines to the files."""
        for out in (self._json, self._text):
            if out is not None:
                out.flush()

    def record(self, message: Request | Response, info: MessageInfo) -> dict[str, object]:
        """The record of one message (never its body)."""
        headers = [
            [
                name,
                mask_credentials(value) if canonical_name(name).lower() in _CREDENTIAL_KEYS else value,
            ]
            for name, value in message.headers
        ]
        ctype = message.headers.get("Content-Type")
        return {
            "time": self._clock.iso(info.time),
            "direction": info.direction,
            "transport": info.transport,
            "local": _address(info.local),
            "remote": _address(info.remote),
            "retransmission": info.retransmission,
            "start_line": message.start_line,
            "headers": headers,
            "body_length": len(message.body),
            "content_type": ctype,
        }

    def on_message(self, message: Request | Response, info: MessageInfo) -> Verdict:
        """Write the record of ``message`` when logging is on.

        This runs for every message in and out, so the JSON line is put
        together by hand from the header lines as stored (each string
        escaped by the C escaper of :mod:`json`) instead of building the
        :meth:`record` dict and encoding it: a third of the cost.  The
        result is the same object (a property test holds the two to it).
        """
        if not self.enabled():
            return None
        h = message.headers
        # The stored lines (unfolded), with their lookup keys: reading them
        # directly skips a generator and a key lookup per header.
        lines, keys = h._lines, h._keys
        if not _CREDENTIAL_KEYS.isdisjoint(h._present):
            lines = [_masked_line(k, x) for k, x in zip(keys, lines, strict=True)]
        pairs = self._pairs
        headers = ", ".join([pairs.get(x) or self._pair(x) for x in lines])
        ctype = h.get("Content-Type") if "content-type" in h._present else None
        stamp = self._clock.iso(info.time)
        local, local_text = self._address(info.local)
        remote, remote_text = self._address(info.remote)
        start_line = message.start_line
        esc = _escape
        transport = "null" if info.transport is None else esc(info.transport)
        length = len(message.body)
        self._write(
            self._json,
            f'{{"time": "{stamp}", "direction": {esc(info.direction)}, '
            f'"transport": {transport}, "local": {local}, "remote": {remote}, '
            f'"retransmission": {"true" if info.retransmission else "false"}, '
            f'"start_line": {esc(start_line)}, "headers": [{headers}], '
            f'"body_length": {length}, '
            f'"content_type": {"null" if ctype is None else esc(ctype)}}}',
        )
        if self._text is not None or self._logger is not None:
            route = " | ".join([x for k, x in zip(keys, lines, strict=True) if k in _ROUTE_KEYS])
            text = (
                f"{stamp} {info.transport} {local_text} "
                f"{'<-' if info.direction == 'in' else '->'} {remote_text}"
                f"{' (again)' if info.retransmission else ''} | {start_line} | {route} | "
                f"body: {length} bytes{'' if ctype is None else ' ' + ctype}"
            )
            self._write(self._text, text)
            if self._logger is not None:
                self._logger.info("%s", text)
        return None

    def on_event(self, event: object) -> None:
        """Contact-list and presence changes, registration and call events
        (their fields; documents, never message bodies)."""
        if not self.enabled():
            return
        name = type(event).__name__
        if name not in _EVENTS:
            return
        rec = {
            "time": _dt.datetime.now(_dt.UTC).isoformat(),
            "event": name,
            "detail": _summary(event),
        }
        self._write(self._json, json.dumps(rec, ensure_ascii=False, default=str))
        if self._text is not None or self._logger is not None:
            text = f"{rec['time']} event {name} {rec['detail']}"
            self._write(self._text, text)
            if self._logger is not None:
                self._logger.info("%s", text)

    def close(self) -> None:
        """Close the files (what is buffered is written)."""
        for out in (self._json, self._text):
            if out is not None:
                out.close()


# Lifecycle events worth a log line, and what of them is logged: who and
# what state, never message content (MessageReceived is left out on purpose).
_EVENTS = {
    "Registered": ("aor", "contact", "expires"),
    "RegistrationFailed": ("aor", "status", "reason"),
    "Unregistered": ("aor",),
    "PresenceChanged": ("uri",),
    "WatchersChanged": (),
    "SubscriptionEnded": ("reason",),
    "IncomingCall": (),
    "CallAnswered": (),
    "CallEnded": ("reason", "by_remote", "status"),
}


def _summary(event: object) -> dict[str, object]:
    fields = _EVENTS[type(event).__name__]
    out: dict[str, object] = {f: getattr(event, f, None) for f in fields}
    name = type(event).__name__
    if name == "PresenceChanged":
        presence = getattr(event, "presence", None)
        out["availability"] = str(getattr(presence, "availability", ""))
    elif name == "WatchersChanged":
        out["watchers"] = [w.uri for w in getattr(event, "watchers", ())]
    elif name in ("IncomingCall", "CallAnswered", "CallEnded"):
        call = getattr(event, "call", None)
        out["remote"] = getattr(call, "remote", None)
    return {
        k: (asdict(v) if is_dataclass(v) and not isinstance(v, type) else v) for k, v in out.items()
    }


def _masked_line(key: str, line: str) -> str:
    if key not in _CREDENTIAL_KEYS:
        return line
    name, _, value = line.partition(":")
    return f"{name}: {mask_credentials(value.strip(_WS))}"


def _address(addr: tuple[str, int] | None) -> str | None:
    if addr is None:
        return None
    host, port = addr
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
