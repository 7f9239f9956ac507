"""Parse/serialize benchmark: sipstack against the Python SIP parsers on PyPI.

Usage::

    python bench/bench_parse.py [--quick] [--json FILE] [--only NAME ...]

For every implementation the corpus in ``bench/corpus/`` is first checked
against ``expected.json`` (each ``touch`` must return the expected Call-ID,
top Via branch and host, CSeq number and method; ``full`` must not raise; a
re-serialized message must parse back to the same values).  Then three
operations are timed, each reported in microseconds per message averaged over
the corpus: touch-parse, full typed parse, and serialization of an unmodified
parsed message.  An implementation that fails on some files is timed on the
files it handles and its numbers are flagged as partial; it never counts as
the "fastest correct competitor".
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
CORPUS_DIR = BENCH_DIR / "corpus"

# Run from a source checkout without installing: make `sipstack` and the
# sibling `competitors` module importable.
for _path in (str(REPO_ROOT), str(BENCH_DIR)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from competitors import COMPETITORS, SIPSTACK, Adapter, load  # noqa: E402

OPS: tuple[str, ...] = ("touch", "full", "serialize")


def _accelerator_state() -> str:
    """Which sipstack parser the figures are of."""
    try:
        from sipstack.message import ACCELERATED
    except ImportError:
        return "unknown"
    if ACCELERATED:
        return "on (SIPSTACK_NO_EXTENSIONS=1 measures the pure-Python parser)"
    return "off (pure-Python parser)"
TARGETS_US: dict[str, float] = {"touch": 8.0, "full": 20.0, "serialize": 3.0}
TARGET_SPEEDUP = 4.0


@dataclass(frozen=True)
class Settings:
    """Timing parameters."""

    repeats: int
    """Timed repeats per measurement; the median and best are reported."""
    repeat_seconds: float
    """Approximate wall time of one repeat (the loop count is calibrated to it)."""
    warmup_seconds: float
    """Untimed run before calibration, to warm caches and lazy imports."""
    stat: str = "median"
    """Statistic of the repeats shown and compared: "median" or "best"."""


FULL = Settings(repeats=7, repeat_seconds=0.2, warmup_seconds=0.1)
QUICK = Settings(repeats=3, repeat_seconds=0.02, warmup_seconds=0.01)


@dataclass
class Timing:
    """Result of timing one operation of one implementation."""

    median_us: float
    best_us: float
    us: float
    """The reported value: median_us or best_us, as chosen by Settings.stat."""
    files: int
    """Number of corpus files the operation was timed on."""
    partial: bool
    """True when some corpus files were left out because the operation failed on them."""


@dataclass
class Result:
    """Everything measured for one implementation."""

    name: str
    version: str | None = None
    is_sipstack: bool = False
    load_error: str | None = None
    failures: dict[str, list[str]] = field(default_factory=dict)
    """Per operation, ``"file: error"`` strings."""
    correct: bool = False
    """touch matched expected.json and full did not raise, on every corpus file."""
    serialize_supported: bool = False
    timings: dict[str, Timing] = field(default_factory=dict)
    notes: str = ""


def load_corpus() -> tuple[dict[str, bytes], dict[str, tuple[object, ...]]]:
    """Return the corpus messages and the expected touch tuple of each file."""
    expected_raw = json.loads((CORPUS_DIR / "expected.json").read_text(encoding="utf-8"))
    messages: dict[str, bytes] = {}
    expected: dict[str, tuple[object, ...]] = {}
    for name in sorted(expected_raw):
        e = expected_raw[name]
        messages[name] = (CORPUS_DIR / name).read_bytes()
        expected[name] = (e["call_id"], e["branch"], e["host"], e["cseq_num"], e["cseq_method"])
    return messages, expected


def _describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:160]}" if text else type(exc).__name__


def check(
    adapter: Adapter,
    messages: dict[str, bytes],
    expected: dict[str, tuple[object, ...]],
    result: Result,
) -> dict[str, list[str]]:
    """Verify ``adapter`` on the corpus; return, per operation, the files it handles."""
    ok: dict[str, list[str]] = {op: [] for op in OPS}
    failures: dict[str, list[str]] = {op: [] for op in OPS}
    for name, data in messages.items():
        try:
            got = adapter.touch(data)
            if tuple(got) == expected[name]:
                ok["touch"].append(name)
            else:
                failures["touch"].append(f"{name}: got {got!r}, expected {expected[name]!r}")
        except Exception as exc:
            failures["touch"].append(f"{name}: {_describe(exc)}")
        try:
            adapter.full(data)
            ok["full"].append(name)
        except Exception as exc:
            failures["full"].append(f"{name}: {_describe(exc)}")
        try:
            out = adapter.serialize(data)
        except Exception as exc:
            failures["serialize"].append(f"{name}: {_describe(exc)}")
            continue
        if out is None:
            continue
        result.serialize_supported = True
        try:
            again = adapter.touch(out)
        except Exception as exc:
            failures["serialize"].append(f"{name}: output does not re-parse: {_describe(exc)}")
            continue
        if tuple(again) != expected[name]:
            failures["serialize"].append(f"{name}: output re-parses as {again!r}")
        else:
            ok["serialize"].append(name)
    result.failures = {op: f for op, f in failures.items() if f}
    result.correct = len(ok["touch"]) == len(ok["full"]) == len(messages)
    return ok


def _run(fns: Sequence[Callable[[], object]], loops: int) -> int:
    """Call every function in ``fns`` ``loops`` times; return elapsed nanoseconds."""
    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for _ in range(loops):
            for fn in fns:
                fn()
        return time.perf_counter_ns() - start
    finally:
        if gc_was_enabled:
            gc.enable()


def measure(fns: Sequence[Callable[[], object]], settings: Settings) -> tuple[float, float]:
    """Time ``fns`` (one call per corpus file); return (median, best) µs per call."""
    deadline = time.perf_counter() + settings.warmup_seconds
    per_pass_ns = float(_run(fns, 1))  # warm-up: at least one pass
    while time.perf_counter() < deadline:
        per_pass_ns = min(per_pass_ns, _run(fns, 1))
    loops = max(1, round(settings.repeat_seconds * 1e9 / max(per_pass_ns, 1.0)))
    samples = [_run(fns, loops) / (loops * len(fns)) / 1000.0 for _ in range(settings.repeats)]
    return statistics.median(samples), min(samples)


def _bind(fn: Callable[[bytes], object], data: bytes) -> Callable[[], object]:
    return lambda: fn(data)


def bench_one(
    cls: type[Adapter],
    messages: dict[str, bytes],
    expected: dict[str, tuple[object, ...]],
    settings: Settings,
) -> Result:
    """Load, check and time one implementation."""
    loaded = load(cls)
    result = Result(name=cls.name, is_sipstack=cls.name == "sipstack", notes=cls.notes)
    if loaded.adapter is None:
        result.load_error = loaded.error
        return result
    adapter = loaded.adapter
    result.version = adapter.version
    ok = check(adapter, messages, expected, result)
    total = len(messages)
    for op in ("touch", "full"):
        files = ok[op]
        if files:
            method = adapter.touch if op == "touch" else adapter.full
            fns = [_bind(method, messages[n]) for n in files]
            median, best = measure(fns, settings)
            shown = best if settings.stat == "best" else median
            result.timings[op] = Timing(median, best, shown, len(files), len(files) < total)
    if ok["serialize"]:
        sers = [adapter.serializer(messages[n]) for n in ok["serialize"]]
        fns = [s for s in sers if s is not None]
        median, best = measure(fns, settings)
        shown = best if settings.stat == "best" else median
        result.timings["serialize"] = Timing(median, best, shown, len(fns), len(fns) < total)
    return result


# --- reporting ------------------------------------------------------------------------


def _cell(t: Timing | None) -> str:
    if t is None:
        return "-"
    return f"{t.us:.2f}{'*' if t.partial else ''}"


def _ratio(t: Timing | None, base: Timing | None) -> str:
    if t is None or base is None or base.us <= 0:
        return "-"
    return f"{t.us / base.us:.1f}x"


def fastest_correct(results: Sequence[Result], op: str) -> Result | None:
    """Fastest competitor that handled the whole corpus correctly for ``op``."""
    best: Result | None = None
    for r in results:
        if r.is_sipstack or not r.correct:
            continue
        t = r.timings.get(op)
        if t is None or t.partial:
            continue
        if best is None or t.us < best.timings[op].us:
            best = r
    return best


def print_report(results: Sequence[Result], total_files: int, settings: Settings) -> bool:
    """Print the table, failures and targets; return True if sipstack meets every target."""
    base = next((r for r in results if r.is_sipstack and r.load_error is None), None)
    headers = [
        "implementation",
        "version",
        "corpus",
        "touch µs",
        "full µs",
        "ser. µs",
        "touch ×",
        "full ×",
        "ser. ×",
    ]
    rows: list[list[str]] = []
    for r in results:
        if r.load_error is not None:
            rows.append([r.name, "-", "skipped", *["-"] * 6])
            continue
        status = "ok" if r.correct else "PARTIAL"
        times = [_cell(r.timings.get(op)) for op in OPS]
        if r.is_sipstack:
            ratios = ["1.0x" if op in r.timings else "-" for op in OPS]
        else:
            ratios = [
                _ratio(r.timings.get(op), base.timings.get(op) if base else None) for op in OPS
            ]
        rows.append([r.name, r.version or "-", status, *times, *ratios])
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        first = [cells[0].ljust(widths[0]), cells[1].ljust(widths[1]), cells[2].ljust(widths[2])]
        rest = [c.rjust(w) for c, w in zip(cells[3:], widths[3:], strict=True)]
        return "  ".join(first + rest)

    print(
        f"\nSIP parse/serialize benchmark: {total_files} corpus messages, "
        f"{settings.stat} of {settings.repeats} repeats, µs per message "
        f"(Python {platform.python_version()}, {platform.machine()})"
    )
    print(f"sipstack's C accelerator: {_accelerator_state()}\n")
    print(line(headers))
    print(line(["-" * w for w in widths]))
    for row in rows:
        print(line(row))
    print(
        "\n  corpus ok = touch values match expected.json and full parse succeeds on all "
        "files;\n  * = timed only on the files the implementation handles;"
        "  × = time / sipstack time."
    )

    for r in results:
        if r.load_error is not None:
            print(f"\n{r.name}: skipped, {r.load_error}")
        for op, fails in r.failures.items():
            print(f"\n{r.name}: {op} failed on {len(fails)}/{total_files} files:")
            for f in fails:
                print(f"    {f}")
        if r.load_error is None and not r.serialize_supported:
            print(f"\n{r.name}: no serializer")

    print("\nTargets for sipstack:")
    if base is None:
        sip = next((r for r in results if r.is_sipstack), None)
        reason = sip.load_error if sip is not None else "not selected"
        print(f"  sipstack not measured ({reason}); targets not evaluated.")
        return False
    all_met = base.correct
    print(f"  parses the whole corpus correctly: {'yes' if base.correct else 'NO'}")
    for op in OPS:
        t = base.timings.get(op)
        limit = TARGETS_US[op]
        met = t is not None and not t.partial and t.us <= limit
        all_met &= met
        shown = "-" if t is None else f"{t.us:.2f} µs"
        print(f"  {op:<9} ≤ {limit:>4.1f} µs: {shown:>10}  {'met' if met else 'NOT met'}")
    for op in OPS:
        rival = fastest_correct(results, op)
        t = base.timings.get(op)
        if rival is None:
            print(
                f"  {op:<9} ≥ {TARGET_SPEEDUP:.0f}x fastest correct competitor: "
                "no competitor handles the whole corpus"
            )
            continue
        rt = rival.timings[op]
        speedup = rt.us / t.us if t is not None and t.us > 0 else 0.0
        met = t is not None and speedup >= TARGET_SPEEDUP
        all_met &= met
        print(
            f"  {op:<9} ≥ {TARGET_SPEEDUP:.0f}x fastest correct competitor "
            f"({rival.name}, {rt.us:.2f} µs): {speedup:.1f}x  "
            f"{'met' if met else 'NOT met'}"
        )
    print(f"\nAll targets {'met' if all_met else 'NOT met'}.")
    return all_met


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; exit status is 0 whatever the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run (a few seconds)")
    parser.add_argument(
        "--stat",
        choices=("median", "best"),
        default="median",
        help="statistic of the repeats to report and compare (default: median)",
    )
    parser.add_argument("--json", metavar="FILE", type=Path, help="also write results as JSON")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="benchmark only these implementations (sipstack is always kept)",
    )
    args = parser.parse_args(argv)
    settings = replace(QUICK if args.quick else FULL, stat=args.stat)
    messages, expected = load_corpus()

    classes = [SIPSTACK, *COMPETITORS]
    if args.only:
        wanted = {n.lower() for n in args.only} | {"sipstack"}
        classes = [c for c in classes if c.name.lower() in wanted]

    results: list[Result] = []
    for cls in classes:
        print(f"benchmarking {cls.name} ...", file=sys.stderr, flush=True)
        results.append(bench_one(cls, messages, expected, settings))

    met = print_report(results, len(messages), settings)
    if args.json:
        payload = {
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "machine": platform.machine(),
            "settings": asdict(settings),
            "corpus_files": sorted(messages),
            "targets_us": TARGETS_US,
            "target_speedup": TARGET_SPEEDUP,
            "targets_met": met,
            "results": [asdict(r) for r in results],
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
