#!/usr/bin/env bash
# up.sh [kreishub up options] - installs what is needed, builds kreishub, runs the hub
# on its embedded default (`kreishub up`: broker and recorder, data in ./kreishub-data)
# and, once that hub says READY, publishes the demo data into it and shows its log.
# The hub stays up until Ctrl-C.
#
# Endpoints and the data directory come from the options (passed to `kreishub up`) or
# from KREISHUB_ENDPOINT, KREISHUB_LIVE, KREISHUB_RECORDER and KREISHUB_DIR. If a port
# is taken, `kreishub up` says which and exits, and this script publishes nothing:
# the endpoints it publishes to are the ones the hub it started reports in its READY
# line, never a default that another hub might answer on.
# KREISHUB_BIN=DIR uses the programs in DIR and skips the install and the build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${KREISHUB_BIN:-}" ]; then
    bin=$KREISHUB_BIN
else
    ./scripts/install-deps.sh
    ./scripts/build.sh build
    bin=$PWD/build/bin
fi

# `kreishub up` writes into a pipe this script reads: its READY line, then the rest.
fifo=$(mktemp -u "${TMPDIR:-/tmp}/kreishub-up.XXXXXX")
mkfifo -m 600 "$fifo"
"$bin/kreishub" up "$@" >"$fifo" &
hub=$!
exec 3<"$fifo"
rm -f "$fifo"
stop () {
    kill -TERM $hub 2>/dev/null || true
    wait $hub 2>/dev/null || true
}
trap 'stop; exit 0' INT TERM
trap stop EXIT                          # also when a step below fails

ready=
while IFS= read -r line <&3; do
    case $line in
        "READY "*) ready=$line; break ;;
        *) printf '%s\n' "$line" ;;
    esac
done
if [ -z "$ready" ]; then
    status=0
    wait $hub || status=$?
    echo "up.sh: the hub did not start (kreishub up exited with status $status);" \
         "nothing was published" >&2
    exit 1
fi
cat <&3 &                               # the rest of what kreishub up says

# One value of the READY line (values hold no blanks; an escaped one would show %XX).
field () {
    sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$ready"
}
client=$(field client)
live=$(field live)
db=$(field db)
export KREISHUB_ENDPOINT=$client KREISHUB_LIVE=$live

KREISHUB="$bin/kreishub" ./scripts/demo.sh
echo
"$bin/kreishub" log
cat <<EOT

The hub is running (store $db). In another terminal, try:
    export PATH=$bin:\$PATH KREISHUB_ENDPOINT=$client KREISHUB_LIVE=$live
    kreishub subscribe --from 05162012
    kreishub publish idea --from 05162012 --title "Gemeinsame Bauhof-Software"
    kreishub log --format json
Ctrl-C stops the hub.
EOT
wait $hub
