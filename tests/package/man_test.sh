#!/usr/bin/env bash
# man_test.sh BIN_DIR MAN_DIR - the manual pages say what the programs do: every long
# option (and command) that a program's --help lists is documented in its page, and
# every one the page documents is in --help; each daemon's page names the user its
# systemd unit runs as; and groff reads the pages without warning.
set -euo pipefail
bin=$1
man=$2
failed=0

# The lines of --help that list an option ("  -c, --config FILE  what it does").
help_lines () {
    "$@" --help | grep -E '^ +(-[a-zA-Z], )?--[a-z]' | sed -E 's/ +/ /g' | sort -u
}

# The long options those lines name.
options_of () {
    sed -nE 's/^ +(-[a-zA-Z], )?--([a-z][a-z-]*).*/\2/p' | sort -u
}

help_options () {
    help_lines "$@" | options_of
}

# Long options a page documents in one scope: OPTIONS (scope "") or the .SS of a
# command inside COMMANDS; an option is the first --name on the line after a .TP.
man_options () {
    awk -v want="$2" '
        /^\.SH/ { sh = $2; scope = "-"; if (sh == "OPTIONS") scope = ""; next }
        /^\.SS/ { scope = (sh == "COMMANDS") ? $2 : "-"; next }
        /^\.TP/ { tp = 1; next }
        tp { tp = 0
             if (scope == want && match ($0, /\\-\\-[a-z]([a-z]|\\-)*/))
                 print substr ($0, RSTART + 4, RLENGTH - 4) }
    ' "$1" | sed 's/\\-/-/g' | sort -u
}

# The commands `kreishub --help` lists, and the .SS of the page's COMMANDS.
help_commands () {
    "$bin/kreishub" --help | awk '/^commands:/ { on = 1; next } /^$/ { on = 0 }
                                 on && /^  [a-z]/ { print $1 }' | sort -u
}
man_commands () {
    awk '/^\.SH/ { sh = $2 } /^\.SS/ && sh == "COMMANDS" { print $2 }' "$1" | sort -u
}

# Prints a list one item a line; nothing for an empty one.
lines () {
    [ -z "$1" ] || printf '%s\n' "$1"
}

# Reports the lines only one of two sorted lists has.
compare () {
    local what=$1 have=$2 doc=$3 extra missing
    missing=$(comm -23 <(lines "$have") <(lines "$doc") | tr '\n' ' ')
    extra=$(comm -13 <(lines "$have") <(lines "$doc") | tr '\n' ' ')
    if [ -z "$have" ]; then
        echo "FAIL $what: --help lists nothing"; failed=1
    fi
    if [ -n "$missing" ]; then
        echo "FAIL $what: in --help, not in the man page: $missing"; failed=1
    fi
    if [ -n "$extra" ]; then
        echo "FAIL $what: in the man page, not in --help: $extra"; failed=1
    fi
    [ -n "$missing$extra" ] || echo "ok   $what: $(echo $have)"
}

compare "kreishub-broker(8)" "$(help_options "$bin/kreishub-broker")" \
        "$(man_options "$man/kreishub-broker.8" "")"
compare "kreishub-recorder(8)" "$(help_options "$bin/kreishub-recorder")" \
        "$(man_options "$man/kreishub-recorder.8" "")"
compare "kreishub-web(8)" "$(help_options "$bin/kreishub-web")" \
        "$(man_options "$man/kreishub-web.8" "")"

page=$man/kreishub.1
global=$(man_options "$page" "")
compare "kreishub(1) options" "$(help_options "$bin/kreishub")" "$global"
commands=$(help_commands)
compare "kreishub(1) commands" "$commands" "$(man_commands "$page")"
# A command's --help also lists the options every command takes, in the same words
# as `kreishub --help`: those are documented once, under OPTIONS.
common=$(help_lines "$bin/kreishub")
for c in $commands; do
    own=$(comm -23 <(help_lines "$bin/kreishub" "$c") <(lines "$common") | options_of)
    compare "kreishub(1) $c" "$own" "$(man_options "$page" "$c")"
done

# The FILES entry of each daemon's unit says as which user the unit runs: it names
# the unit's User=, and where both units have the same one (with DynamicUser=, one
# user while either runs), neither page calls it a user of the unit's own.
unit_user () {
    sed -n 's/^User=//p' "$man/$1.service.in"
}
unit_entry () {
    awk -v unit="$2.service" '
        /^\.(TP|SH)/ { on = 0 }
        on { line = $0; sub (/^\.[A-Z]+ /, "", line); printf "%s ", line }
        $0 == ".I " unit { on = 1 }
    ' "$man/$1" | sed 's/\\f[BIR]//g'
}
broker_user=$(unit_user kreishub-broker)
recorder_user=$(unit_user kreishub-recorder)
for daemon in broker recorder; do
    page=kreishub-$daemon.8
    user=$(unit_user "kreishub-$daemon")
    entry=$(unit_entry "$page" "kreishub-$daemon")
    if [ -z "$user" ] || [ -z "$entry" ]; then
        echo "FAIL $page: no User= in its unit ('$user') or no FILES entry for it"; failed=1
    elif [[ " $entry " != *" $user "* && " $entry " != *" $user,"* ]]; then
        echo "FAIL $page: its unit's entry does not name the user $user: $entry"; failed=1
    elif [ "$broker_user" = "$recorder_user" ] && [[ $entry == *"of its own"* ]]; then
        echo "FAIL $page: the units share the user $user, yet: $entry"; failed=1
    else
        echo "ok   $page: its unit runs as $user"
    fi
done

for page in "$man/kreishub.1" "$man/kreishub-broker.8" "$man/kreishub-recorder.8" \
            "$man/kreishub-web.8"; do
    warnings=$(LC_ALL=C.UTF-8 groff -man -ww -z -Tutf8 "$page" 2>&1)
    if [ -n "$warnings" ]; then
        echo "FAIL $(basename "$page"): groff says: $warnings"; failed=1
    fi
done
exit $failed
