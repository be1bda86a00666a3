#!/usr/bin/env bash
# The long run of the output folder's readers (tests/readers_fuzz.rs): every reader against
# arbitrary bytes and damaged valid files, CASES cases each (default 20000) in a release build.
# A failure is shrunk to its smallest case and kept in tests/readers_fuzz.proptest-regressions,
# which every `cargo test` replays: commit that file with the fix.
#
#   bench/fuzz-readers.sh [CASES]
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${1:-20000}"
start=$(date +%s)
PROPTEST_CASES="$cases" cargo test --release --test readers_fuzz -- --test-threads 2
echo "readers fuzzed with $cases cases each in $(( $(date +%s) - start )) s"
