#!/usr/bin/env bash
# fuzz.sh [SECONDS] - builds kreishub with AddressSanitizer and UndefinedBehaviorSanitizer
# in build-fuzz and runs kreishub-fuzz for SECONDS (default 300) with a random seed.
# The seed is printed first: `build-fuzz/bin/kreishub-fuzz --seed N --seconds S` under
# the same sanitizers repeats a failing run (the iteration is in the failure report).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
./scripts/build.sh build-fuzz -DKH_SANITIZE=address,undefined -DKH_WERROR=ON
echo "== kreishub-fuzz --seed $seed --seconds $seconds"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
KH_VECTORS="$PWD/schema/vectors" \
    build-fuzz/bin/kreishub-fuzz --seed "$seed" --seconds "$seconds"
