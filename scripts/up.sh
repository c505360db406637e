#!/usr/bin/env bash
# up.sh [kreishub up options] - installs what is needed, builds kreishub, runs the hub
# on its embedded default (`kreishub up`: broker and recorder, data in ./kreishub-data)
# and, once that hub says READY, replays the demo data into it (`kreishub demo`: how
# the Rhein-Kreis Neuss and its municipalities cooperated, 2019-2022) and shows its
# log. The hub stays up until Ctrl-C.
#
# The hub is secure: `kreishub up` makes the certificates of the Kreis, each member
# and an admin in DATA/certs on its first start, and its READY line names them
# (certs=DIR server_cert=FILE). The demo publishes each message with its sender's
# certificate, the log is read with the admin's, and the tour printed at the end
# speaks as Jüchen (05162012) with its own. With --plain (a hub without certificates,
# loopback only) all of it goes plain. The demo's ids are fixed: on a hub that has it
# already (a second start on the same data), it stores nothing twice.
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

# The demo's two web users, made on the first start with random passwords kept in
# DATA/web-demo-passwords (mode 600): meerbusch (staff of Meerbusch, 05162022) and
# admin (the Kreis' admin). Later starts keep them.
web_users () {
    [ -n "$web" ] || return 0
    local data pw
    data=$(dirname "$db")
    passwords=$data/web-demo-passwords
    [ -e "$passwords" ] && return 0
    (umask 077; : >"$passwords")
    for who in "meerbusch 05162022 municipality" "admin 05162 admin"; do
        set -- $who
        pw=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
        printf '%s\n' "$pw" | "$bin/kreishub" web-user add "$1" --ags "$2" --role "$3" \
            --users "$data/web-users" --password-file - >/dev/null
        printf '%s %s\n' "$1" "$pw" >>"$passwords"
    done
}

# One value of the READY line (values hold no blanks; an escaped one would show %XX).
field () {
    sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$ready"
}
client=$(field client)
live=$(field live)
db=$(field db)
certs=$(field certs)
server_cert=$(field server_cert)
web=$(field web)
export KREISHUB_ENDPOINT=$client KREISHUB_LIVE=$live
unset KREISHUB_CERT KREISHUB_SERVER_CERT KREISHUB_CERTS
if [ -n "$certs" ]; then                # a secure hub: each speaks with its certificate
    export KREISHUB_SERVER_CERT=$server_cert
    "$bin/kreishub" demo --certs "$certs"
    web_users
    echo
    KREISHUB_CERT=$certs/admin.cert_secret "$bin/kreishub" log
    cat <<EOT

The hub is running (store $db, certificates in $certs).
${web:+The web page: $web (sign in as meerbusch, Meerbusch's staff, or as admin;
the demo's passwords are in $passwords).}
In another terminal, speak as Jüchen (05162012) with its certificate:
    export PATH=$bin:\$PATH KREISHUB_ENDPOINT=$client KREISHUB_LIVE=$live
    export KREISHUB_SERVER_CERT=$server_cert
    export KREISHUB_CERT=$certs/05162012.cert_secret
    kreishub subscribe --from 05162012 --since 1 &
    kreishub publish idea --title "Gemeinsame Bauhof-Software"
    kreishub publish idea --from 05162004 --title "Im Namen Dormagens"
    kreishub log --format json
    kill %1
The subscriber shows what Jüchen published in the demo (its answers to the
Kreis' items and to Korschenbroich's request) and then its new idea; the
second publish claims to be Dormagen and is refused: SENDER (the hub takes the
sender from the certificate). Another member: its own KREISHUB_CERT in $certs.
Ctrl-C stops the hub.
EOT
else                                    # --plain: nobody is identified
    export KREISHUB_PLAIN=1
    "$bin/kreishub" demo
    echo
    "$bin/kreishub" log
    cat <<EOT

The hub is running in PLAIN MODE (store $db): nobody is identified. In another
terminal, try:
    export PATH=$bin:\$PATH KREISHUB_ENDPOINT=$client KREISHUB_LIVE=$live KREISHUB_PLAIN=1
    kreishub subscribe --from 05162012 --since 1 &
    kreishub publish idea --from 05162012 --title "Gemeinsame Bauhof-Software"
    kreishub log --format json
    kill %1
Ctrl-C stops the hub.
EOT
fi
wait $hub
