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
from pathlib import Path
from typing import TextIO

from ..endpoint import MessageInfo, Verdict
from ..message import Request, Response, canonical_name
from ._base import Interceptor

__all__ = ["ClientLog", "mask_credentials"]

_CREDENTIALS = frozenset({"authorization", "proxy-authorization"})
# Everything after the user name of Digest credentials (the response, the
# nonces and the rest) is replaced: a log is not where they belong.
_USERNAME = re.compile(r'username\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]+)', re.I)


def mask_credentials(value: str) -> str:
    """``Digest username="alice", ***`` for any credentials value (the
    scheme and user name kept, the rest masked)."""
    scheme, _, rest = value.strip().partition(" ")
    user = _USERNAME.search(rest)
    return f"{scheme} {user.group(0)}, ***" if user else f"{scheme} ***"


class _RotatingFile:
    """Lines appended to a file through a buffer, rotated to ``path.1`` …
    ``path.N`` past ``max_bytes`` (what a logging handler does, without its
    per-record cost)."""

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self._file: TextIO | None = None
        self._size = 0

    def write(self, line: str) -> None:
        f = self._file
        if f is None:
            f = self._file = open(self.path, "a", encoding="utf-8", buffering=1 << 16)  # noqa: SIM115
            self._size = f.tell()
        f.write(line)
        f.write("\n")
        self._size += len(line) + 1
        if self._size > self.max_bytes:
            self._rotate()

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
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


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
                mask_credentials(value) if canonical_name(name).lower() in _CREDENTIALS else value,
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
        """Write the record of ``message`` when logging is on."""
        if not self.enabled():
            return None
        rec = self.record(message, info)
        self._write(self._json, json.dumps(rec, ensure_ascii=False))
        if self._text is not None or self._logger is not None:
            text = _human(rec, message)
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


def _address(addr: tuple[str, int] | None) -> str | None:
    if addr is None:
        return None
    host, port = addr
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _human(rec: dict[str, object], message: Request | Response) -> str:
    arrow = "<-" if rec["direction"] == "in" else "->"
    route = [
        f"{n}: {v}"
        for n, v in message.headers
        if canonical_name(n) in ("Via", "Route", "Record-Route")
    ]
    body = f"{rec['body_length']} bytes {rec['content_type'] or ''}".strip()
    again = " (again)" if rec["retransmission"] else ""
    return (
        f"{rec['time']} {rec['transport']} {rec['local']} {arrow} {rec['remote']}{again} | "
        f"{rec['start_line']} | {' | '.join(route)} | body: {body}"
    )
