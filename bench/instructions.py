"""Instructions per message, counted by valgrind: a benchmark that noise cannot move.

Wall-clock figures on a shared two-core machine swing by up to 2x between
runs; instruction counts do not.  For each implementation and operation this
runs the adapter under ``valgrind --tool=callgrind`` twice, once with ``N``
passes over the corpus and once with none, and divides the difference by the
number of messages parsed, so interpreter start-up and imports cancel out.

    python bench/instructions.py                       # sipstack and the correct competitors
    python bench/instructions.py --only sipstack sippy --ops touch full

Instructions are not time (a cache miss costs more than an add), but the
ratios between implementations track the wall-clock ratios and are
repeatable to a fraction of a percent.  Needs valgrind (``apt-get install
valgrind``); ``PYTHONHASHSEED`` is fixed so dict layouts are the same in
every run.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CORPUS = sorted((HERE / "corpus").glob("*.sip"))
OPS = ("touch", "full", "serialize")
DEFAULT = ("sipstack", "sippy", "sipmessage", "aiosipua")

# The child: load one adapter and run one operation N times over the corpus.
CHILD = """
import sys
sys.path[:0] = [{bench!r}, {root!r}]
from competitors import COMPETITORS, SIPSTACK
name, op, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
cls = next(c for c in (SIPSTACK, *COMPETITORS) if c.name.lower() == name.lower())
adapter = cls()
datas = [open(p, "rb").read() for p in {corpus!r}]
if op == "serialize":
    fns = [adapter.serializer(d) for d in datas]
    calls = [f for f in fns if f is not None]
else:
    fn = getattr(adapter, op)
    calls = [(lambda d=d: fn(d)) for d in datas]
for f in calls:
    f()
for _ in range(n):
    for f in calls:
        f()
"""


def callgrind_instructions(script: str, *args: str) -> int:
    """Instructions a fresh interpreter executes running ``script`` (with
    ``args``) under callgrind, hash seed fixed."""
    return callgrind_processes(script, *args)[0]


def callgrind_processes(script: str, *args: str, children: bool = False) -> list[int]:
    """Like :func:`callgrind_instructions`; with ``children``, processes the
    script starts are counted too: one total per process, the script's
    first."""
    env = dict(os.environ, PYTHONHASHSEED="0")
    proc = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            f"--trace-children={'yes' if children else 'no'}",
            sys.executable,
            "-c",
            script,
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
        check=False,
    )
    totals = re.findall(r"==(\d+)== Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or not totals:
        tail = proc.stderr.strip().splitlines()[-3:]
        raise RuntimeError(f"valgrind run failed: {' | '.join(tail)}")
    first = re.search(r"==(\d+)==", proc.stderr)
    main_pid = first.group(1) if first else totals[0][0]
    ordered = sorted(totals, key=lambda t: t[0] != main_pid)
    return [int(n) for _, n in ordered]


def count(name: str, op: str, n: int) -> int:
    """Instructions executed by the child for ``n`` passes."""
    script = CHILD.format(bench=str(HERE), root=str(ROOT), corpus=[str(p) for p in CORPUS])
    try:
        return callgrind_instructions(script, name, op, str(n))
    except RuntimeError as exc:
        raise RuntimeError(f"{name} {op}: {exc}") from None


def per_message(name: str, op: str, n: int) -> float:
    """Instructions per message for one implementation and operation."""
    return (count(name, op, n) - count(name, op, 0)) / (n * len(CORPUS))


def main(argv: list[str] | None = None) -> int:
    """Print instructions per message and the ratio to sipstack."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", nargs="+", default=list(DEFAULT), help="implementations to count")
    p.add_argument("--ops", nargs="+", default=list(OPS), choices=OPS)
    p.add_argument("-n", type=int, default=20, help="passes over the corpus (default 20)")
    args = p.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    names = ["sipstack", *[x for x in args.only if x.lower() != "sipstack"]]
    results: dict[tuple[str, str], float | None] = {}
    for name in names:
        for op in args.ops:
            try:
                results[name, op] = per_message(name, op, args.n)
            except (RuntimeError, StopIteration, subprocess.TimeoutExpired) as exc:
                print(f"  {name} {op}: {exc}", file=sys.stderr)
                results[name, op] = None
    print(f"instructions per message over {len(CORPUS)} corpus messages (x = / sipstack)\n")
    print(f"{'implementation':<14}" + "".join(f"{op:>22}" for op in args.ops))
    for name in names:
        cells = []
        for op in args.ops:
            v, base = results[name, op], results["sipstack", op]
            if v is None:
                cells.append(f"{'-':>22}")
            elif base:
                cells.append(f"{v:>13,.0f} {v / base:>6.1f}x")
            else:
                cells.append(f"{v:>22,.0f}")
        print(f"{name:<14}" + "".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
