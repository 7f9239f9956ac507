#!/usr/bin/env bash
# Run the C accelerator under AddressSanitizer and UndefinedBehaviorSanitizer.
#
#   fuzz/sanitize.sh              # FUZZ_TIME seconds of fuzzing (default 30)
#
# 1. The parse fuzzer runs for FUZZ_TIME seconds on the normal build and
#    keeps the inputs it found interesting (coverage needs libFuzzer's own
#    hooks, which the sanitizer runtime would take over).
# 2. The accelerator is rebuilt with both sanitizers into a copy of the
#    package, and against that build the tests that hold it equal to the
#    pure-Python parser run, then every input the fuzzer kept is replayed.
#
# The checkout's own build is left alone.  Needs gcc.  Exits non-zero on any
# sanitizer report, test failure or fuzzer crash.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
python="${PYTHON:-python3}"
cc="${CC:-gcc}"
time="${FUZZ_TIME:-30}"

work="$(mktemp -d "${TMPDIR:-/tmp}/sipstack-sanitize.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$here/crashes"
cp "$here/corpus/parse/"* "$work/corpus/"

echo "== fuzz_parse on the normal build: ${time}s"
(cd "$root" && PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" "$python" "$here/fuzz_parse.py" \
  "$work/corpus" -max_total_time="$time" -max_len=8192 -timeout=10 -dict="$here/sip.dict" \
  -artifact_prefix="$here/crashes/parse-" -print_final_stats=1 2>&1 | grep -E "^(stat::|Done|==)" || true)

echo "== building the accelerator with ASan and UBSan"
cp -r "$root/sipstack" "$work/sipstack"
find "$work/sipstack" -name '*.so' -delete
suffix="$("$python" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')"
includes="$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
"$cc" -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
  -fno-omit-frame-pointer -fPIC -shared -I"$includes" \
  "$root/sipstack/message/_speedups.c" -o "$work/sipstack/message/_speedups$suffix"

export LD_PRELOAD="$("$cc" -print-file-name=libasan.so) $("$cc" -print-file-name=libubsan.so)"
# CPython frees little at exit by design: leak reports would be noise.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# Python objects from malloc, so the sanitizer sees the bounds of each buffer.
export PYTHONMALLOC=malloc
export PYTHONPATH="$work${PYTHONPATH:+:$PYTHONPATH}"
# (pytest runs with -s: a report must reach the terminal, not its capture.)
# From the copy's directory, so the checkout is not first on sys.path.
cd "$work"
"$python" - <<'PY'
import sipstack.message as m
import sipstack.message._speedups as s
assert m.ACCELERATED, "the sanitized accelerator did not load"
assert "sipstack-sanitize" in s.__file__, s.__file__
PY

echo "== tests against the sanitized build"
"$python" -m pytest -q -s -p no:cacheprovider -c "$root/pyproject.toml" --rootdir "$root" \
  "$root/tests/test_speedups.py" "$root/tests/test_parse.py" "$root/tests/test_framer.py"

n="$(find "$work/corpus" -type f | wc -l)"
echo "== replaying the fuzzer's $n inputs against the sanitized build"
if ! "$python" "$here/fuzz_parse.py" -runs=0 -artifact_prefix="$here/crashes/parse-asan-" \
  "$work/corpus" >"$work/replay.log" 2>&1; then
  tail -n 60 "$work/replay.log"
  exit 1
fi
grep -E "INITED|DONE" "$work/replay.log" | tail -n 1
echo "== sanitized: no reports"
