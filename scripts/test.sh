#!/usr/bin/env bash
# test.sh - installs what is needed, builds and runs every test of kreishub:
#   1. a warnings-as-errors build, every test (unit, integration, doc checks);
#   2. an AddressSanitizer + UndefinedBehaviorSanitizer build, every test;
#   3. the unit tests again under valgrind (memcheck);
#   4. where clang is, each libFuzzer target of tools/fuzz for a few seconds
#      (scripts/fuzz.sh runs them long); a crash fails the stage.
# Each stage prints ctest's summary; the script stops at the first failing stage.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh --test

jobs=$(nproc)
echo "== 1/4 build with -Werror, all tests"
./scripts/build.sh build -DKH_WERROR=ON -DKH_SANITIZE= -DKH_VALGRIND=ON
(cd build && ctest --output-on-failure -j"$jobs" -LE valgrind)

echo "== 2/4 AddressSanitizer + UndefinedBehaviorSanitizer build, all tests"
./scripts/build.sh build-asan -DKH_WERROR=ON -DKH_SANITIZE=address,undefined -DKH_VALGRIND=OFF
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j"$jobs")

echo "== 3/4 unit tests under valgrind"
(cd build && ctest --output-on-failure -j"$jobs" -L valgrind)

echo "== 4/4 libFuzzer targets, ${KH_FUZZ_SECONDS:-5} s each"
if command -v clang >/dev/null; then
    CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKH_LIBFUZZER=ON \
        -DKH_FUZZ_SECONDS="${KH_FUZZ_SECONDS:-5}" >/dev/null
    cmake --build build-fuzz -j"$jobs" --target kh_fuzz_all >/dev/null
    (cd build-fuzz && ctest --output-on-failure -j"$jobs" -L fuzz)
else
    echo "test.sh: no clang, libFuzzer stage skipped (scripts/install-deps.sh --test installs it)"
fi
