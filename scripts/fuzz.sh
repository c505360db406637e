#!/usr/bin/env bash
# fuzz.sh [TARGET|all] [SECONDS] (or fuzz.sh SECONDS: all) - builds the libFuzzer targets
# of tools/fuzz with clang, AddressSanitizer and UndefinedBehaviorSanitizer in build-fuzz
# (or $KH_FUZZ_DIR) and runs TARGET (codec, json, broker, recorder; default all, one after
# another) for SECONDS each (default 300). Each target's corpus is kept in
# build-fuzz/corpus/TARGET, so runs add up; crashing inputs go to build-fuzz/crashes/
# and the log to build-fuzz/logs/.
# At the end it prints, per target, the executions, their rate, the coverage and the
# crashes, and exits 1 if any target crashed. Extra libFuzzer flags: $KH_FUZZ_FLAGS.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-all}
seconds=${2:-300}
if [[ $target =~ ^[0-9]+$ ]]; then        # fuzz.sh SECONDS: every target
    seconds=$target
    target=all
fi
dir=${KH_FUZZ_DIR:-build-fuzz}
targets=(codec json broker recorder)
[ "$target" = all ] || targets=("$target")
command -v clang >/dev/null || { echo "fuzz.sh: needs clang (scripts/install-deps.sh --test)" >&2; exit 2; }

CC=clang cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKH_LIBFUZZER=ON >/dev/null
cmake --build "$dir" -j"$(nproc)" --target kh-fuzz-seeds "${targets[@]/#/fuzz_}" >/dev/null
seeds="$dir/tools/fuzz/seeds"
rm -rf "$seeds"
"$dir/bin/kh-fuzz-seeds" schema/vectors "$seeds" >/dev/null
mkdir -p "$dir/crashes" "$dir/logs"

summary=()
failed=0
for t in "${targets[@]}"; do
    exe="$dir/bin/fuzz_$t"
    [ -x "$exe" ] || { echo "fuzz.sh: no target '$t' (codec, json, broker, recorder)" >&2; exit 2; }
    mkdir -p "$dir/corpus/$t"
    extra=()
    [ "$t" = codec ] && extra=(schema/vectors)
    log="$dir/logs/$t.log"
    before=$(ls "$dir/crashes" | grep -c "^$t-" || true)
    echo "== fuzz_$t for $seconds s (log: $log)"
    status=0
    start=$SECONDS
    # shellcheck disable=SC2086
    "$exe" -max_total_time="$seconds" -max_len=4096 -timeout=60 -print_final_stats=1 \
        -dict=tools/fuzz/kh.dict -artifact_prefix="$dir/crashes/$t-" ${KH_FUZZ_FLAGS:-} \
        "$dir/corpus/$t" "$seeds/$t" "${extra[@]}" >"$log" 2>&1 || status=$?
    took=$((SECONDS - start))
    after=$(ls "$dir/crashes" | grep -c "^$t-" || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1 || true)
    line="fuzz_$t: ${execs:-?} executions in $took s (${rate:-?}/s), ${cov:-no coverage line}, crashes $((after - before)), exit $status"
    echo "$line"
    summary+=("$line")
    if [ "$status" -ne 0 ] || [ "$after" -ne "$before" ]; then
        failed=1
        grep -E '^kh-fuzz:|ERROR: |SUMMARY: |Test unit written' "$log" | head -8 || true
    fi
done
echo "== summary"
printf '%s\n' "${summary[@]}"
exit "$failed"
