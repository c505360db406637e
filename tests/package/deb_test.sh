#!/usr/bin/env bash
# deb_test.sh BUILD_DIR VERSION SOURCE_DIR - CPack makes the .deb from the build as it
# is, and it holds what users need: the three programs, libkreishub (shared with its
# SONAME link and link-time name, and static), the headers, kreishub.pc and the CMake
# package, the manual pages (gzipped), the two systemd units (which systemd-analyze
# accepts) and the config as a conffile; its Depends name the libraries the programs
# link. The broker's unit makes the certificates the config names (its ExecStartPre
# is run here, in a directory of the test's).
set -euo pipefail
build=$1
version=$2
src=$3

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kh-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail () {
    echo "FAIL: $*" >&2
    exit 1
}

(cd "$build" && cpack -G DEB -B "$tmp/out") >"$tmp/cpack.log" 2>&1 \
    || fail "cpack: $(cat "$tmp/cpack.log")"
deb=$(ls "$tmp"/out/kreishub_"$version"_*.deb 2>/dev/null) \
    || fail "no kreishub_${version}_*.deb: $(ls "$tmp/out")"

# --- the control data
info=$(dpkg-deb -I "$deb")
field () {
    dpkg-deb -f "$deb" "$1"
}
[ "$(field Package)" = kreishub ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version: $(field Version)"
depends=$(field Depends)
for lib in libc6 libczmq4 libzmq5 libmsgpackc2 libsqlite3-0; do
    [[ ", $depends," == *", $lib "* || ", $depends," == *", $lib,"* ]] \
        || fail "Depends lacks $lib: $depends"
done
mkdir "$tmp/control"
dpkg-deb -e "$deb" "$tmp/control"
grep -qx /etc/kreishub/kreishub.cfg "$tmp/control/conffiles" \
    || fail "/etc/kreishub/kreishub.cfg is not a conffile: $info"
grep -qxF "libkreishub 0 kreishub (= $version)" "$tmp/control/shlibs" \
    || fail "no shlibs line for libkreishub.so.0: $info"

# --- the files: path (and where a symlink points)
contents=$(dpkg-deb -c "$deb" | awk '{ p = $6; if ($7 == "->") p = p " -> " $8; print p }')
want=(
    ./usr/bin/kreishub ./usr/bin/kreishub-broker ./usr/bin/kreishub-recorder
    ./usr/bin/kreishub-web ./usr/share/man/man8/kreishub-web.8.gz
    "./usr/lib/libkreishub.so.$version"
    "./usr/lib/libkreishub.so.0 -> libkreishub.so.$version"
    "./usr/lib/libkreishub.so -> libkreishub.so.0"
    ./usr/lib/libkreishub.a
    ./usr/include/kreishub/kreishub.h ./usr/include/kreishub/kh_wire.h
    ./usr/include/kreishub/kh_err.h
    ./usr/lib/pkgconfig/kreishub.pc
    ./usr/lib/cmake/kreishub/kreishubConfig.cmake
    ./usr/lib/cmake/kreishub/kreishubConfigVersion.cmake
    ./usr/lib/cmake/kreishub/kreishubTargets.cmake
    ./usr/lib/cmake/kreishub/kreishubStaticTargets.cmake
    ./usr/share/man/man1/kreishub.1.gz ./usr/share/man/man8/kreishub-broker.8.gz
    ./usr/share/man/man8/kreishub-recorder.8.gz
    ./usr/share/kreishub/demo/rhein-kreis-neuss.jsonl
    ./usr/share/doc/kreishub/nginx-kreishub.conf
    ./usr/lib/systemd/system/kreishub-broker.service
    ./usr/lib/systemd/system/kreishub-recorder.service
    ./etc/kreishub/kreishub.cfg
)
for path in "${want[@]}"; do
    grep -qxF "$path" <<<"$contents" || fail "the .deb lacks $path: $contents"
done

# --- what names the prefix names /usr and /etc; the broker's unit makes the hub's
# certificates in the state directory both units share, where the config names them
root=$tmp/root
dpkg-deb -x "$deb" "$root"
grep -qx "prefix=/usr" "$root/usr/lib/pkgconfig/kreishub.pc" || fail "kreishub.pc: wrong prefix"
units=$root/usr/lib/systemd/system
for prog in broker recorder; do
    grep -qx "ExecStart=/usr/bin/kreishub-$prog -c /etc/kreishub/kreishub.cfg" \
         "$units/kreishub-$prog.service" || fail "kreishub-$prog.service: wrong ExecStart"
done
grep -qE "^ +db = /var/lib/kreishub/kreishub.db( |$)" "$root/etc/kreishub/kreishub.cfg" \
    || fail "the config's recorder/db is not in the unit's StateDirectory"
pre="ExecStartPre=/usr/bin/kreishub up --certs-only --dir %S/kreishub -c /etc/kreishub/kreishub.cfg"
grep -qxF "$pre" "$units/kreishub-broker.service" \
    || fail "kreishub-broker.service does not make the certificates: $(grep Exec "$units/kreishub-broker.service")"
for prog in broker recorder; do
    grep -qx "StateDirectory=kreishub" "$units/kreishub-$prog.service" \
        || fail "kreishub-$prog.service does not share the state directory kreishub"
done
# The unit's ExecStartPre as systemd runs it (%S: /var/lib, here a directory of ours),
# then every certificate the config names is there: the units and the config agree.
state=$tmp/state
cmd=${pre#ExecStartPre=}
cmd=${cmd//%S/$state}
cmd=${cmd//\/etc\//$root/etc/}
$root$cmd >"$tmp/certs.log" 2>&1 || fail "$cmd: $(cat "$tmp/certs.log")"
keys=$(awk '/^[a-z]/ { section = $1 } /^ +(cert|clients|server_cert) = / { print section "/" $1 " " $3 }' \
       "$root/etc/kreishub/kreishub.cfg")
for want in broker/cert broker/clients recorder/cert recorder/server_cert client/cert \
            client/server_cert; do
    path=$(awk -v k="$want" '$1 == k { print $2 }' <<<"$keys")
    [[ $path == /var/lib/kreishub/* ]] || fail "the config's $want is not in /var/lib/kreishub: '$path'"
    [ -e "$state/kreishub/${path#/var/lib/kreishub/}" ] \
        || fail "the config's $want $path is not what the unit made: $(ls -R "$state")"
done
[ "$(stat -c %a "$state/kreishub/certs/server.cert_secret")" = 600 ] \
    || fail "the broker's secret key is not mode 0600"

# --- the man pages are compressed as Debian's policy wants (gzip -9n: no name and no
# time in the header, so that the same page gives the same bytes), and are the pages
# of the source.
for page in man1/kreishub.1 man8/kreishub-broker.8 man8/kreishub-recorder.8; do
    cmp -s <(gzip -9nc "$src/packaging/${page#*/}") "$root/usr/share/man/$page.gz" \
        || fail "usr/share/man/$page.gz is not gzip -9n of packaging/${page#*/}"
done

# --- systemd reads the units without a complaint (it prints one for an unknown key
# or a bad value, and still exits 0). ExecStart must name an executable: the one
# from the package; the man pages are not installed here.
mkdir "$tmp/units"
for prog in broker recorder; do
    sed "s#=/usr/bin/#=$root/usr/bin/#" "$units/kreishub-$prog.service" \
        >"$tmp/units/kreishub-$prog.service"
done
said=$(systemd-analyze verify --man=no "$tmp"/units/*.service 2>&1) \
    || fail "systemd-analyze verify: $said"
[ -z "$said" ] || fail "systemd-analyze verify: $said"
echo "ok: $(basename "$deb"): $(wc -l <<<"$contents") entries; Depends: $depends"
