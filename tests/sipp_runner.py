"""Run SIPp as an independent SIP peer from asyncio tests.

The scenarios live in ``tests/sipp/scenarios``.  Every SIPp process is bounded
twice: by SIPp's own global ``-timeout`` and by an asyncio deadline after which
the process is killed through its own handle.  Results come from SIPp's CSV
statistics file (``-trace_stat``), its error log (``-trace_err``) and its exit
code, and are collected into a :class:`SippResult`.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import ipaddress
import math
import os
import shutil
import signal
import socket
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Literal

import pytest

__all__ = [
    "SCENARIO_DIR",
    "SIPP",
    "SippResult",
    "SippUAS",
    "Transport",
    "free_port",
    "requires_sipp",
    "run_sipp_uac",
    "scenario",
    "sipp_uas",
    "start_sipp_uas",
]

Transport = Literal["udp", "tcp"]

SIPP: str | None = shutil.which("sipp")
SCENARIO_DIR: Path = Path(__file__).resolve().parent / "sipp" / "scenarios"

_IN_CI = os.environ.get("CI", "").strip().lower() == "true"
_MISSING = "SIPp (Debian package sip-tester) is not installed"

# In CI the tests must not vanish into skips: there they run and fail loudly
# in _sipp_binary() instead.
requires_sipp: pytest.MarkDecorator = pytest.mark.skipif(
    SIPP is None and not _IN_CI, reason=_MISSING
)

# SIPp exit codes (sipp.hpp): 0 all calls succeeded, 1 some call failed,
# 254 (-2) a socket could not be bound, 255 (-1) fatal error.
_EXIT_BIND_ERROR = 254
_START_ATTEMPTS = 3
_TAIL_CHARS = 4000
_KILL_GRACE = 5.0


def scenario(name: str) -> Path:
    """Return the path of the scenario file ``name`` in ``tests/sipp/scenarios``."""
    path = SCENARIO_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"no SIPp scenario {name!r} in {SCENARIO_DIR}")
    return path


def _sipp_binary() -> str:
    if SIPP is None:
        hint = " (CI=true, so this is an error, not a skip)" if _IN_CI else ""
        raise AssertionError(f"{_MISSING}: 'sipp' not found on PATH{hint}")
    return SIPP


def _family(host: str) -> socket.AddressFamily:
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return socket.AF_INET
    return socket.AF_INET6 if ip.version == 6 else socket.AF_INET


def _sock_type(transport: Transport) -> socket.SocketKind:
    return socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM


def free_port(transport: Transport = "udp", host: str = "127.0.0.1") -> int:
    """Return a port on ``host`` that is currently free for ``transport``.

    Another process may still take it before SIPp binds it; the runner
    retries with a fresh port when SIPp reports a bind error.
    """
    with socket.socket(_family(host), _sock_type(transport)) as sock:
        sock.bind((host.strip("[]"), 0))
        port: int = sock.getsockname()[1]
        return port


def _free_media_port(host: str) -> int:
    # SIPp binds RTP on -mp and -mp + 2, and only tries once when -mp is given.
    for _ in range(50):
        port = free_port("udp", host)
        if port + 2 > 65535:
            continue
        try:
            with socket.socket(_family(host), socket.SOCK_DGRAM) as sock:
                sock.bind((host.strip("[]"), port + 2))
        except OSError:
            continue
        return port
    raise RuntimeError(f"no free UDP port pair for SIPp media on {host}")


def _hostport(host: str, port: int) -> str:
    host = host.strip("[]")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _tail(path: Path, limit: int = _TAIL_CHARS) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return text if len(text) <= limit else "...\n" + text[-limit:]


def _read_stats(path: Path) -> dict[str, str]:
    """Return the last row of a SIPp ``-trace_stat`` CSV keyed by column name.

    SIPp writes the header and an all-zero row at start-up, a row every
    ``-fd`` period and a final row on exit, so the last complete row is the
    freshest.  An empty dict means there were no statistics at all.
    """
    try:
        with path.open(encoding="utf-8", errors="replace", newline="") as fh:
            rows = [row for row in csv.reader(fh, delimiter=";") if row]
    except OSError:
        return {}
    if len(rows) < 2:
        return {}
    header = rows[0]
    # A row cut short by a kill mid-write is ignored.
    complete = [row for row in rows[1:] if len(row) >= len(header) - 1]
    if not complete:
        return {}
    return {name: value for name, value in zip(header, complete[-1], strict=False) if name}


def _stat_int(stats: dict[str, str], name: str) -> int:
    try:
        return int(float(stats.get(name, "0") or "0"))
    except ValueError:
        return 0


@dataclass(frozen=True)
class SippResult:
    """Outcome of one SIPp run: exit code, call counters and diagnostics."""

    returncode: int | None
    successful: int
    failed: int
    expected_calls: int | None
    command: tuple[str, ...]
    stdout_tail: str = ""
    stderr_tail: str = ""
    error_log: str = ""
    messages_tail: str = ""
    stats: dict[str, str] = field(default_factory=dict)
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        """Whether SIPp exited with 0 and every expected call succeeded."""
        return not self.problems()

    def problems(self, calls: int | None = None) -> list[str]:
        """List what is wrong with this run; empty when it is a success."""
        expected = self.expected_calls if calls is None else calls
        found: list[str] = []
        if self.timed_out:
            found.append("SIPp did not finish in time and was killed")
        if self.returncode != 0:
            found.append(f"SIPp exit code {self.returncode} (0 means every call succeeded)")
        if not self.stats:
            found.append("SIPp wrote no statistics")
        if self.failed:
            found.append(f"{self.failed} failed call(s)")
        if expected is not None and self.successful != expected:
            found.append(f"{self.successful} successful call(s), expected {expected}")
        return found

    def assert_ok(self, calls: int | None = None) -> None:
        """Raise AssertionError with all diagnostics unless the run succeeded.

        ``calls`` overrides the number of successful calls expected.
        """
        problems = self.problems(calls)
        if problems:
            raise AssertionError(self.report(problems))

    def report(self, problems: Sequence[str] = ()) -> str:
        """Render the result and its diagnostics as text."""
        parts = [
            "SIPp run failed: " + "; ".join(problems) if problems else "SIPp run succeeded",
            "command: " + " ".join(self.command),
            f"returncode={self.returncode} successful={self.successful} failed={self.failed}",
        ]
        for title, text in (
            ("error log", self.error_log),
            ("stderr", self.stderr_tail),
            ("stdout", self.stdout_tail),
            ("messages", self.messages_tail),
        ):
            if text.strip():
                parts.append(f"--- {title} ---\n{text.rstrip()}")
        return "\n".join(parts)


class _SippProcess:
    """One SIPp subprocess whose output, stats and logs go to a private directory."""

    def __init__(
        self,
        scenario_path: Path,
        *,
        transport: Transport,
        local_host: str,
        local_port: int,
        timeout: float,
        args: Sequence[str],
        extra_args: Sequence[str],
        expected_calls: int | None,
        trace_messages: bool,
    ) -> None:
        binary = _sipp_binary()
        media_port = _free_media_port(local_host)
        self.workdir = Path(tempfile.mkdtemp(prefix="sipp-"))
        self.expected_calls = expected_calls
        self.stats_file = self.workdir / "stats.csv"
        self.error_file = self.workdir / "errors.log"
        self.message_file = self.workdir / "messages.log"
        self.stdout_file = self.workdir / "stdout.txt"
        self.stderr_file = self.workdir / "stderr.txt"
        self.transport = transport
        self.local_port = local_port
        self.command: tuple[str, ...] = (
            binary,
            *args,
            "-sf",
            str(scenario_path),
            "-t",
            "u1" if transport == "udp" else "t1",
            "-i",
            local_host.strip("[]"),
            "-p",
            str(local_port),
            "-mp",
            str(media_port),
            "-bind_local",
            "-nostdin",
            # SIPp checks its global timeout in whole seconds only.
            "-timeout",
            f"{max(1, math.ceil(timeout))}s",
            "-trace_stat",
            "-stf",
            str(self.stats_file),
            "-fd",
            "1",
            "-trace_err",
            "-error_file",
            str(self.error_file),
            *(("-trace_msg", "-message_file", str(self.message_file)) if trace_messages else ()),
            # Last, so that a caller's option wins over the defaults above.
            *extra_args,
        )
        self.proc: asyncio.subprocess.Process | None = None
        self.timed_out = False

    async def start(self) -> None:
        # Output goes to files: a pipe nobody drains would block SIPp's screen
        # refresh once the pipe buffer is full.
        with self.stdout_file.open("wb") as out, self.stderr_file.open("wb") as err:
            self.proc = await asyncio.create_subprocess_exec(
                *self.command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=self.workdir,
            )

    async def wait(self, timeout: float) -> bool:
        """Wait for exit; True if SIPp exited within ``timeout`` seconds."""
        assert self.proc is not None
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def stop(self, grace: float = _KILL_GRACE) -> None:
        """End SIPp: SIGTERM (it then writes its final statistics), then SIGKILL."""
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        if await self.wait(grace):
            return
        self.timed_out = True
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()

    def result(self) -> SippResult:
        stats = _read_stats(self.stats_file)
        return SippResult(
            returncode=None if self.proc is None else self.proc.returncode,
            successful=_stat_int(stats, "SuccessfulCall(C)"),
            failed=_stat_int(stats, "FailedCall(C)"),
            expected_calls=self.expected_calls,
            command=self.command,
            stdout_tail=_tail(self.stdout_file),
            stderr_tail=_tail(self.stderr_file),
            error_log=_tail(self.error_file),
            messages_tail=_tail(self.message_file),
            stats=stats,
            timed_out=self.timed_out,
        )

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


def _local_host_for(target_host: str) -> str:
    return "::1" if _family(target_host) == socket.AF_INET6 else "127.0.0.1"


async def run_sipp_uac(
    scenario_path: Path | str,
    target_host: str,
    target_port: int,
    *,
    transport: Transport = "udp",
    calls: int = 1,
    rate: float = 10.0,
    timeout: float = 10.0,
    extra_args: Sequence[str] = (),
    trace_messages: bool = False,
) -> SippResult:
    """Run SIPp as a client against ``target_host:target_port`` and return the result.

    SIPp places ``calls`` calls at ``rate`` calls per second from a free local
    port on the loopback address of the target's family.  ``timeout`` is
    SIPp's global timeout (reaching it is an error); the process is killed if
    it outlives that by a few seconds.  ``trace_messages`` adds the tail of
    SIPp's message trace to the result.  The result is returned, not
    asserted: call :meth:`SippResult.assert_ok`.
    """
    if calls < 1:
        raise ValueError("calls must be >= 1")
    local_host = _local_host_for(target_host)
    for _ in range(_START_ATTEMPTS):
        sipp = _SippProcess(
            Path(scenario_path),
            transport=transport,
            local_host=local_host,
            local_port=free_port(transport, local_host),
            timeout=timeout,
            args=(
                _hostport(target_host, target_port),
                "-m",
                str(calls),
                "-r",
                f"{rate:g}",
                "-timeout_error",
            ),
            extra_args=extra_args,
            expected_calls=calls,
            trace_messages=trace_messages,
        )
        try:
            await sipp.start()
            if not await sipp.wait(math.ceil(timeout) + _KILL_GRACE):
                sipp.timed_out = True
                # SIGTERM first: SIPp then still writes its final statistics.
                await sipp.stop()
            result = sipp.result()
        finally:
            # Also reached on cancellation or a failing test: never leave SIPp behind.
            await sipp.stop(grace=0.5)
            sipp.cleanup()
        # A bind error means SIPp sent nothing, so trying another port is safe.
        if result.returncode != _EXIT_BIND_ERROR:
            break
    return result


def _proc_net_inodes(transport: Transport, family: socket.AddressFamily, port: int) -> set[str]:
    """Inodes of sockets bound to ``port`` (listening, for TCP), from /proc/net."""
    name = ("udp" if transport == "udp" else "tcp") + ("6" if family == socket.AF_INET6 else "")
    inodes: set[str] = set()
    with open(f"/proc/net/{name}", encoding="ascii") as fh:
        next(fh, None)
        for line in fh:
            cols = line.split()
            if len(cols) < 10:
                continue
            local, state, inode = cols[1], cols[3], cols[9]
            if int(local.rsplit(":", 1)[1], 16) != port:
                continue
            if transport == "tcp" and state != "0A":  # 0A is TCP_LISTEN
                continue
            inodes.add(inode)
    return inodes


def _is_bound(pid: int, transport: Transport, host: str, port: int) -> bool:
    """Whether process ``pid`` holds a socket bound to ``port`` for ``transport``."""
    family = _family(host)
    try:
        inodes = _proc_net_inodes(transport, family, port)
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        # No procfs: the port is SIPp's once nobody else can bind it.
        try:
            with socket.socket(family, _sock_type(transport)) as probe:
                probe.bind((host.strip("[]"), port))
        except OSError:
            return True
        return False
    for fd in fds:
        with contextlib.suppress(OSError):
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
            if link.startswith("socket:[") and link[8:-1] in inodes:
                return True
    return False


class SippUAS:
    """A running SIPp server; an async context manager that stops it on exit.

    ``host``/``port``/``transport`` say where it listens.  ``result`` is set
    once SIPp has stopped.
    """

    def __init__(self, sipp: _SippProcess, host: str, calls: int | None) -> None:
        self._sipp = sipp
        self.host = host
        self.port = sipp.local_port
        self.transport: Transport = sipp.transport
        self.calls = calls
        self.result: SippResult | None = None

    async def stop(self, *, drain: float = _KILL_GRACE) -> SippResult:
        """Stop SIPp and return its result.

        With a call limit, SIPp is first given ``drain`` seconds to finish on
        its own, so the final statistics include every call it was sent.
        """
        if self.result is not None:
            return self.result
        try:
            if self.calls is not None and drain > 0:
                await self._sipp.wait(drain)
        finally:
            await self._sipp.stop()
            self.result = self._sipp.result()
            self._sipp.cleanup()
        return self.result

    async def __aenter__(self) -> SippUAS:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # When the body failed there is no point waiting for calls to finish.
        await self.stop(drain=0 if exc_type is not None else _KILL_GRACE)


async def start_sipp_uas(
    scenario_path: Path | str,
    *,
    transport: Transport,
    host: str = "127.0.0.1",
    calls: int | None = None,
    timeout: float = 60.0,
    startup_timeout: float = 5.0,
    extra_args: Sequence[str] = (),
    trace_messages: bool = False,
) -> SippUAS:
    """Start SIPp as a server on a free port of ``host`` and wait until it listens.

    With ``calls`` SIPp exits by itself after that many calls and the result
    expects exactly that many successes.  ``timeout`` caps SIPp's lifetime
    even if the caller never stops it.  Use the returned :class:`SippUAS` as
    an async context manager, or call :meth:`SippUAS.stop`.
    """
    args: list[str] = []
    if calls is not None:
        if calls < 1:
            raise ValueError("calls must be >= 1 or None")
        args += ["-m", str(calls)]
    last: SippResult | None = None
    for _ in range(_START_ATTEMPTS):
        sipp = _SippProcess(
            Path(scenario_path),
            transport=transport,
            local_host=host,
            local_port=free_port(transport, host),
            timeout=timeout,
            args=args,
            extra_args=extra_args,
            expected_calls=calls,
            trace_messages=trace_messages,
        )
        try:
            await sipp.start()
            assert sipp.proc is not None
            loop = asyncio.get_running_loop()
            deadline = loop.time() + startup_timeout
            while sipp.proc.returncode is None and loop.time() < deadline:
                if _is_bound(sipp.proc.pid, transport, host, sipp.local_port):
                    return SippUAS(sipp, host, calls)
                # Bounded poll: SIPp announces nothing when it starts listening.
                await asyncio.sleep(0.01)
        except BaseException:
            await sipp.stop(grace=0.5)
            sipp.cleanup()
            raise
        await sipp.stop(grace=0.5)
        last = sipp.result()
        sipp.cleanup()
        if last.returncode != _EXIT_BIND_ERROR:
            break
    assert last is not None
    raise AssertionError("SIPp server did not start listening\n" + last.report())


@contextlib.asynccontextmanager
async def sipp_uas(
    scenario_path: Path | str,
    *,
    transport: Transport,
    host: str = "127.0.0.1",
    calls: int | None = None,
    timeout: float = 60.0,
    extra_args: Sequence[str] = (),
    trace_messages: bool = False,
) -> AsyncIterator[SippUAS]:
    """``async with sipp_uas(...) as uas:`` — :func:`start_sipp_uas`, stopped on exit."""
    uas = await start_sipp_uas(
        scenario_path,
        transport=transport,
        host=host,
        calls=calls,
        timeout=timeout,
        extra_args=extra_args,
        trace_messages=trace_messages,
    )
    async with uas:
        yield uas
