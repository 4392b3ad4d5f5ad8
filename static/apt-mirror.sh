#!/bin/sh
# The Debian archive this machine's apt uses, for the scripts that download
# from the same place: fetch-source.sh (source packages from its pool/) and
# scripts/base-image.sh (debootstrap). Reading it at run time keeps every host
# name out of the repository.
#
#   static/apt-mirror.sh              -> the archive of the release suites
#   static/apt-mirror.sh --security   -> the archive of the -security suite
#
# Prints one URI without a trailing slash; prints nothing and exits 1 when apt
# has none. The sources are read in apt's order: sources.list, then the
# sources.list.d/ files in name order, one-line `*.list` and deb822 `*.sources`
# alike (other names there apt ignores too). Commented lines and `Enabled: no`
# stanzas do not count. Of the deb and deb-src entries with an http, https or
# file URI and a release suite (with --security: a -security suite), the
# first whose path ends in /debian (/debian-security) wins, so that a
# third-party repository listed before the Debian archive is not taken; a deb
# entry wins over a deb-src one; without such a path, the first entry.
#
# Environment:
#   APT_ROOT   read $APT_ROOT/etc/apt instead of /etc/apt (the tests use it)
set -eu
export LC_ALL=C   # name order as apt sorts, byte by byte

case ${1:-} in
    "") security=0; prefer='/debian$' ;;
    --security) security=1; prefer='/debian-security$' ;;
    *) echo "apt-mirror: usage: apt-mirror.sh [--security]" >&2; exit 1 ;;
esac

etc=${APT_ROOT:-}/etc/apt
set --
for f in "$etc/sources.list" "$etc"/sources.list.d/*; do
    case $f in
        *.list|*.sources) if [ -f "$f" ] && [ -r "$f" ]; then set -- "$@" "$f"; fi ;;
    esac
done
[ $# -gt 0 ] || exit 1   # awk without files would read stdin

awk -v want_security="$security" -v prefer="$prefer" '
    # One (type, URI, suite) of an enabled entry: keep the best ranked.
    function candidate(type, uri, suite,   is_security, rank) {
        if (type != "deb" && type != "deb-src") return
        if (uri !~ /^(https?|file):/) return   # cdrom:, mirror+, tor+: nothing to download from
        # bullseye-security; buster/updates before it
        is_security = (suite ~ /-security$/ || suite ~ /\/updates$/)
        if (is_security != want_security) return
        sub(/\/+$/, "", uri)
        rank = (uri ~ prefer ? 0 : 2) + (type == "deb-src")
        if (best == "" || rank < best_rank) { best = uri; best_rank = rank }
    }
    function flush(   nt, nu, ns, t, u, s, ty, ur, su) {
        if (enabled !~ /^(no|false|off|without|disable)$/) {
            nt = split(types, ty); nu = split(uris, ur); ns = split(suites, su)
            for (t = 1; t <= nt; t++) for (u = 1; u <= nu; u++) for (s = 1; s <= ns; s++)
                candidate(ty[t], ur[u], su[s])
        }
        types = ""; uris = ""; suites = ""; enabled = ""; field = ""
    }
    FNR == 1 { flush() }
    FILENAME !~ /\.sources$/ {
        # deb [ options ] URI SUITE [COMPONENT...]
        if ($1 != "deb" && $1 != "deb-src") next
        i = 2
        if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]/) i++; i++ }
        candidate($1, $i, $(i + 1))
        next
    }
    # deb822: stanzas separated by blank lines; "Field: value", folded onto
    # lines that start with white space (Signed-By may hold a whole key).
    /^[ \t]*$/ { flush(); next }
    /^#/ { next }
    /^[ \t]/ {
        if (field == "types") types = types " " $0
        else if (field == "uris") uris = uris " " $0
        else if (field == "suites") suites = suites " " $0
        next
    }
    {
        field = tolower($0); sub(/:.*/, "", field)
        value = $0; sub(/^[^:]*:[ \t]*/, "", value)
        if (field == "types") types = value
        else if (field == "uris") uris = value
        else if (field == "suites") suites = value
        else if (field == "enabled") { enabled = tolower(value); sub(/[ \t]+$/, "", enabled) }
    }
    END { flush(); if (best == "") exit 1; print best }
' "$@"
