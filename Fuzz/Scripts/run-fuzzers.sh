#!/usr/bin/env bash
# Runs each fuzzer for SECONDS under AddressSanitizer, one after another, and prints
# a line per target (executions, exec/s, coverage, crashes). Usage:
#   Fuzz/Scripts/run-fuzzers.sh SECONDS [target ...]     (default: every target)
# The corpus each run grows is kept in Fuzz/.corpus/<target>/ (seeded from
# Fuzz/.seeds/<target>/); crashing inputs land in Fuzz/.artifacts/<target>/.
# Exits non-zero if any target crashed, leaked, ran out of memory or timed out.
set -uo pipefail
cd "$(dirname "$0")/../.."

SECONDS_PER_TARGET=${1:?usage: run-fuzzers.sh SECONDS [target ...]}
shift
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(gguf safetensors hf-config llama2c tokenizer-json tokenizer-model converter-config chat-template tool-calls)
BIN=${FUZZ_BIN:-Fuzz/.build-fuzz/release}
# An allocation sized by an untrusted number (-malloc_limit_mb) or a runaway loop
# (-timeout, seconds per input) counts as a crash, as a segfault does.
RSS_LIMIT_MB=${FUZZ_RSS_LIMIT_MB:-2048}
MALLOC_LIMIT_MB=${FUZZ_MALLOC_LIMIT_MB:-512}
TIMEOUT=${FUZZ_TIMEOUT:-10}

declare -A MAX_LEN=([gguf]=65536 [safetensors]=16384 [hf-config]=4096 [llama2c]=65536
    [tokenizer-json]=65536 [tokenizer-model]=32768 [converter-config]=4096 [chat-template]=16384
    [tool-calls]=4096)
declare -A DICT=([hf-config]=json [tokenizer-json]=json [converter-config]=json [safetensors]=json [chat-template]=jinja [tool-calls]=json)

python3 Fuzz/Scripts/make-seeds.py Fuzz/.seeds >/dev/null

# Runs one target; its exit status goes to Fuzz/.logs/<target>.status and its CPU
# seconds (user + system) to Fuzz/.logs/<target>.cpu.
run_target() {
    local target=$1
    local log="Fuzz/.logs/$target.log"
    local args=(-max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb="$RSS_LIMIT_MB" -malloc_limit_mb="$MALLOC_LIMIT_MB"
        -timeout="$TIMEOUT" -max_len="${MAX_LEN[$target]}" -print_final_stats=1
        -artifact_prefix="Fuzz/.artifacts/$target/")
    [ -n "${DICT[$target]:-}" ] && args+=(-dict="Fuzz/Dictionaries/${DICT[$target]}.dict")
    local start=$SECONDS TIMEFORMAT="%U %S"
    { time ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} "$BIN/fuzz-$target" "${args[@]}" ${FUZZ_EXTRA_ARGS:-} \
        "Fuzz/.corpus/$target" "Fuzz/.seeds/$target" >"$log" 2>&1; } 2>"Fuzz/.logs/$target.time"
    echo $? >"Fuzz/.logs/$target.status"
    echo $((SECONDS - start)) >"Fuzz/.logs/$target.wall"
}

for target in "${TARGETS[@]}"; do mkdir -p "Fuzz/.corpus/$target" "Fuzz/.artifacts/$target" Fuzz/.logs; done
# FUZZ_PARALLEL=1 runs every target at once (each for SECONDS of wall time, sharing the
# cores); by default they run one after another.
if [ "${FUZZ_PARALLEL:-0}" = 1 ]; then
    for target in "${TARGETS[@]}"; do run_target "$target" & done
    wait
else
    for target in "${TARGETS[@]}"; do run_target "$target"; done
fi

failed=()
for target in "${TARGETS[@]}"; do
    log="Fuzz/.logs/$target.log"
    status=$(cat "Fuzz/.logs/$target.status")
    cpu=$(awk '{ printf "%.0f", $1 + $2 }' "Fuzz/.logs/$target.time" 2>/dev/null)
    wall=$(cat "Fuzz/.logs/$target.wall")
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    coverage=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
    if [ $status -eq 0 ]; then
        echo "fuzz-$target: ${runs:-?} runs in ${wall} s (${cpu:-?} CPU s), ${speed:-?} exec/s, ${coverage:-no coverage line}"
    else
        failed+=("$target")
        echo "fuzz-$target: FAILED (exit $status) after ${runs:-?} runs, ${coverage:-}; see $log and Fuzz/.artifacts/$target/"
        grep -m1 -E 'Swift runtime failure|Fatal error|==ERROR|deadly signal|out-of-memory|timeout after' "$log" | sed 's/^/    /'
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "crashed: ${failed[*]}. Each input becomes a fixture: Tests/Fixtures/fuzz/<target>/ (Documentation/Reliability.md)."
    exit 1
fi
