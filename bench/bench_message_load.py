"""MESSAGE load benchmark: the highest rate each UAS answers with zero failed transactions.

Usage::

    python bench/bench_message_load.py [--quick] [--only NAME ...] [--rates R,R,...]
                                       [--seconds S] [--recv-timeout MS] [--retries N]
                                       [--no-retransmit] [--no-uvloop] [--json FILE]

SIPp, as UAC, sends MESSAGE requests over UDP (one transaction per SIPp
"call", scenario ``tests/sipp/scenarios/message_uac.xml``) at increasing
rates to one UAS at a time.  Each UAS runs as its own process on a fresh
loopback port; when ``taskset`` is available and there are two CPUs, the UAS
is pinned to CPU 0 and SIPp to CPU 1, so every UAS gets exactly one core.

Each step sends ``rate * seconds`` MESSAGEs.  A step passes when every one
got its 200 (SIPp counts no failed call, exits with 0), SIPp had to
retransmit at most 1 % of them, SIPp really sent at the asked rate (at least
95 % of it, measured from SIPp's statistics file), and the UAS kept up: when
pinned, it used no more CPU time than SIPp's sending took (more means it was
still working off a backlog afterwards, which a longer step would have
turned into late answers).  The ramp for a UAS stops at the first step that
does not pass.  A failed step during which
other processes took at least 10 % of the UAS's CPU, or which missed
marginally (at most 1 % of the transactions failed, at most 5 % were
retransmitted), is first run ``--retries`` more times (default once); the
rate counts if one run is clean.

Retransmissions: by default SIPp retransmits an unanswered MESSAGE as RFC
3261 Timer E says (the scenario's T1 = 500 ms, so at 0.5 s and 1.5 s), and a
transaction without a final answer after ``--recv-timeout`` (2 s) fails.
Over UDP a UAS loses datagrams whenever it stalls longer than its receive
buffer lasts (about 166 MESSAGEs with Linux's default buffer: 14 ms at
12,000/s), and on a shared machine every process stalls now and then; with
no retransmission at all the zero-failure rate measures the longest stall,
not the throughput (SIPp's own UAS loses a few MESSAGEs at 3,000/s that way).
With Timer E a stall costs a few retransmissions, while a UAS that cannot
keep up drops datagrams (or answers later than T1) all the time: the 1 %
retransmission budget catches that even when the UAS catches up after SIPp
stops sending, which over a short step would otherwise pass an overloaded
UAS.  The step lines show SIPp's retransmissions and the datagrams dropped
at the UAS socket.  ``--no-retransmit`` runs SIPp with ``-nr``: every
datagram lost is a failed transaction.

The line of each step also shows the UAS's CPU time per MESSAGE and its CPU
load, and how busy CPU 0 was with other processes (the noise of a shared
machine: a neighbour on the UAS's core makes it drop long before it is at
100 %).

The UASes: SIPp's own UAS (the reference ceiling, ``message_uas.xml``); a
bare asyncio responder with no transaction state (the upper bound for
Python); aiovoip; sippy; and sipstack (``bench/uas_sipstack.py``, skipped
while that file does not exist).  The asyncio ones run on the standard loop
and on uvloop when it is installed.  Their resident memory (VmRSS) is read
before and after the ramp.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
SCENARIO_DIR = REPO_ROOT / "tests" / "sipp" / "scenarios"
UAC_SCENARIO = SCENARIO_DIR / "message_uac.xml"
UAS_SCENARIO = SCENARIO_DIR / "message_uas.xml"

HOST = "127.0.0.1"
FULL_RATES: tuple[int, ...] = (1000, 2000, 3000, 4000, 5000, 6000, 8000, 10000, 12000)
QUICK_RATES: tuple[int, ...] = (200, 500)
FULL_SECONDS = 4.0
QUICK_SECONDS = 1.0
RATE_REACHED = 0.95
"""A step counts only if SIPp sent at least this fraction of the asked rate."""
NOISY_SHARE = 0.10
"""A failed step is run again if other processes took this share of the UAS's CPU..."""
MARGINAL_FAILURES = 0.01
"""... or if at most this fraction of its transactions failed."""
RETRANSMIT_BUDGET = 0.01
"""A step fails if SIPp had to retransmit more than this fraction of its MESSAGEs."""
MAX_LOAD = 1.0
"""A pinned UAS that used more CPU time than SIPp's sending took did not keep up."""
READY_TIMEOUT = 20.0
"""Seconds a UAS may take to print READY (or SIPp to bind its port)."""
STAT_PERIOD = "250ms"
"""SIPp statistics dump period; the achieved rate is read from these rows."""
UAC_BUFFER = 4 * 1024 * 1024
"""SIPp UAC socket buffer: large, so answers are never lost at the client."""
SIPP_MIN_BUFFER = 65535
"""SIPp's own default -buff_size."""
UAS_CPU, UAC_CPU = 0, 1


