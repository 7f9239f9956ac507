"""The client SIP log's writer process.

Formatting a record and writing it costs several times what capturing it
does, and a thread would not help: the work holds the interpreter lock.  So
a :class:`~sipstack.interceptors.ClientLog` may hand its records to a child
process that formats and writes them on another core, and keep only the
capture on the endpoint's path.

The parent writes frames to the child's standard input: a 4-byte big-endian
length and a :mod:`marshal` dump of a list of records (the pipe is private
to the two processes; marshal is the fastest codec for these plain
tuples).  A record is ``((direction, transport, local, remote, time,
retransmission), start_line, header_lines, body_length)`` — fields 1 to 6 of
the message's :class:`~sipstack.endpoint.MessageInfo`, the start line, and
the stored (unfolded) header lines joined by CRLF, which no line contains —
or ``(None, json_line, text_line, 0)`` for lines already formatted.  The child answers
each frame with one byte on its standard output once the frame's lines are
written to its files; the parent keeps each frame until then, and writes
the frames not answered itself when the child dies, so a dead writer loses
nothing (at worst a frame appears twice).  Message bodies never reach the
child: the records carry the header lines, credentials already masked.

The child ignores SIGINT (the parent decides when logging ends) and stops
at the end of its input, after writing everything it was sent — also when
the parent dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import marshal
import os
import select
import signal
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from typing import IO, Any

from ..errors import SIPParseError
from ..message._headers import header_key
from ._log_format import LineWriter

__all__ = ["WriterProcess", "main", "write_record"]

log = logging.getLogger("sipstack.interceptors")

_ACK = b"A"
# Pipe capacity asked for (Linux), so that bursts do not block the sender.
_PIPE_SIZE = 1 << 20
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
# The package's parent directory, so that the child imports this sipstack
# even when the parent found it through a sys.path entry of its own.
_ROOT = str(Path(__file__).resolve().parent.parent.parent)
_CHILD = "import sys; from sipstack.interceptors._log_writer import main; sys.exit(main())"


class WriterProcess:
    """The parent's handle on a writer process for these files."""

    def __init__(
        self, json_path: Path | None, text_path: Path | None, max_bytes: int, backups: int
    ) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_ROOT, env.get("PYTHONPATH")]))
        self._proc = subprocess.Popen(
            [
                # Not ``-m``: the package imports this module, and running it
                # again as __main__ would load it twice.
                sys.executable, "-c", _CHILD,
                str(json_path or ""), str(text_path or ""), str(max_bytes), str(backups),
            ],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, bufsize=0,
        )  # fmt: skip
        stdin = self._proc.stdin
        assert stdin is not None
        self._fd = stdin.fileno()
        with contextlib.suppress(OSError):
            fcntl.fcntl(self._fd, _F_SETPIPE_SZ, _PIPE_SIZE)
        #: Frames sent and not yet answered, oldest first.
        self.unwritten: deque[list[tuple[object, ...]]] = deque()

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self._proc.pid

    def send(self, records: list[tuple[object, ...]]) -> None:
        """Hand ``records`` over.  Blocks while the pipe is full: a writer
        that cannot keep up slows the sender down rather than records being
        dropped or memory growing.  Raises OSError when the child is gone
        (the records are then among :attr:`unwritten`)."""
        self.collect(0.0)
        self.unwritten.append(records)
        data = marshal.dumps(records)
        view = memoryview(len(data).to_bytes(4, "big") + data)
        while view:
            view = view[os.write(self._fd, view) :]

    def collect(self, timeout: float) -> None:
        """Forget the frames the child has answered (waiting up to
        ``timeout`` for an answer).  Raises OSError when the child is gone."""
        out = self._proc.stdout
        assert out is not None
        while self.unwritten and select.select([out], [], [], timeout)[0]:
            acks = os.read(out.fileno(), 4096)
            if not acks:
                raise BrokenPipeError("the SIP log writer ended")
            for _ in range(min(acks.count(_ACK), len(self.unwritten))):
                self.unwritten.popleft()
            timeout = 0.0

    def flush(self, timeout: float) -> bool:
        """Wait until the child wrote every frame; False on a timeout.
        Raises OSError when the child is gone."""
        deadline = time.monotonic() + timeout
        while self.unwritten:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.collect(left)
        return True

    def close(self, timeout: float) -> None:
        """End the input and wait for the child to write everything out."""
        for stream in (self._proc.stdin, self._proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("the SIP log writer did not finish in %.0f s; stopped", timeout)
            self._proc.kill()
            self._proc.wait()


def write_record(out: LineWriter, record: tuple[Any, ...]) -> None:
    """Write one record (see the module's docstring) through ``out``."""
    meta, start_line, joined, body_length = record
    if meta is None:
        out.json(start_line)
        out.text(joined)
        return
    direction, transport, local, remote, when, retransmission = meta
    lines = joined.split("\r\n") if joined else []
    # The keys the message's Headers held: the same function of the name.
    keys = [_key(line.partition(":")[0]) for line in lines]
    out.message(
        when, direction, transport, local, remote, retransmission, start_line, lines, keys,
        body_length,
    )  # fmt: skip


def _key(name: str) -> str:
    try:
        return header_key(name)
    except SIPParseError:
        return name.lower()


def _read_exactly(stream: IO[bytes], n: int) -> bytes | None:
    data = stream.read(n)
    if not data or len(data) < n:
        return None
    return data


def main(argv: list[str] | None = None) -> int:
    """Run the writer: ``JSON_PATH TEXT_PATH MAX_BYTES BACKUPS`` (an empty
    path for a file not written), records on standard input."""
    json_path, text_path, max_bytes, backups = argv if argv is not None else sys.argv[1:]
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = LineWriter(
        Path(json_path) if json_path else None,
        Path(text_path) if text_path else None,
        int(max_bytes),
        int(backups),
    )
    stdin = sys.stdin.buffer

    try:
        while (head := _read_exactly(stdin, 4)) is not None:
            frame = _read_exactly(stdin, int.from_bytes(head, "big"))
            if frame is None:
                break
            for record in marshal.loads(frame):
                write_record(out, record)
            out.flush()
            # An error here means the parent stopped listening: it is
            # closing us, and the end of input follows.
            with contextlib.suppress(OSError):
                os.write(1, _ACK)
    finally:
        out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
