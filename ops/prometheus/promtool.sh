#!/usr/bin/env bash
# Prints the path of a promtool binary, fetching one when needed (no root needed):
#   1. $AIMOS_PROMTOOL, if set and executable;
#   2. promtool on the PATH;
#   3. a copy extracted from Debian's `prometheus` package, cached in ${AIMOS_CACHE:-~/.cache/aimos}/promtool/,
#      downloaded with `apt-get download prometheus` and unpacked with `dpkg-deb -x` (once; later runs reuse it).
# Exits 3 with a message saying what to install when none can be found or fetched.
set -euo pipefail

if [[ -n "${AIMOS_PROMTOOL:-}" && -x "${AIMOS_PROMTOOL}" ]]; then
  echo "$AIMOS_PROMTOOL"
  exit 0
fi
if command -v promtool >/dev/null 2>&1; then
  command -v promtool
  exit 0
fi

cache="${AIMOS_CACHE:-${HOME:-/tmp}/.cache/aimos}/promtool"
if [[ -x "$cache/usr/bin/promtool" ]]; then
  echo "$cache/usr/bin/promtool"
  exit 0
fi

need() {
  echo "promtool is not installed and could not be fetched ($1): install Debian's 'prometheus' package" \
    "(apt-get install prometheus), put promtool on the PATH, or set AIMOS_PROMTOOL to its path" >&2
  exit 3
}
command -v apt-get >/dev/null 2>&1 || need "no apt-get"
command -v dpkg-deb >/dev/null 2>&1 || need "no dpkg-deb"

mkdir -p "$cache"
work="$(mktemp -d "$cache/.download.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "Fetching promtool: apt-get download prometheus (about 20 MB, once) into $cache" >&2
(cd "$work" && apt-get download -q -o Acquire::http::Timeout=30 -o Acquire::Retries=1 prometheus >&2) || need "apt-get download prometheus failed"
deb="$(ls "$work"/prometheus_*.deb 2>/dev/null | head -1)"
[[ -n "$deb" ]] || need "apt-get download left no prometheus_*.deb"
dpkg-deb -x "$deb" "$work/x" || need "dpkg-deb -x failed"
[[ -x "$work/x/usr/bin/promtool" ]] || need "the package holds no usr/bin/promtool"
mkdir -p "$cache/usr/bin"
# the rename is atomic: a build running beside this one sees the whole binary or none
cp "$work/x/usr/bin/promtool" "$cache/usr/bin/.promtool.$$"
mv -f "$cache/usr/bin/.promtool.$$" "$cache/usr/bin/promtool"
echo "$cache/usr/bin/promtool"
