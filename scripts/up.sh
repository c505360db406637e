#!/usr/bin/env bash
# up.sh - installs what is needed, builds kreishub, runs the hub on its embedded default
# (broker and recorder, data in ./kreishub-data) and publishes the demo data into it.
# The hub stays up until Ctrl-C. KREISHUB_DIR chooses another data directory.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh build
bin=$PWD/build/bin
dir=${KREISHUB_DIR:-./kreishub-data}

"$bin/kreishub" up --dir "$dir" &
hub=$!
trap 'kill -TERM $hub 2>/dev/null || true; wait $hub 2>/dev/null || true; exit 0' INT TERM

for _ in $(seq 1 100); do
    "$bin/kreishub" ping >/dev/null 2>&1 && break
    kill -0 $hub 2>/dev/null || { echo "up: the hub did not start" >&2; exit 1; }
    sleep 0.1
done
KREISHUB="$bin/kreishub" ./scripts/demo.sh
echo
"$bin/kreishub" log
cat <<EOT

The hub is running (data in $dir). In another terminal, try:
    export PATH=$bin:\$PATH
    kreishub subscribe --from 05162012
    kreishub publish idea --from 05162012 --title "Gemeinsame Bauhof-Software"
    kreishub log --format json
Ctrl-C stops the hub.
EOT
wait $hub