def default_rcvbuf() -> int:
    """The receive buffer a new UDP socket gets by default, in bytes."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        return int(s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))


# --- the UASes -------------------------------------------------------------------


@dataclass(frozen=True)
class Uas:
    """One UAS under test: an implementation on one event loop."""

    name: str
    """Implementation name, as given to --only."""
    loop: str
    """Event loop it runs on (asyncio, uvloop, or the implementation's own)."""
    python: bool
    """A Python implementation, compared with sipstack in the ratio column."""
    script: Path | None = None
    """The UAS script for Python implementations; None for SIPp."""
    args: tuple[str, ...] = ()
    """More command-line arguments for the script."""

    @property
    def label(self) -> str:
        """Name and loop, for progress lines."""
        return f"{self.name}/{self.loop}"

    def command(self, port: int) -> list[str]:
        """Command line that starts this UAS on ``port``."""
        if self.script is None:
            # -buff_size: Linux doubles the SO_RCVBUF asked for; half the system
            # default gives SIPp the same receive buffer the Python UASes get.
            buff = str(max(SIPP_MIN_BUFFER, default_rcvbuf() // 2))
            return [
                "sipp", "-sf", str(UAS_SCENARIO), "-i", HOST, "-p", str(port),
                "-nr", "-buff_size", buff,
            ]  # fmt: skip
        cmd = [sys.executable, str(self.script), "--host", HOST, "--port", str(port), *self.args]
        if self.loop == "uvloop":
            cmd.append("--uvloop")
        return cmd


def candidates(with_uvloop: bool) -> tuple[list[Uas], list[str]]:
    """Every UAS this run can measure, and a message for each one it cannot."""
    skipped: list[str] = []
    loops = ["asyncio"]
    if with_uvloop:
        if importlib.util.find_spec("uvloop") is not None:
            loops.append("uvloop")
        else:
            skipped.append("uvloop: not installed (pip install uvloop), asyncio loop only")
    out: list[Uas] = []
    if UAS_SCENARIO.is_file():
        out.append(Uas("sipp", "C (SIPp)", python=False))
    else:
        skipped.append(f"sipp: skipped, {UAS_SCENARIO.relative_to(REPO_ROOT)} not found")
    for name, module in (("bare", None), ("aiovoip", "aiovoip"), ("sippy", "sippy")):
        if module is not None and importlib.util.find_spec(module) is None:
            skipped.append(
                f"{name}: skipped, not installed (pip install -r bench/requirements.txt)"
            )
            continue
        script = BENCH_DIR / f"uas_{name}.py"
        if name == "sippy":
            # Not asyncio: sippy's own dispatcher (ED2) plus socket threads.
            out.append(Uas(name, "own (ED2+threads)", python=True, script=script))
        else:
            out.extend(Uas(name, loop, python=True, script=script) for loop in loops)
    sipstack_script = BENCH_DIR / "uas_sipstack.py"
    if sipstack_script.is_file():
        out.extend(Uas("sipstack", loop, python=True, script=sipstack_script) for loop in loops)
        # The same endpoint with the client SIP log on (JSON lines and text,
        # every message in and out), written in its process or offloaded to
        # a writer process: the log's cost is the difference.
        for mode in ("inline", "offload"):
            out.extend(
                Uas(f"sipstack+log-{mode}", loop, python=True, script=sipstack_script,
                    args=("--client-log", mode))
                for loop in loops
            )  # fmt: skip
    else:
        skipped.append("sipstack: skipped, bench/uas_sipstack.py does not exist yet")
    return out, skipped


# --- processes -------------------------------------------------------------------


def pinning_available() -> bool:
    """True when taskset exists and this process may use CPUs 0 and 1."""
    if shutil.which("taskset") is None:
        return False
    try:
        return {UAS_CPU, UAC_CPU} <= os.sched_getaffinity(0)
    except (AttributeError, OSError):
        return False


def pinned(cmd: list[str], cpu: int, pin: bool) -> list[str]:
    """Prefix ``cmd`` with ``taskset -c cpu`` when pinning."""
    return ["taskset", "-c", str(cpu), *cmd] if pin else cmd


def free_udp_port() -> int:
    """A UDP port on the loopback address that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _udp_socket_row(port: int) -> list[str] | None:
    """The /proc/net/udp row of the IPv4 socket bound to ``port``, or None."""
    suffix = f":{port:04X}"
    try:
        with open("/proc/net/udp", encoding="ascii") as f:
            next(f, None)
            for line in f:
                cols = line.split()
                if len(cols) > 1 and cols[1].endswith(suffix):
                    return cols
    except OSError:
        pass
    return None


def udp_port_bound(port: int) -> bool:
    """True when some socket is bound to UDP ``port``."""
    return _udp_socket_row(port) is not None


def udp_drops(port: int) -> int | None:
    """Datagrams the kernel dropped on the UDP socket bound to ``port`` (full buffer)."""
    row = _udp_socket_row(port)
    try:
        return None if row is None else int(row[-1])
    except ValueError:
        return None


def rss_kib(pid: int) -> int | None:
    """Resident set size of process ``pid`` in KiB (VmRSS), or None if unreadable."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _drain(stream: IO[bytes]) -> None:
    """Read a child's stdout to its end so the child never blocks on a full pipe."""
    for _ in iter(lambda: stream.read(65536), b""):
        pass


def wait_ready(proc: subprocess.Popen[bytes], uas: Uas, port: int, timeout: float) -> str | None:
    """Wait until the UAS listens; return None when it does, else why not."""
    deadline = time.monotonic() + timeout
    if uas.script is None:  # SIPp prints no READY: wait for its socket
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return f"exited with status {proc.returncode} before binding"
            if udp_port_bound(port):
                return None
            time.sleep(0.05)
        return f"did not bind UDP port {port} within {timeout:.0f} s"
    assert proc.stdout is not None
    found = threading.Event()

    def reader() -> None:
        stream = proc.stdout
        assert stream is not None
        for line in iter(stream.readline, b""):
            if line.strip() == b"READY":
                found.set()
                break
        _drain(stream)

    threading.Thread(target=reader, daemon=True).start()
    while time.monotonic() < deadline:
        if found.wait(0.05):
            return None
        if proc.poll() is not None:
            return f"exited with status {proc.returncode} before READY"
    return f"no READY within {timeout:.0f} s"


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate ``proc`` (this handle only), killing it if it does not exit in 3 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def tail(path: Path, limit: int = 600) -> str:
    """The last ``limit`` characters of a text file, for error messages."""
    try:
        return path.read_text(errors="replace")[-limit:].strip()
    except OSError:
        return ""


# --- SIPp statistics ----------------------------------------------------------------


@dataclass
class StepResult:
    """Outcome of one rate step against one UAS."""

    rate: int
    calls: int
    successful: int = 0
    failed: int = 0
    sent_rate: float = 0.0
    """Calls per second SIPp actually created while it was sending."""
    response_ms: float | None = None
    """Mean time from MESSAGE to its final answer (SIPp response time 1)."""
    retransmissions: int = 0
    failure_kinds: dict[str, int] = field(default_factory=dict)
    uas_drops: int | None = None
    """Datagrams the kernel dropped at the UAS socket because its receive buffer was full."""
    uas_cpu_seconds: float | None = None
    """CPU time (user + system, all threads) the UAS used during the step."""
    others_on_uas_cpu: float | None = None
    """Share of the UAS's CPU that other processes (or the hypervisor) took during the step."""
    pinned: bool = False
    """The UAS had one CPU to itself (so its load cannot exceed 1.0 while keeping up)."""
    attempt: int = 1
    will_retry: bool = False
    """The step failed and is run again (--retries)."""
    sipp_status: int | None = None
    error: str | None = None

    @property
    def uas_load(self) -> float | None:
        """UAS CPU time over the time SIPp spent sending (1.0 = one busy core)."""
        if self.uas_cpu_seconds is None or self.sent_rate <= 0:
            return None
        return self.uas_cpu_seconds / (self.calls / self.sent_rate)

    @property
    def cpu_us_per_message(self) -> float | None:
        """UAS CPU time per answered MESSAGE, in microseconds."""
        if self.uas_cpu_seconds is None or not self.successful:
            return None
        return self.uas_cpu_seconds / self.successful * 1e6

    @property
    def kept_up(self) -> bool:
        """The pinned UAS needed at most MAX_LOAD of its CPU while SIPp was sending.

        More means it was still working off a backlog after SIPp stopped: over
        a longer step that backlog would grow until answers came too late.
        """
        load = self.uas_load
        return not self.pinned or load is None or load <= MAX_LOAD

    @property
    def retransmissions_ok(self) -> bool:
        """SIPp retransmitted at most RETRANSMIT_BUDGET of the MESSAGEs."""
        return self.retransmissions <= RETRANSMIT_BUDGET * self.calls

    @property
    def may_be_noise(self) -> bool:
        """The failure could come from the machine rather than the UAS.

        True when other processes took at least NOISY_SHARE of the UAS's CPU
        during the step (or that is unknown), or when the step missed only
        marginally: at most MARGINAL_FAILURES of the transactions failed and
        at most five times the retransmission budget was spent.
        """
        if self.error is not None:
            return False
        if self.others_on_uas_cpu is None or self.others_on_uas_cpu >= NOISY_SHARE:
            return True
        return (
            self.failed <= MARGINAL_FAILURES * self.calls
            and self.retransmissions <= 5 * RETRANSMIT_BUDGET * self.calls
        )

    @property
    def rate_reached(self) -> bool:
        """SIPp sent at least RATE_REACHED of the asked rate."""
        return self.sent_rate >= RATE_REACHED * self.rate

    @property
    def passed(self) -> bool:
        """Every call succeeded with few retransmissions, and SIPp sent at the asked rate."""
        return (
            self.error is None
            and self.sipp_status == 0
            and self.failed == 0
            and self.successful == self.calls
            and self.retransmissions_ok
            and self.kept_up
            and self.rate_reached
        )

    def verdict(self) -> str:
        """Why the step passed or not, in a few words."""
        if self.error is not None:
            return self.error
        drops = f"{self.uas_drops} dropped at the UAS socket" if self.uas_drops else ""
        if self.failed or self.successful != self.calls:
            kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.failure_kinds.items()))
            kinds = "; ".join(x for x in (kinds, drops) if x)
            return f"{self.failed} failed" + (f" ({kinds})" if kinds else "")
        if not self.retransmissions_ok:
            return (
                f"{self.retransmissions} retransmissions, over {RETRANSMIT_BUDGET:.0%} "
                "of the MESSAGEs" + (f" ({drops})" if drops else "")
            )
        if not self.rate_reached:
            return f"rate not reached: SIPp sent {self.sent_rate:,.0f}/s"
        if not self.kept_up:
            return f"did not keep up: the UAS needed {self.uas_load:.0%} of its CPU"
        if self.sipp_status != 0:
            return f"SIPp exit status {self.sipp_status}"
        return "ok"


def _epoch(cell: str) -> float:
    """SIPp writes times as 'date<TAB>time<TAB>epoch'; return the epoch seconds."""
    return float(cell.split("\t")[-1])


def _duration_ms(cell: str) -> float:
    """SIPp durations look like HH:MM:SS:usec; return milliseconds."""
    h, m, s, us = (int(x) for x in cell.split(":"))
    return ((h * 60 + m) * 60 + s) * 1000.0 + us / 1000.0


def parse_stats(path: Path, step: StepResult) -> None:
    """Fill ``step`` from SIPp's ``-trace_stat`` CSV file."""
    with open(path, newline="", encoding="latin-1") as f:
        rows = list(csv.reader(f, delimiter=";"))
    if len(rows) < 2:
        raise ValueError("no statistics rows")
    header = rows[0]
    table = [
        dict(zip(header, row, strict=False)) for row in rows[1:] if len(row) >= len(header) - 1
    ]
    last = table[-1]
    step.successful = int(last["SuccessfulCall(C)"])
    step.failed = int(last["FailedCall(C)"])
    step.retransmissions = int(last["Retransmissions(C)"])
    step.failure_kinds = {
        name[len("Failed") : -len("(C)")]: int(value)
        for name, value in last.items()
        if name.startswith("Failed") and name.endswith("(C)") and name != "FailedCall(C)"
        if value.isdigit() and int(value) > 0
    }
    mean_rt = _duration_ms(last["ResponseTime1(C)"])
    step.response_ms = mean_rt if step.successful else None
    # Sending rate: calls created by the last dump taken while SIPp was still
    # creating calls, over the time since start.  (The final cumulative rate
    # also counts the wait for the last answers, so it would under-report.)
    start = _epoch(last["StartTime"])
    sent_rate = 0.0
    for row in table:
        created = int(row["OutgoingCall(C)"])
        elapsed = _epoch(row["CurrentTime"]) - start
        if created < step.calls and elapsed >= 0.2:
            sent_rate = created / elapsed
        elif created >= step.calls and sent_rate == 0.0 and elapsed > 0:
            sent_rate = created / elapsed  # everything within one period: a lower bound
    step.sent_rate = sent_rate


def cpu_ticks(cpu: int) -> tuple[int, int] | None:
    """(busy, total) clock ticks of CPU ``cpu`` since boot; steal time counts as busy."""
    prefix = f"cpu{cpu} "
    try:
        with open("/proc/stat", encoding="ascii") as f:
            for line in f:
                if line.startswith(prefix):
                    ticks = [int(x) for x in line.split()[1:]]
                    total = sum(ticks[:8])  # user .. steal; guest time is inside user
                    idle = ticks[3] + ticks[4]  # idle + iowait
                    return total - idle, total
    except (OSError, ValueError):
        pass
    return None


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of process ``pid`` (all its threads), in seconds."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


@dataclass(frozen=True)
class RunConfig:
    """Settings shared by every step of a run."""

    seconds: float
    """Length of one step; it sends rate * seconds MESSAGEs."""
    recv_timeout_ms: int
    """A MESSAGE without a final answer after this long fails."""
    retransmit: bool
    """SIPp retransmits unanswered MESSAGEs (RFC 3261 Timer E); False runs it with -nr."""
    retries: int
    """Extra runs of a failed step before the ramp stops."""
    pin: bool
    """Pin the UAS to CPU 0 and SIPp to CPU 1 with taskset."""
    workdir: Path
    """Scratch directory for SIPp's statistics and the processes' stderr."""


def run_step(port: int, uas_pid: int, rate: int, cfg: RunConfig) -> StepResult:
    """Drive one rate step with SIPp's UAC against the UAS on ``port`` (process ``uas_pid``)."""
    seconds, recv_timeout_ms, workdir, pin = cfg.seconds, cfg.recv_timeout_ms, cfg.workdir, cfg.pin
    calls = max(1, round(rate * seconds))
    step = StepResult(rate=rate, calls=calls, pinned=pin)
    stat_file = workdir / f"uac_{port}_{rate}.csv"
    err_file = workdir / f"uac_{port}_{rate}.err"
    budget = seconds + recv_timeout_ms / 1000.0 + 10.0
    cmd = [
        "sipp", f"{HOST}:{port}",
        "-sf", str(UAC_SCENARIO),
        "-i", HOST, "-p", str(free_udp_port()),
        "-r", str(rate), "-rp", "1000",
        "-m", str(calls),
        # Never the limiter: calls time out long before this many are open.
        "-l", str(max(100, rate * (recv_timeout_ms // 1000 + 2))),
        *(() if cfg.retransmit else ("-nr",)),
        "-recv_timeout", str(recv_timeout_ms),
        "-timeout", f"{int(budget)}s", "-timeout_error",
        "-buff_size", str(UAC_BUFFER),
        "-trace_stat", "-stf", str(stat_file), "-fd", STAT_PERIOD,
    ]  # fmt: skip
    drops_before = udp_drops(port)
    cpu_before = cpu_seconds(uas_pid)
    core_before = cpu_ticks(UAS_CPU) if pin else None
    with open(err_file, "wb") as err:
        try:
            done = subprocess.run(
                pinned(cmd, UAC_CPU, pin),
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                timeout=budget + 15.0,
                check=False,
            )
            step.sipp_status = done.returncode
            cpu_after = cpu_seconds(uas_pid)
            core_after = cpu_ticks(UAS_CPU) if pin else None
            if cpu_before is not None and cpu_after is not None:
                step.uas_cpu_seconds = cpu_after - cpu_before
                if core_before is not None and core_after is not None:
                    busy = core_after[0] - core_before[0]
                    total = core_after[1] - core_before[1]
                    if total > 0:
                        uas_ticks = step.uas_cpu_seconds * os.sysconf("SC_CLK_TCK")
                        step.others_on_uas_cpu = max(0.0, (busy - uas_ticks) / total)
            drops_after = udp_drops(port)
            if drops_before is not None and drops_after is not None:
                step.uas_drops = drops_after - drops_before
        except subprocess.TimeoutExpired:  # subprocess.run has killed SIPp
            step.error = f"SIPp did not finish within {budget + 15.0:.0f} s"
            return step
    try:
        parse_stats(stat_file, step)
    except (OSError, ValueError, KeyError) as exc:
        step.error = f"SIPp exit status {step.sipp_status}, no statistics ({exc}): {tail(err_file)}"
    return step


# --- one UAS ----------------------------------------------------------------------------


@dataclass
class UasResult:
    """The ramp of one UAS."""

    uas: Uas
    steps: list[StepResult] = field(default_factory=list)
    rss_before_kib: int | None = None
    rss_after_kib: int | None = None
    error: str | None = None
    """Why the UAS could not be measured at all, or why it died mid-ramp."""

    @property
    def best_rate(self) -> int:
        """Highest rate passed, every lower rate having passed too (0 if none)."""
        best = 0
        for step in self.steps:
            if step.passed:
                best = step.rate
            elif not step.will_retry:
                break
        return best

    @property
    def best_step(self) -> StepResult | None:
        """The passed step at the best rate."""
        best = self.best_rate
        return next((s for s in self.steps if s.passed and s.rate == best), None)

    @property
    def completed(self) -> bool:
        """Every rate of the ramp passed."""
        return self.error is None and bool(self.steps) and self.steps[-1].passed

    def stopped(self) -> str:
        """How the ramp ended."""
        if self.error is not None:
            return self.error
        for step in self.steps:
            if not step.passed and not step.will_retry:
                return f"{step.rate:,}/s: {step.verdict()}"
        return "passed every rate" if self.steps else "no step run"


def ramp(uas: Uas, rates: Sequence[int], cfg: RunConfig) -> UasResult:
    """Start ``uas``, step SIPp through ``rates`` until one fails, stop the UAS.

    A failed step that may have failed through the machine's noise (another
    process busy on the UAS's CPU, or only marginal failures) is run up to
    ``cfg.retries`` more times; the rate passes if one of the runs is clean.
    """
    result = UasResult(uas)
    port = free_udp_port()
    retries, workdir, pin = cfg.retries, cfg.workdir, cfg.pin
    err_path = workdir / f"uas_{uas.name}_{uas.loop.split()[0]}_{port}.err"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(
            pinned(uas.command(port), UAS_CPU, pin),
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL if uas.script is None else subprocess.PIPE,
            stderr=err,
            env=env,
        )
        try:
            problem = wait_ready(proc, uas, port, READY_TIMEOUT)
            if problem is not None:
                result.error = f"did not start: {problem}: {tail(err_path)}"
                return result
            time.sleep(0.2)  # let a fresh interpreter settle before the first step
            result.rss_before_kib = rss_kib(proc.pid)
            plan = [(rate, attempt) for rate in rates for attempt in range(1, retries + 2)]
            for rate, attempt in plan:
                last = result.steps[-1] if result.steps else None
                if attempt > 1 and last is not None and last.passed:
                    continue  # this rate passed already
                if last is not None and not last.passed and not last.will_retry:
                    break  # the ramp is over
                step = run_step(port, proc.pid, rate, cfg)
                step.attempt = attempt
                died = proc.poll() is not None
                step.will_retry = (
                    not step.passed and not died and attempt <= retries and step.may_be_noise
                )
                result.steps.append(step)
                print_step(uas, step)
                if died:
                    result.error = (
                        f"UAS exited with status {proc.returncode} at {rate:,}/s: {tail(err_path)}"
                    )
                    break
                result.rss_after_kib = rss_kib(proc.pid)
                time.sleep(0.3)  # let stray packets and timers of this step settle
        finally:
            stop(proc)
    return result


# --- report -------------------------------------------------------------------------------


def print_step(uas: Uas, step: StepResult) -> None:
    """One progress line for a finished step."""
    rt = "-" if step.response_ms is None else f"{step.response_ms:.0f} ms"
    load, per_msg = step.uas_load, step.cpu_us_per_message
    cpu = "-" if per_msg is None else f"{per_msg:.0f} us/msg"
    if load is not None:
        cpu += f" {load:.0%}"
    others = "-" if step.others_on_uas_cpu is None else f"{step.others_on_uas_cpu:.0%}"
    verdict = step.verdict() + (" -> run again" if step.will_retry else "")
    again = f" #{step.attempt}" if step.attempt > 1 else ""
    print(
        f"  {uas.label:<24} {step.rate:>6,}/s{again:<3} sent {step.sent_rate:>7,.0f}/s  "
        f"ok {step.successful:>6}/{step.calls:<6} rt {rt:>6}  retr {step.retransmissions:<5} "
        f"UAS {cpu:<15} others {others:>4}  {verdict}",
        flush=True,
    )


def _mib(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.1f}"


def sipstack_ratio(result: UasResult, results: Sequence[UasResult]) -> str:
    """sipstack's best rate over this Python UAS's, on the same loop when there is one."""
    if not result.uas.python or result.uas.name == "sipstack":
        return "-"
    by_loop = {r.uas.loop: r for r in results if r.uas.name == "sipstack" and r.error is None}
    mine = by_loop.get(result.uas.loop) or by_loop.get("asyncio")
    if mine is None:
        return "-"
    if result.best_rate == 0:
        return "inf" if mine.best_rate else "-"
    return f"{mine.best_rate / result.best_rate:.2f}x"


def print_table(results: Sequence[UasResult], rates: Sequence[int]) -> None:
    """Print the summary table: best zero-failure rate, RSS and ratio per UAS."""
    has_sipstack = any(r.uas.name == "sipstack" for r in results)
    headers = ["UAS", "loop", "max rate/s", "CPU us/msg", "RSS MiB before", "after"]
    if has_sipstack:
        headers.append("sipstack ×")
    headers.append("stopped at")
    rows: list[list[str]] = []
    for r in results:
        if r.error is not None and not r.steps:
            best = "n/a"
        elif r.best_rate == 0:
            best = f"<{rates[0]:,}"
        else:
            best = f"{r.best_rate:,}"
            if r.completed and r.best_rate == rates[-1]:
                best = f">={best}"
        step = r.best_step
        per_msg = None if step is None else step.cpu_us_per_message
        row = [
            r.uas.name,
            r.uas.loop,
            best,
            "-" if per_msg is None else f"{per_msg:.0f}",
            _mib(r.rss_before_kib),
            _mib(r.rss_after_kib),
        ]
        if has_sipstack:
            row.append(sipstack_ratio(r, results))
        row.append(r.stopped())
        rows.append(row)
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    widths[-1] = len(headers[-1])  # the last column is free text
    right = {2, 3, 4, 5, 6} if has_sipstack else {2, 3, 4, 5}

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    print()
    print(fmt(headers))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(fmt(row))
    print()
    print(
        "max rate: highest step with zero failed MESSAGE transactions, at most "
        f"{RETRANSMIT_BUDGET:.0%} of them retransmitted, SIPp having sent at >= "
        f"{RATE_REACHED:.0%} of the rate and the UAS having kept up (CPU load <= "
        f"{MAX_LOAD:.0%} while SIPp sent); '>=' means the ramp never failed.\n"
        "CPU us/msg: the UAS's CPU time (all threads) per answered MESSAGE at that rate."
    )
    if has_sipstack:
        print("sipstack ×: sipstack's max rate over the row's (same loop; asyncio for sippy).")


def sipp_version() -> str:
    """SIPp's version string, or why it is unknown."""
    try:
        out = subprocess.run(
            ["sipp", "-v"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    for line in out.splitlines():
        if "SIPp" in line:
            return line.strip()
    return "unknown"


def parse_rates(text: str) -> list[int]:
    """Parse a comma-separated list of positive rates, sorted ascending."""
    try:
        rates = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"bad rate list {text!r}") from exc
    if not rates or rates[0] <= 0:
        raise argparse.ArgumentTypeError("rates must be positive integers")
    return rates


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: run the ramps and print the table (exit 2 on setup errors)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: two low rates, 1 s each")
    parser.add_argument("--rates", type=parse_rates, help="comma-separated calls/s to step through")
    parser.add_argument(
        "--seconds", type=float, help=f"length of each step (default {FULL_SECONDS:g})"
    )
    parser.add_argument(
        "--recv-timeout",
        type=int,
        default=2000,
        metavar="MS",
        help="a MESSAGE without a final answer after this many ms fails (default 2000)",
    )
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these UASes")
    parser.add_argument(
        "--retries",
        type=int,
        default=1,
        metavar="N",
        help="run a failed step up to N more times when machine noise may explain it (default 1)",
    )
    parser.add_argument(
        "--no-retransmit",
        action="store_true",
        help="run SIPp with -nr: no Timer E, every lost datagram fails its transaction",
    )
    parser.add_argument("--no-uvloop", action="store_true", help="skip the uvloop variants")
    parser.add_argument("--json", metavar="FILE", type=Path, help="also write results as JSON")
    args = parser.parse_args(argv)

    rates: list[int] = args.rates or list(QUICK_RATES if args.quick else FULL_RATES)
    seconds: float = args.seconds or (QUICK_SECONDS if args.quick else FULL_SECONDS)
    if shutil.which("sipp") is None:
        print("error: sipp is not on PATH", file=sys.stderr)
        return 2
    if not UAC_SCENARIO.is_file():
        print(f"error: {UAC_SCENARIO.relative_to(REPO_ROOT)} not found", file=sys.stderr)
        return 2

    uases, skipped = candidates(with_uvloop=not args.no_uvloop)
    if args.only:
        wanted = {n.lower() for n in args.only}
        known = {u.name for u in uases} | {"sipp", "bare", "aiovoip", "sippy", "sipstack"}
        unknown = wanted - known
        if unknown:
            print(f"error: unknown UAS {sorted(unknown)}; known: {sorted(known)}", file=sys.stderr)
            return 2
        uases = [u for u in uases if u.name in wanted]
        skipped = [s for s in skipped if s.split(":")[0] in wanted or s.startswith("uvloop")]

    pin = pinning_available()
    print(f"SIPp: {sipp_version()}; Python {platform.python_version()}; CPUs {os.cpu_count()}")
    print(
        f"pinning: {'UAS on CPU 0, SIPp on CPU 1 (taskset)' if pin else 'none (no taskset or < 2 CPUs)'}"
    )
    print(
        f"rates: {', '.join(f'{r:,}' for r in rates)} calls/s, {seconds:g} s each; "
        + ("no SIPp retransmissions (-nr)" if args.no_retransmit else "SIPp retransmits (Timer E)")
        + f", receive timeout {args.recv_timeout} ms, "
        f"a failed step is run up to {max(0, args.retries)} more time(s) when noise may explain it"
    )
    print("load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    for line in skipped:
        print(f"  {line}")
    print(flush=True)

    started = time.monotonic()
    results: list[UasResult] = []
    with tempfile.TemporaryDirectory(prefix="sipload-") as tmp:
        for uas in uases:
            print(f"{uas.label}:", flush=True)
            cfg = RunConfig(
                seconds=seconds,
                recv_timeout_ms=args.recv_timeout,
                retransmit=not args.no_retransmit,
                retries=max(0, args.retries),
                pin=pin,
                workdir=Path(tmp),
            )
            result = ramp(uas, rates, cfg)
            if result.error is not None:
                print(f"  {uas.label}: {result.error}", flush=True)
            results.append(result)

    print_table(results, rates)
    print(
        f"total {time.monotonic() - started:.0f} s; load average at end: "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    if args.json:
        payload = {
            "python": platform.python_version(),
            "sipp": sipp_version(),
            "pinned": pin,
            "rates": rates,
            "seconds": seconds,
            "recv_timeout_ms": args.recv_timeout,
            "retries": args.retries,
            "skipped": skipped,
            "results": [
                {
                    **asdict(r.uas),
                    "script": None if r.uas.script is None else r.uas.script.name,
                    "best_rate": r.best_rate,
                    "stopped": r.stopped(),
                    "rss_before_kib": r.rss_before_kib,
                    "rss_after_kib": r.rss_after_kib,
                    "error": r.error,
                    "steps": [
                        {**asdict(s), "passed": s.passed, "verdict": s.verdict()} for s in r.steps
                    ],
                }
                for r in results
            ],
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
