#!/usr/bin/env bash
# install_test.sh BUILD_DIR SOURCE_DIR VERSION [SANITIZE] - the package as a user gets
# it: installs the build into a temporary prefix, builds examples/ against that
# install alone, once through pkg-config (examples/Makefile, with a pkg-config that
# sees no .pc file but kreishub.pc; the static library linked by what --static names)
# and once through find_package (examples/CMakeLists.txt, shared and static), runs the
# three programs against a secure hub started from the build tree (`kreishub up`, which
# makes the certificates), each with a municipality's certificate, and checks that
# each one's offer was stored as that municipality's (the installed `kreishub log`,
# with the admin's) and came back to it. With
# SANITIZE (the build's KH_SANITIZE) the example is built with the same sanitizers as
# the library.
set -euo pipefail
build=$1
src=$2
version=$3
sanitize=${4:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kh-install.XXXXXX")
pids=()
cleanup () {
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    wait || true
    rm -rf "$tmp"
}
trap cleanup EXIT

fail () {
    echo "FAIL: $*" >&2
    exit 1
}

# Starts a program of the build tree with its stdout on a pipe; its pid goes to pids
# and the READY line it prints (after any others) into the variable named by $1.
start () {
    local var=$1 name=$2 line
    shift 2
    mkfifo "$tmp/$name.out"
    "$build/bin/$name" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pids+=($!)
    local fd
    exec {fd}<"$tmp/$name.out"
    while read -r -t 20 line <&"$fd"; do
        if [[ $line == READY\ * ]]; then
            printf -v "$var" '%s' "$line"
            return 0
        fi
    done
    fail "$name did not say READY: $(cat "$tmp/$name.err")"
}

# --- install, and the installed program runs
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" \
    || fail "cmake --install: $(cat "$tmp/install.log")"
out=$("$prefix/bin/kreishub" --version) || fail "kreishub --version failed"
[ "$out" = "kreishub $version" ] || fail "kreishub --version says '$out', not $version"

# --- build the example against the install alone
flags=""
if [ -n "$sanitize" ]; then
    flags="-fsanitize=$sanitize -fno-omit-frame-pointer"
fi
# pkg-config sees the install's kreishub.pc and nothing else, as on a machine with the
# .deb and pkg-config but without the -dev packages of libkreishub's dependencies:
# the shared library must need none of their .pc files, even for --cflags.
export PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig PKG_CONFIG_PATH=
pkg-config --print-errors --cflags --libs kreishub >"$tmp/pc.log" 2>&1 \
    || fail "pkg-config --cflags --libs kreishub: $(cat "$tmp/pc.log")"
mkdir "$tmp/pc"
make -s -C "$tmp/pc" -f "$src/examples/Makefile" \
    CFLAGS="-std=c11 -O1 -g -Wall -Wextra -Werror $flags" \
    LDFLAGS="-Wl,-rpath,$prefix/lib $flags" >"$tmp/pc.log" 2>&1 \
    || fail "make with pkg-config: $(cat "$tmp/pc.log")"
# The static library: --static names what libkreishub.a needs, and it links with it.
static=$(pkg-config --print-errors --static --libs kreishub 2>&1) \
    || fail "pkg-config --static --libs kreishub: $static"
for lib in -lkreishub -lczmq -lzmq -lmsgpackc; do
    [[ " $static " == *" $lib "* ]] || fail "pkg-config --static --libs lacks $lib: $static"
done
cc -std=c11 $flags -o "$tmp/pc/publish_follow_static" "$src/examples/publish_follow.c" \
   $(pkg-config --cflags kreishub) "$prefix/lib/libkreishub.a" \
   ${static/-lkreishub/} >"$tmp/pc.log" 2>&1 \
    || fail "linking libkreishub.a with pkg-config --static --libs: $(cat "$tmp/pc.log")"
unset PKG_CONFIG_LIBDIR PKG_CONFIG_PATH
cmake -S "$src/examples" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS="-Wall -Wextra -Werror $flags" \
      -DCMAKE_EXE_LINKER_FLAGS="$flags" >"$tmp/cm.log" 2>&1 \
    && cmake --build "$tmp/cm" -j2 >>"$tmp/cm.log" 2>&1 \
    || fail "find_package build: $(cat "$tmp/cm.log")"
grep -qx "kreishub_DIR:PATH=$prefix/lib/cmake/kreishub" "$tmp/cm/CMakeCache.txt" \
    || fail "find_package found another kreishub: $(grep kreishub_DIR "$tmp/cm/CMakeCache.txt")"
# A consumer's own CZMQ_FOUND, PkgConfig::CZMQ and the like survive find_package.
cmake -S "$src/tests/package/consumer" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
      >"$tmp/consumer.log" 2>&1 || fail "the consumer's names: $(cat "$tmp/consumer.log")"
# The shared builds use the installed libkreishub.so.0, the static one none. (ldd's
# output is read whole: grep -q would stop reading it, and pipefail fail on SIGPIPE.)
for exe in "$tmp/pc/publish_follow" "$tmp/cm/publish_follow"; do
    libs=$(ldd "$exe")
    grep -q "libkreishub.so.0 => $prefix/lib/libkreishub.so.0" <<<"$libs" \
        || fail "$exe does not use $prefix/lib/libkreishub.so.0: $libs"
done
[ -x "$tmp/cm/publish_follow_static" ] || fail "no kreishub::kreishub_static build"
libs=$(ldd "$tmp/cm/publish_follow_static")
! grep -q libkreishub <<<"$libs" || fail "publish_follow_static loads libkreishub.so"

# --- a secure hub from the build tree, on ports the system chooses: `kreishub up`
#     makes the certificates of the Kreis, its members and an admin, and says READY
#     (with server_cert= and certs=) once the recorder is linked
unset KREISHUB_PLAIN KREISHUB_CERT KREISHUB_SERVER_CERT KREISHUB_CONFIG
start ready kreishub up --dir "$tmp/data" --client 'tcp://127.0.0.1:!' \
      --live 'tcp://127.0.0.1:!' --recorder 'tcp://127.0.0.1:!'
[[ $ready =~ client=([^ ]+)\ live=([^ ]+)\ .*\ server_cert=([^ ]+)\ certs=([^ ]+) ]] \
    || fail "kreishub up said '$ready'"
client=${BASH_REMATCH[1]}
live=${BASH_REMATCH[2]}
server_cert=${BASH_REMATCH[3]}
certs=${BASH_REMATCH[4]}

# --- each example publishes its offer, with its municipality's certificate (the
#     sender is the certificate's AGS), and sees it among all offers so far
titles=("E-Akte via pkg-config" "E-Akte via find_package" "E-Akte statisch gelinkt")
froms=(05162004 05162008 05162024)
exes=("$tmp/pc/publish_follow" "$tmp/cm/publish_follow" "$tmp/cm/publish_follow_static")
for i in 0 1 2; do
    n=$((i + 1))
    out=$("${exes[$i]}" -e "$client" -l "$live" --cert "$certs/${froms[$i]}.cert_secret" \
          --server-cert "$server_cert" -t "${titles[$i]}" -n "$n" -w 5000) \
        || fail "${exes[$i]} failed: $out"
    for k in $(seq 0 "$i"); do
        line="seq $((k + 1)): offer from ${froms[$k]}: ${titles[$k]}"
        [ "$k" -eq "$i" ] && line="$line (ours)"
        grep -qxF "$line" <<<"$out" || fail "${exes[$i]} did not print '$line': $out"
    done
    grep -qxF "published offer as seq $n" <<<"$out" || fail "${exes[$i]}: $out"
done

# --- an example that claims another municipality is refused, and one without a
#     certificate reaches nothing
out=$("${exes[0]}" -e "$client" -l "$live" --cert "$certs/05162004.cert_secret" \
      --server-cert "$server_cert" -f 05162008 -t "Im Namen Grevenbroichs" -w 100 2>&1) \
    && fail "${exes[0]} published as another municipality: $out"
grep -q "SENDER" <<<"$out" || fail "${exes[0]} as another municipality: $out"
out=$("${exes[0]}" -e "$client" -l "$live" -w 100 2>&1) \
    && fail "${exes[0]} ran without a certificate: $out"
grep -q "give --cert FILE and --server-cert FILE" <<<"$out" \
    || fail "${exes[0]} without a certificate: $out"

# --- the store has the three, as the installed program shows them
log=$("$prefix/bin/kreishub" log -e "$client" -f csv --cert "$certs/admin.cert_secret" \
      --server-cert "$server_cert") || fail "kreishub log failed"
for i in 0 1 2; do
    # seq,at,id,type,from,ts,title,body
    grep -q "^$((i + 1)),[^,]*,[^,]*,offer,${froms[$i]},[^,]*,${titles[$i]}," <<<"$log" \
        || fail "kreishub log lacks seq $((i + 1)) '${titles[$i]}': $log"
done

# --- the hub stops cleanly (kreishub up fails if broker or recorder does not; a
#     sanitizer's finding would make them fail)
kill -TERM "${pids[0]}"
status=0
wait "${pids[0]}" || status=$?
[ "$status" -eq 0 ] || fail "kreishub up exited $status on SIGTERM: $(cat "$tmp/kreishub.err")"
pids=()
echo "ok: installed into a prefix; the example built both ways ran against a secure hub"
