"""MESSAGE relay rate through ``sipstack server`` between two SIPp endpoints.

A SIPp UAS registers as ``bob`` (digest, answered by SIPp) and answers
MESSAGEs; a SIPp UAC sends MESSAGEs to ``sip:bob@<server>`` at a fixed rate
for a few seconds per step, ramping up.  A step passes when SIPp counts no
failed call, every call of the UAC succeeded and the UAS answered them all.
The server runs as its own process (``python -m sipstack server``); its CPU
use per step is read from /proc.

    python bench/bench_server_relay.py                    # default ramp
    python bench/bench_server_relay.py --rates 1000 3000 --seconds 5

Targets: at least 3,000 relayed MESSAGEs/s with 0 failures; with
``--archive`` (mandatory archiving, SQLite) at least 2,000/s relayed and
archived.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ports import free_port_pair, free_udp

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "tests" / "sipp" / "scenarios"
TARGET = 3000
ARCHIVE_TARGET = 2000  # relayed and archived, with mandatory archiving
CONFIG = """[registrar]
digest_algorithms = ["MD5", "SHA-256"]
[policy]
anonymous_inbound = true
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sipp_stats(path: Path) -> dict[str, str]:
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    if len(rows) < 2:
        return {}
    return dict(zip(rows[0], rows[-1], strict=False))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", type=int, nargs="+", default=[500, 1000, 2000, 3000, 4000])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument(
        "--archive", action="store_true",
        help="run the server with mandatory archiving (every MESSAGE committed before its 200)",
    )  # fmt: skip
    args = ap.parse_args()
    sipp = shutil.which("sipp")
    if sipp is None:
        print("SIPp is needed: apt-get install sip-tester", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="relay-"))
    data = work / "data"
    (work / "server.toml").write_text(CONFIG)
    env = dict(os.environ, PYTHONPATH=str(ROOT), SIPSTACK_PASSWORD="b")
    subprocess.run(
        [sys.executable, "-m", "sipstack", "users", "add", "bob", "--data-dir", str(data)],
        check=True, env=env, capture_output=True,
    )  # fmt: skip
    port = free_port_pair()
    server = subprocess.Popen(
        [sys.executable, "-m", "sipstack", "server", "--data-dir", str(data),
         "--listen", f"127.0.0.1:{port}", "--config", str(work / "server.toml"),
         *(["--archive", "--archive-mandatory"] if args.archive else [])],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    uas = None
    try:
        assert server.stdout is not None
        while not server.stdout.readline().startswith(b"data in"):
            pass
        uas_port = free_udp()
        uas = subprocess.Popen(
            [sipp, "-sf", str(SCENARIOS / "message_uas.xml"), "-t", "u1", "-i", "127.0.0.1",
             "-p", str(uas_port), "-nostdin", "-trace_stat", "-stf", str(work / "uas.csv"),
             "-fd", "1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(0.5)
        reg = subprocess.run(
            [sipp, f"127.0.0.1:{port}", "-sf", str(SCENARIOS / "register_auth_uac.xml"),
             "-t", "u1", "-i", "127.0.0.1", "-p", str(free_udp()), "-m", "1", "-nostdin",
             "-au", "bob", "-ap", "b", "-set", "user", "bob", "-set", "contact_port",
             str(uas_port), "-timeout", "10s", "-timeout_error"],
            capture_output=True,
        )  # fmt: skip
        if reg.returncode != 0:
            print("SIPp could not register", file=sys.stderr)
            return 1
        mode = ", mandatory archiving" if args.archive else ""
        print(
            f"sipstack server relay{mode}, MESSAGE UAC -> server -> UAS, {args.seconds:g} s per step"
        )
        print(f"{'rate/s':>8} {'ok':>8} {'failed':>7} {'retrans':>8} {'server CPU':>11}  result")
        best = 0
        for rate in args.rates:
            calls = int(rate * args.seconds)
            stats = work / f"uac-{rate}.csv"
            before = cpu_seconds(server.pid)
            started = time.monotonic()
            run = subprocess.run(
                [sipp, f"127.0.0.1:{port}", "-sf", str(SCENARIOS / "message_uac.xml"),
                 "-s", "bob", "-t", "u1", "-i", "127.0.0.1", "-p", str(free_udp()),
                 "-r", str(rate), "-m", str(calls), "-l", str(rate * 4), "-nostdin",
                 "-timeout", f"{args.seconds * 3 + 10:g}s", "-timeout_error",
                 "-trace_stat", "-stf", str(stats), "-fd", "1"],
                capture_output=True,
            )  # fmt: skip
            wall = time.monotonic() - started
            cpu = cpu_seconds(server.pid) - before
            row = sipp_stats(stats)
            ok = int(row.get("SuccessfulCall(C)", 0))
            failed = int(row.get("FailedCall(C)", 0))
            retrans = int(row.get("Retransmissions(C)", 0))
            passed = run.returncode == 0 and failed == 0 and ok == calls
            if passed:
                best = rate
            print(
                f"{rate:>8} {ok:>8} {failed:>7} {retrans:>8} {100 * cpu / wall:>10.0f}%  "
                f"{'pass' if passed else 'FAIL'}"
            )
        target = ARCHIVE_TARGET if args.archive else TARGET
        print(f"highest passing rate: {best}/s (target {target}/s, ratio {best / target:.2f})")
        if args.archive:
            import sqlite3

            with sqlite3.connect(data / "sipstack.db") as db:
                (stored,) = db.execute(
                    "SELECT COUNT(*) FROM archive WHERE kind='message'"
                ).fetchone()
            print(f"archived MESSAGEs: {stored}")
        return 0
    finally:
        for proc in (uas, server):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
