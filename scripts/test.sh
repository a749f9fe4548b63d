#!/usr/bin/env bash
# scripts/test.sh runs every test of the project on a fresh Debian machine:
# it installs what the tests need when it is missing (redis-server and
# chromium, from Debian's packages), checks formatting and vet, runs the
# whole suite with the race detector, reports the domain's coverage, then
# runs each fuzz target for a bounded number of inputs. The tests start the
# servers they need themselves (redis-server on a free loopback port, the
# app, Chromium).
#
#   ./scripts/test.sh               everything
#   FUZZTIME=0 ./scripts/test.sh    skip the bounded fuzzing
#   FUZZTIME=60s ./scripts/test.sh  fuzz every target for 60 s (or 500000x)
#
# It exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-}
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

# By default each target runs a count of inputs, 5 to 15 s of it on two cores,
# not a duration: with -fuzztime=8s, Go 1.26's coordinator can fail a target
# that found nothing with a bare "context deadline exceeded" as the deadline
# passes (go.dev/issue/75804, fixed in Go 1.27). A count sets no deadline.
budget() {
  if [ -n "$fuzztime" ]; then echo "$fuzztime"; return; fi
  case "$1" in
    FuzzParseTemplate) echo 8000x ;;
    FuzzDecodeCheckApply) echo 12000x ;;
    FuzzClientFrame) echo 80000x ;;
    FuzzParse) echo 250000x ;;
    FuzzDecode) echo 150000x ;;
    *) echo 20000x ;;
  esac
}

if [ "$fuzztime" != "0" ]; then
  echo "== fuzzing each target"
  # Every "func FuzzX(f *testing.F)" in a _test.go file, by package.
  grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' . | sort | while read -r file; do
    pkg="./$(dirname "${file#./}")"
    for target in $(grep -oE '^func Fuzz[A-Za-z0-9_]+' "$file" | sed 's/^func //'); do
      echo "-- $pkg $target ($(budget "$target"))"
      go test -run='^$' -fuzz="^${target}\$" -fuzztime="$(budget "$target")" "$pkg"
    done
  done
fi
echo "== all tests passed"
