"""The client SIP log: every message and response with its route, sender,
receiver, transport, direction and time — never its body.

A record is built from the start line and the header lines only; the body
is never read, so it cannot leak: the record keeps its length and content
type.  Digest credentials are masked.  Records go to a rotating file of
JSON lines (one object per message), optionally a rotating human-readable
file, and optionally a stdlib logger (the "system event log").  It records
only while the policy's ``client-log`` feature is effective (off by
default).

With ``offload=True`` the files are formatted and written by a writer
process (:mod:`._log_writer`): the endpoint's path only captures each
record, and the formatting runs on another core.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from pathlib import Path

from ..endpoint import MessageInfo, Verdict
from ..message import Request, Response, canonical_name
from ._base import Interceptor
from ._log_format import CREDENTIAL_KEYS, LineWriter, format_address, masked_lines
from ._log_format import mask_credentials as mask_credentials
from ._log_writer import WriterProcess, write_record

__all__ = ["ClientLog", "mask_credentials"]

log = logging.getLogger("sipstack.interceptors")

CRLF = "\r\n"
# Records handed to the writer process at once, and the longest a record
# waits for its batch to fill.
_BATCH = 256
_BATCH_DELAY = 0.5


class ClientLog(Interceptor):
    """Log SIP messages (no bodies) to ``path`` as JSON lines, rotating at
    ``max_bytes`` with ``backups`` old files; ``text_path`` adds a
    human-readable file; ``logger`` forwards one line per message.

    ``enabled`` is asked before every record; the Peer passes its policy's
    ``effective(client-log)``.

    ``offload=True`` has a writer process format and write the files (it
    starts with the first record, and falls back to writing here if it
    cannot start or dies); records reach the files in batches, at most half
    a second late, and :meth:`flush` waits until they are written.  A
    ``logger`` is always fed here, in this process.
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
        offload: bool = False,
    ) -> None:
        self.enabled = enabled
        self._paths = (
            Path(path) if path is not None else None,
            Path(text_path) if text_path is not None else None,
        )
        self._max_bytes = max_bytes
        self._backups = backups
        self._logger = logger
        self._out = LineWriter(*self._paths, max_bytes, backups, logger)
        # Offloading applies to the files; a logger needs this process.
        self._offload = offload and logger is None and any(self._paths)
        self._writer: WriterProcess | None = None
        self._batch: list[tuple[object, ...]] = []
        self._timer: asyncio.TimerHandle | None = None

    @property
    def writer_pid(self) -> int | None:
        """The writer process's id while there is one."""
        return self._writer.pid if self._writer is not None else None

    def record(self, message: Request | Response, info: MessageInfo) -> dict[str, object]:
        """The record of one message as a plain dict (never its body): what
        each JSON line holds."""
        headers = [
            [
                name,
                mask_credentials(value)
                if canonical_name(name).lower() in CREDENTIAL_KEYS
                else value,
            ]
            for name, value in message.headers
        ]
        return {
            "time": self._out.clock.iso(info.time),
            "direction": info.direction,
            "transport": info.transport,
            "local": format_address(info.local),
            "remote": format_address(info.remote),
            "retransmission": info.retransmission,
            "start_line": message.start_line,
            "headers": headers,
            "body_length": len(message.body),
            "content_type": message.headers.get("Content-Type"),
        }

    def on_message(self, message: Request | Response, info: MessageInfo) -> Verdict:
        """Record ``message`` when logging is on."""
        if not self.enabled():
            return None
        h = message.headers
        if not self._offload:
            # The stored lines (unfolded) and their lookup keys, read
            # directly: this runs for every message in and out.
            lines, keys = h._lines, h._keys
            if not CREDENTIAL_KEYS.isdisjoint(h._present):
                lines = masked_lines(lines, keys)
            self._out.message(
                info.time, info.direction, info.transport,
                info.local, info.remote, info.retransmission, message.start_line,
                lines, keys, len(message.body),
            )  # fmt: skip
            return None
        # Offloaded, this is all the endpoint's path pays for: the start
        # line and the stored header lines joined into one string (CR and LF
        # cannot occur inside a line), the body's length, and the message's
        # details as one slice of ``info``.  (Serialising instead would cost
        # a full rebuild for every request received: its Via was stamped.)
        lines = h._lines
        present = h._present
        if "authorization" in present or "proxy-authorization" in present:
            lines = masked_lines(lines, h._keys)
        batch = self._batch
        # (The private accessors: the public ones are one call more each.)
        batch.append((info[1:7], message._start_line(), CRLF.join(lines), len(message._body)))
        if not 1 < len(batch) < _BATCH:
            self._batch_edge()
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
        line = json.dumps(rec, ensure_ascii=False, default=str)
        text = f"{rec['time']} event {name} {rec['detail']}"
        if self._offload:
            self._batch.append((None, line, text, 0))
            self._batch_edge()
        else:
            self._out.json(line)
            self._out.text(text)

    # -- the writer process ---------------------------------------------------------
    def _batch_edge(self) -> None:
        """The batch just got its first record (wait at most
        ``_BATCH_DELAY`` for more) or is full (send it)."""
        if len(self._batch) >= _BATCH:
            self._send()
        elif self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop: the batch waits for the next flush
            self._timer = loop.call_later(_BATCH_DELAY, self._send)

    def _send(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._batch = self._batch, []
        if not batch:
            return
        if self._writer is None and self._offload:
            try:
                self._writer = WriterProcess(*self._paths, self._max_bytes, self._backups)
            except OSError as exc:
                log.warning("cannot start the SIP log writer (%s); writing here", exc)
                self._offload = False
        if self._writer is not None:
            try:
                self._writer.send(batch)
                return
            except OSError as exc:
                self._writer_gone(exc)
                return
        self._write_here(batch)

    def _writer_gone(self, exc: OSError) -> None:
        """The writer process died: write what it did not, here, and go on
        here."""
        writer, self._writer = self._writer, None
        self._offload = False
        assert writer is not None
        log.warning("the SIP log writer is gone (%s); writing here", exc)
        for batch in writer.unwritten:
            self._write_here(batch)
        writer.close(timeout=1.0)

    def _write_here(self, batch: list[tuple[object, ...]]) -> None:
        for record in batch:
            write_record(self._out, record)

    def flush(self, timeout: float = 5.0) -> None:
        """Push every record so far to the files (waiting up to ``timeout``
        for the writer process)."""
        self._send()
        if self._writer is not None:
            try:
                if not self._writer.flush(timeout):
                    log.warning("the SIP log writer did not flush within %.1f s", timeout)
            except OSError as exc:
                self._writer_gone(exc)
        self._out.flush()

    def close(self, timeout: float = 5.0) -> None:
        """Write out everything and close the files (and stop the writer)."""
        self.flush(timeout)
        if self._writer is not None:
            self._writer.close(timeout)
            self._writer = None
        self._out.close()


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
