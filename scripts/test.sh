#!/usr/bin/env bash
# scripts/test.sh runs every test of the project on a fresh Debian machine:
# it installs what the tests need when it is missing (redis-server and
# chromium, from Debian's packages), checks formatting and vet, runs the
# whole suite with the race detector, reports the domain's coverage, then
# runs each fuzz target for a bounded time. The tests start the servers they
# need themselves (redis-server on a free loopback port, the app, Chromium).
#
#   ./scripts/test.sh            everything
#   FUZZTIME=0 ./scripts/test.sh skip the bounded fuzzing
#
# It exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-8s}
min_cover=90.0

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# fonts-liberation is only a recommendation of chromium: the browser tests measure text
# (the projector must fit 1920x1080), so install the fonts they were written with.
command -v chromium >/dev/null 2>&1 || need+=(chromium fonts-liberation)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]} (apt-get)"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Tests that need Redis or Chromium never skip here: a skipped test proves nothing.
export CI=${CI:-true}

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -count=1 -timeout 30m ./...

echo "== coverage of meeting/ (its own tests)"
cover=$(mktemp)
trap 'rm -f "$cover"' EXIT
go test -count=1 -coverprofile="$cover" ./meeting >/dev/null
total=$(go tool cover -func="$cover" | awk '/^total:/ {sub("%","",$3); print $3}')
echo "meeting/: ${total}% of statements (required: ${min_cover}%)"
awk -v t="$total" -v m="$min_cover" 'BEGIN { exit !(t+0 >= m+0) }' || {
  echo "coverage of meeting/ below ${min_cover}%"; exit 1; }

if [ "$fuzztime" != "0" ]; then
  echo "== fuzzing each target for ${fuzztime}"
  # Every "func FuzzX(f *testing.F)" in a _test.go file, by package.
  grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' . | sort | while read -r file; do
    pkg="./$(dirname "${file#./}")"
    for target in $(grep -oE '^func Fuzz[A-Za-z0-9_]+' "$file" | sed 's/^func //'); do
      echo "-- $pkg $target"
      go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg"
    done
  done
fi
echo "== all tests passed"
