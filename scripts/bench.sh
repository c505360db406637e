#!/usr/bin/env bash
# bench.sh [kreishub-bench options...] - installs what the benchmark needs (kreishub's
# build dependencies, Mosquitto and NATS for the comparisons), builds a Release tree in
# build-bench and runs kreishub-bench --mosquitto --nats with the given options.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --bench

cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j"$(nproc)" --target kreishub-bench kreishub-broker kreishub-recorder \
    kreishub-web
exec build-bench/bin/kreishub-bench --mosquitto --nats "$@"
