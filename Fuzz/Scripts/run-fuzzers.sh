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
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(gguf safetensors hf-config llama2c tokenizer-json tokenizer-model converter-config)
BIN=${FUZZ_BIN:-Fuzz/.build-fuzz/release}
# An allocation sized by an untrusted number (-malloc_limit_mb) or a runaway loop
# (-timeout, seconds per input) counts as a crash, as a segfault does.
RSS_LIMIT_MB=${FUZZ_RSS_LIMIT_MB:-2048}
MALLOC_LIMIT_MB=${FUZZ_MALLOC_LIMIT_MB:-512}
TIMEOUT=${FUZZ_TIMEOUT:-10}

declare -A MAX_LEN=([gguf]=65536 [safetensors]=16384 [hf-config]=4096 [llama2c]=65536
    [tokenizer-json]=65536 [tokenizer-model]=32768 [converter-config]=4096)
declare -A DICT=([hf-config]=json [tokenizer-json]=json [converter-config]=json [safetensors]=json)

python3 Fuzz/Scripts/make-seeds.py Fuzz/.seeds >/dev/null
failed=()
for target in "${TARGETS[@]}"; do
    mkdir -p "Fuzz/.corpus/$target" "Fuzz/.artifacts/$target" Fuzz/.logs
    log="Fuzz/.logs/$target.log"
    args=(-max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb="$RSS_LIMIT_MB" -malloc_limit_mb="$MALLOC_LIMIT_MB"
        -timeout="$TIMEOUT" -max_len="${MAX_LEN[$target]}" -print_final_stats=1
        -artifact_prefix="Fuzz/.artifacts/$target/")
    [ -n "${DICT[$target]:-}" ] && args+=(-dict="Fuzz/Dictionaries/${DICT[$target]}.dict")
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} "$BIN/fuzz-$target" "${args[@]}" ${FUZZ_EXTRA_ARGS:-} \
        "Fuzz/.corpus/$target" "Fuzz/.seeds/$target" >"$log" 2>&1
    status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    coverage=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
    if [ $status -eq 0 ]; then
        echo "fuzz-$target: ${runs:-?} runs, ${speed:-?} exec/s, ${coverage:-no coverage line}"
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
