#!/usr/bin/env bash
# The plugin against the independent validators (issue 18, "Done when"):
#   clap-validator validate   every test, expect 0 failed
#   clap-validator fuzz       5 minutes (FUZZ_DURATION), no failure
#   pluginval                 strictness 10 with the editor (under xvfb-run), RUNS runs with random
#                             seeds, every one passing
# The validators are built from their sources outside the repository (nothing of them goes into
# the product); point CLAP_VALIDATOR and PLUGINVAL at the binaries:
#   clap-validator: free-audio/clap-validator, `cargo build --release` (its test plugins, which
#                   need a git dependency, can be left out of its workspace)
#   pluginval:      Tracktion/pluginval with JUCE at modules/juce, `cmake -B build -DCMAKE_BUILD_TYPE=Release
#                   && cmake --build build --target pluginval` (Debian: cmake ladspa-sdk libasound2-dev
#                   libx11-dev libxrandr-dev libxinerama-dev libxcursor-dev libfreetype-dev
#                   libfontconfig1-dev libgtk-3-dev libwebkit2gtk-4.1-dev; xvfb for the runs)
# Usage: bench/validators.sh            (bundles the release build first; SKIP_BUNDLE=1 to reuse it;
#                                       FUZZ_DURATION, FUZZ_JOBS, RUNS, LOG_DIR to change the rest)
# Prints one line per run and a summary; exits 1 if any run failed. Logs go to $LOG_DIR.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
CLAP_VALIDATOR=${CLAP_VALIDATOR:-/work/tools/clap-validator/target/release/clap-validator}
PLUGINVAL=${PLUGINVAL:-/work/tools/pluginval/build/pluginval_artefacts/Release/pluginval}
FUZZ_DURATION=${FUZZ_DURATION:-5m}
# Chunks run in parallel by default, one per core; each must finish within clap-validator's 60 s.
FUZZ_JOBS=${FUZZ_JOBS:-1}
RUNS=${RUNS:-3}
LOG_DIR=${LOG_DIR:-target/validators}
CLAP_BUNDLE="target/bundled/Spectral Diffusion.clap"
VST3_BUNDLE="target/bundled/Spectral Diffusion.vst3"

for tool in "$CLAP_VALIDATOR" "$PLUGINVAL"; do
    if [[ ! -x $tool ]]; then
        echo "validators.sh: $tool not found (set CLAP_VALIDATOR / PLUGINVAL)" >&2
        exit 1
    fi
done
if ! command -v xvfb-run > /dev/null; then
    echo "validators.sh: xvfb-run not found (Debian package xvfb)" >&2
    exit 1
fi
mkdir -p "$LOG_DIR"
if [[ ${SKIP_BUNDLE:-0} != 1 ]]; then
    if ! cargo xtask bundle spectral-diffusion --release > "$LOG_DIR/bundle.log" 2>&1; then
        cat "$LOG_DIR/bundle.log" >&2
        exit 1
    fi
fi
# The validators arm the recorder with random parameters: its takes go to a scratch home (the
# default output folder is ~/Spectral Diffusion/), not the user's.
scratch_home=$(mktemp -d)
trap 'rm -rf "$scratch_home" 2> /dev/null' EXIT
failed=0

# "ok" for exit status 0, else "FAIL".
verdict() {
    if [[ $1 == 0 ]]; then echo ok; else echo FAIL; fi
}

# One line per run: what ran, its result, its log.
report() {
    local name=$1 status=$2 log=$3 summary=$4
    printf '%-34s %-4s %s  (%s)\n' "$name" "$status" "$summary" "$log"
    [[ $status == ok ]] || failed=1
}

log="$LOG_DIR/clap-validate.log"
HOME=$scratch_home "$CLAP_VALIDATOR" validate "$CLAP_BUNDLE" > "$log" 2>&1
status=$?
summary=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^[0-9]+ tests run' | tail -n 1)
report "clap-validator validate" "$(verdict "$status")" "$log" "$summary"

log="$LOG_DIR/clap-fuzz.log"
HOME=$scratch_home "$CLAP_VALIDATOR" fuzz --duration "$FUZZ_DURATION" --jobs "$FUZZ_JOBS" \
    "$CLAP_BUNDLE" > "$log" 2>&1
status=$?
summary=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | tail -n 3 | tr '\n' ' ')
report "clap-validator fuzz $FUZZ_DURATION" "$(verdict "$status")" "$log" "$summary"

for run in $(seq 1 "$RUNS"); do
    seed=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
    log="$LOG_DIR/pluginval-$run-0x$seed.log"
    HOME=$scratch_home xvfb-run -a "$PLUGINVAL" --strictness-level 10 --random-seed "0x$seed" \
        --validate "$VST3_BUNDLE" > "$log" 2>&1
    status=$?
    summary="seed 0x$seed, exit $status, $(grep -c '^Starting tests in' "$log") test groups"
    grep -q '^SUCCESS' "$log" || status=1
    report "pluginval strictness 10 #$run" "$(verdict "$status")" "$log" "$summary"
done

exit "$failed"
