#!/usr/bin/env bash
# test.sh - installs what is needed, builds and runs every test of kreishub:
#   1. a warnings-as-errors build, every test (unit, integration, doc checks);
#   2. an AddressSanitizer + UndefinedBehaviorSanitizer build, every test;
#   3. the unit tests again under valgrind (memcheck).
# Each stage prints ctest's summary; the script stops at the first failing stage.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh --test

jobs=$(nproc)
echo "== 1/3 build with -Werror, all tests"
./scripts/build.sh build -DKH_WERROR=ON -DKH_SANITIZE= -DKH_VALGRIND=ON
(cd build && ctest --output-on-failure -j"$jobs" -LE valgrind)

echo "== 2/3 AddressSanitizer + UndefinedBehaviorSanitizer build, all tests"
./scripts/build.sh build-asan -DKH_WERROR=ON -DKH_SANITIZE=address,undefined -DKH_VALGRIND=OFF
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j"$jobs")

echo "== 3/3 unit tests under valgrind"
(cd build && ctest --output-on-failure -j"$jobs" -L valgrind)
