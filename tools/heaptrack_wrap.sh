#!/bin/sh
# heaptrack_wrap.sh - a KH_WRAP for the tests that profiles the broker's heap with heaptrack.
#
# Use: KH_WRAP=tools/heaptrack_wrap.sh bin/it_memory (with the tests' KH_* variables), then
#      heaptrack_print -f "$KH_HEAPTRACK_DIR"/broker.*.zst --print-peaks 1
# Only kreishub-broker is profiled; every other program runs as it is. The broker is
# exec'd (heaptrack's preload library and its interpreter on a FIFO), not run as a child
# of the heaptrack script, so the pid the harness holds is the broker's and its RSS
# figures stay the broker's (plus heaptrack's books). KH_HEAPTRACK_DIR: where the
# profiles go (default /tmp). Debian's libzmq has no symbols: read its frames as
# offsets from the library's load address.
# The broker may take long to stop: it waits while the interpreter catches up.
dir=${KH_HEAPTRACK_DIR:-/tmp}
lib=/usr/lib/heaptrack
case "$1" in
    *kreishub-broker)
        out="$dir/broker.$$"
        mkfifo "$out.fifo" || exit 1
        ( "$lib/libexec/heaptrack_interpret" < "$out.fifo" | zstd -q -c > "$out.zst"
          rm -f "$out.fifo" ) &
        LD_PRELOAD="$lib/libheaptrack_preload.so${LD_PRELOAD:+:$LD_PRELOAD}" \
        DUMP_HEAPTRACK_OUTPUT="$out.fifo" exec "$@" ;;
    *)
        exec "$@" ;;
esac
