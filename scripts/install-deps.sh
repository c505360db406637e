#!/usr/bin/env bash
# install-deps.sh [--test|--bench] - installs what kreishub needs to build (and, with
# --test, to test; with --bench, to compare with Mosquitto and NATS JetStream) from
# Debian 12's packages.
# Safe to run again: installs only what is missing.
set -euo pipefail

pkgs=(build-essential cmake pkg-config libzmq3-dev libczmq-dev libmsgpack-dev
      libsqlite3-dev sqlite3 libmicrohttpd-dev libsodium-dev)
if [ "${1:-}" = "--test" ]; then
    # dpkg-dev, file: cpack's Depends (dpkg-shlibdeps); groff-base, systemd: the
    # package tests check the man pages and the units with groff and systemd-analyze;
    # clang, libclang-rt-14-dev: libFuzzer and its sanitizers, for the fuzz stage.
    pkgs+=(valgrind procps dpkg-dev file groff-base systemd clang libclang-rt-14-dev)
    pkgs+=(chromium chromium-driver python3-selenium)   # it_browser: the web page in Chromium
elif [ "${1:-}" = "--bench" ]; then
    pkgs+=(mosquitto libmosquitto-dev nats-server libnats-dev)
fi

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: run as root (or install sudo)" >&2; exit 1; }
    sudo=sudo
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
