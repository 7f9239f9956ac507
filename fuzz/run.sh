#!/usr/bin/env bash
# Run each fuzz harness for a bounded time.
#
#   fuzz/run.sh                 # every harness, FUZZ_TIME seconds each
#   FUZZ_TIME=600 fuzz/run.sh parse
#
# Environment: FUZZ_TIME (seconds per harness, default 60), FUZZ_RSS_MB (2048),
# FUZZ_MAX_LEN (bytes, 8192), FUZZ_TIMEOUT (seconds per input, 10),
# PYTHON (interpreter, python3).  Extra libFuzzer flags go in FUZZ_ARGS.
#
# The committed seed corpus is copied to a temporary directory first, so
# runs never add files to it.  Crashing inputs land in fuzz/crashes/
# (git-ignored).  Exits non-zero when any harness crashed.
set -u

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
time="${FUZZ_TIME:-60}"
rss="${FUZZ_RSS_MB:-2048}"
max_len="${FUZZ_MAX_LEN:-8192}"
timeout="${FUZZ_TIMEOUT:-10}"
python="${PYTHON:-python3}"
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(parse framer)

work="$(mktemp -d "${TMPDIR:-/tmp}/sipstack-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$here/crashes"

status=0
for target in "${targets[@]}"; do
    harness="$here/fuzz_$target.py"
    if [ ! -f "$harness" ]; then
        echo "no harness $harness" >&2
        status=2
        continue
    fi
    mkdir -p "$work/$target"
    cp "$here/corpus/$target/"* "$work/$target/"
    echo "== fuzz_$target: ${time}s"
    # shellcheck disable=SC2086
    if ! (cd "$root" && PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" "$python" "$harness" \
        "$work/$target" \
        -max_total_time="$time" \
        -rss_limit_mb="$rss" \
        -max_len="$max_len" \
        -timeout="$timeout" \
        -dict="$here/sip.dict" \
        -artifact_prefix="$here/crashes/$target-" \
        -print_final_stats=1 \
        ${FUZZ_ARGS:-}); then
        echo "== fuzz_$target: CRASHED (inputs in $here/crashes/)" >&2
        status=1
    fi
done
exit "$status"
