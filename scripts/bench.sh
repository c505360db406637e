#!/usr/bin/env bash
# bench.sh [kreishub-bench options...] - installs what the benchmark needs (kreishub's
# build dependencies and Mosquitto for the comparison), builds a Release tree in
# build-bench and runs kreishub-bench --mosquitto with the given options.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

missing=()
for p in mosquitto libmosquitto-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "bench: run as root (or install sudo)" >&2; exit 1; }
        sudo=sudo
    fi
    echo "bench: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j"$(nproc)" --target kreishub-bench kreishub-broker kreishub-recorder
exec build-bench/bin/kreishub-bench --mosquitto "$@"
