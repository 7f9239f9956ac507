"""How the client SIP log writes: a message's start line and header lines
become one JSON line and one human-readable line, appended to files that
rotate.  Used in the process that logs and in the log writer process
(:mod:`._log_writer`); it imports nothing of the endpoint, so that process
starts quickly.

The body never reaches this module: callers pass its length only.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from json.encoder import encode_basestring as _escape
from pathlib import Path
from typing import TextIO

__all__ = ["CREDENTIAL_KEYS", "LineWriter", "format_address", "mask_credentials", "masked_lines"]

# Header lookup keys (lower case, compact forms expanded).
CREDENTIAL_KEYS = frozenset({"authorization", "proxy-authorization"})
_ROUTE_KEYS = frozenset({"via", "route", "record-route"})
_WS = " \t"
# Formatted header lines and addresses kept (a bound on memory, not a
# tuning knob).
_REMEMBERED = 4096
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


def masked_lines(lines: Sequence[str], keys: Sequence[str]) -> list[str]:
    """``lines`` (``name: value``, keyed by ``keys``) with the values of
    credentials headers masked."""
    out = []
    for key, line in zip(keys, lines, strict=True):
        if key in CREDENTIAL_KEYS:
            name, _, value = line.partition(":")
            line = f"{name}: {mask_credentials(value.strip(_WS))}"
        out.append(line)
    return out


def format_address(addr: tuple[str, int] | None) -> str | None:
    """``host:port`` (``[v6]:port``), or None."""
    if addr is None:
        return None
    host, port = addr
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


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


class LineWriter:
    """Formats messages into the JSON-lines file at ``json_path`` and the
    human-readable file at ``text_path`` (either may be None), and forwards
    the human-readable line to ``logger`` when one is given."""

    def __init__(
        self,
        json_path: Path | None,
        text_path: Path | None,
        max_bytes: int,
        backups: int,
        logger: logging.Logger | None = None,
    ) -> None:
        self._json = _RotatingFile(json_path, max_bytes, backups) if json_path else None
        self._text = _RotatingFile(text_path, max_bytes, backups) if text_path else None
        self._logger = logger
        self._wants_text = self._text is not None or logger is not None
        self.clock = _Clock()
        self._pairs: dict[str, str] = {}
        self._addresses: dict[tuple[str, int] | None, tuple[str, str]] = {}

    def _pair(self, line: str) -> str:
        """``["name", "value"]`` of a header line, remembered: most lines of
        a transaction come back (the response copies the request's; a peer
        sends the same Max-Forwards, User-Agent …), and a dict lookup is a
        fraction of splitting and escaping again."""
        name, _, value = line.partition(":")
        pair = f"[{_escape(name.rstrip(_WS))}, {_escape(value.strip(_WS))}]"
        if len(self._pairs) >= _REMEMBERED:
            self._pairs.clear()
        self._pairs[line] = pair
        return pair

    def _address(self, addr: tuple[str, int] | None) -> tuple[str, str]:
        """An address as JSON and as text, remembered (a peer talks to few)."""
        known = self._addresses.get(addr)
        if known is None:
            text = format_address(addr)
            known = ("null", "None") if text is None else (_escape(text), text)
            if len(self._addresses) >= _REMEMBERED:
                self._addresses.clear()
            self._addresses[addr] = known
        return known

    def message(
        self,
        when: float,
        direction: str,
        transport: str | None,
        local: tuple[str, int] | None,
        remote: tuple[str, int] | None,
        retransmission: bool,
        start_line: str,
        lines: Sequence[str],
        keys: Sequence[str],
        body_length: int,
    ) -> None:
        """Write one message: ``lines`` are its header lines (``name:
        value``, unfolded, credentials already masked), ``keys`` their
        lookup keys.

        The JSON line is put together by hand, each string escaped by the C
        escaper of :mod:`json`, instead of building a dict and encoding it:
        a third of the cost, for the same object (a property test holds
        :meth:`ClientLog.record` to it).
        """
        pairs = self._pairs
        headers = ", ".join([pairs.get(x) or self._pair(x) for x in lines])
        ctype = None
        if "content-type" in keys:
            ctype = lines[keys.index("content-type")].partition(":")[2].strip(_WS)
        stamp = self.clock.iso(when)
        local_json, local_text = self._address(local)
        remote_json, remote_text = self._address(remote)
        esc = _escape
        length = str(body_length)
        if self._json is not None:
            self._json.write(
                f'{{"time": "{stamp}", "direction": {esc(direction)}, '
                f'"transport": {"null" if transport is None else esc(transport)}, '
                f'"local": {local_json}, "remote": {remote_json}, '
                f'"retransmission": {"true" if retransmission else "false"}, '
                f'"start_line": {esc(start_line)}, "headers": [{headers}], '
                f'"body_length": {length}, '
                f'"content_type": {"null" if ctype is None else esc(ctype)}}}'
            )
        if self._wants_text:
            route = " | ".join([x for k, x in zip(keys, lines, strict=True) if k in _ROUTE_KEYS])
            self.text(
                f"{stamp} {transport} {local_text} "
                f"{'<-' if direction == 'in' else '->'} {remote_text}"
                f"{' (again)' if retransmission else ''} | {start_line} | {route} | "
                f"body: {length} bytes{'' if ctype is None else ' ' + ctype}"
            )

    def json(self, line: str) -> None:
        """Append a ready JSON line."""
        if self._json is not None:
            self._json.write(line)

    def text(self, line: str) -> None:
        """Append a ready human-readable line (and forward it)."""
        if self._text is not None:
            self._text.write(line)
        if self._logger is not None:
            self._logger.info("%s", line)

    def flush(self) -> None:
        """Push buffered lines to the files."""
        for out in (self._json, self._text):
            if out is not None:
                out.flush()

    def close(self) -> None:
        """Close the files (what is buffered is written)."""
        for out in (self._json, self._text):
            if out is not None:
                out.close()
