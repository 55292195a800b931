#!/usr/bin/env bash
# The project's test command (README, .ci/run): formatting, vet, and every
# test under the race detector. Needs Go and a C compiler (for -race);
# modules come from the Go module proxy on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...
go test -race -count=1 ./... "$@"
