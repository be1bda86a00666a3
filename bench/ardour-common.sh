# shellcheck shell=bash
# Shared by bench/ardour-bounce.sh and bench/ardour-tracks.sh: the plugin in a headless Ardour 7
# session. Source it after setting `work` (everything lives there; Ardour runs with
# HOME=$work/home, a fresh configuration and plugin cache, and the plugin records into its default
# folder, $work/home/Spectral Diffusion/).
# Needs: Debian's ardour package (ardour7-lua, ardour7-export), python3.

: "${work:?set work before sourcing bench/ardour-common.sh}"
rate=48000
session_name=bounce
ardour_lib=${ARDOUR_LIB:-/usr/lib/ardour7}   # where Debian puts ardour-vst3-scanner
home=$work/home
session_dir=$work/$session_name
bounce=$work/export.wav

elapsed() { awk -v from="$1" -v to="$EPOCHREALTIME" 'BEGIN { printf "%.1f", to - from }'; }

# Ardour with its own home: fresh config, no stray plugins, frames recorded under $home.
ardour() {
    env HOME="$home" XDG_CONFIG_HOME="$home/.config" XDG_CACHE_HOME="$home/.cache" \
        XDG_DATA_HOME="$home/.local/share" "$@"
}

for tool in ardour7-lua ardour7-export python3; do
    if ! command -v "$tool" >/dev/null; then
        echo "$tool is missing (apt-get install ardour python3)"
        exit 1
    fi
done
rm -rf "$work"
mkdir -p "$home"

# Builds the bundle and the CLI, and installs the VST3 as `cargo xtask install` would, into the
# home Ardour runs with.
build_and_install() {
    local start=$EPOCHREALTIME
    if ! nice -n 19 cargo xtask bundle spectral-diffusion --release >"$work/build.log" 2>&1; then
        tail -n 20 "$work/build.log"
        echo "the build failed (log: $work/build.log)"
        exit 1
    fi
    echo "build: $(elapsed "$start") s (target/bundled/, target/release/spectral-diffusion)"

    # ardour7-lua only reads the plugin cache: scan the bundle into it, as the GUI's scan would.
    # Ardour trusts a cache entry only when it is newer than the plugin, to the second: the copy
    # is dated back.
    local vst3=$home/.vst3/Spectral\ Diffusion.vst3
    mkdir -p "$home/.vst3"
    cp -r "target/bundled/Spectral Diffusion.vst3" "$vst3"
    find "$vst3" -exec touch -d '-2 seconds' {} +
    if ! ardour LD_LIBRARY_PATH="$ardour_lib" "$ardour_lib/ardour-vst3-scanner" -f -q "$vst3" \
        >"$work/vst3-scan.log" 2>&1; then
        cat "$work/vst3-scan.log"
        echo "Ardour's VST3 scanner rejects the bundle"
        exit 1
    fi
}

# Runs bench/ardour-session.lua for one step, showing only its own lines (Ardour's are in the log).
session_step() {
    local log=$work/ardour-$1.log
    if ! STEP=$1 SESSION_DIR=$session_dir SESSION_NAME=$session_name SAMPLE_RATE=$rate \
        NUM_SAMPLES=$num_samples TRACKS=$tracks ardour timeout 300 ardour7-lua \
        bench/ardour-session.lua >"$log" 2>&1; then
        grep -E '^(error|Error):' "$log" || tail -n 5 "$log"
        echo "ardour7-lua failed at step $1 (log: $log)"
        exit 1
    fi
}

# The session: one stereo track per TRACK=WAV argument (all WAVs of one length), each with its
# WAV as a region from 0 (Ardour 7's Lua API cannot import files, so the regions go into the
# session file, as Ardour writes them after an embed), then the plugin on each, armed.
make_session() {
    local start=$EPOCHREALTIME
    tracks=$(printf '%s\n' "$@" | cut -d= -f1 | paste -sd,)
    num_samples=$(python3 -c 'import sys, wave; print(wave.open(sys.argv[1]).getnframes())' \
        "${1#*=}")
    session_step create
    local audiofiles
    audiofiles=$(echo "$session_dir"/interchange/*/audiofiles)
    for track_wav in "$@"; do
        cp "${track_wav#*=}" "$audiofiles/"
    done
    python3 - "$session_dir/$session_name.ardour" "$@" <<'EOF_PY'
import os, sys
import xml.etree.ElementTree as ET

session_file, track_wavs = sys.argv[1], [arg.split("=", 1) for arg in sys.argv[2:]]
tree = ET.parse(session_file)
root = tree.getroot()
# The range marker over the song (in Ardour's own time encoding) becomes the session range.
marker = root.find("Locations/Location")
marker.set("name", "session")
marker.set("flags", "IsSessionRange")
root.set("session-range-is-free", "0")
next_id = 1 + max(int(e.get("id")) for e in root.iter() if (e.get("id") or "").isdigit())
sources = root.find("Sources")
for track_name, wav_path in track_wavs:
    wav_name = os.path.basename(wav_path)
    region = {
        "name": wav_name.rsplit(".", 1)[0], "id": str(next_id), "type": "audio",
        "position": "a0", "start": "a0", "length": marker.get("end") + "@a0", "channels": "2",
    }
    for channel in range(2):
        source_id = str(next_id + 1 + channel)
        ET.SubElement(sources, "Source", {
            "name": wav_name, "type": "audio", "flags": "", "id": source_id,
            "channel": str(channel), "origin": "",
        })
        region[f"source-{channel}"] = region[f"master-source-{channel}"] = source_id
    next_id += 3
    track = next(r for r in root.iter("Route") if r.get("name") == track_name)
    playlist = next(p for p in root.iter("Playlist") if p.get("id") == track.get("audio-playlist"))
    ET.SubElement(playlist, "Region", region)
root.set("id-counter", str(next_id))
tree.write(session_file, encoding="UTF-8", xml_declaration=True)
EOF_PY
    session_step finish
    echo "session: $(elapsed "$start") s ($session_dir, tracks $tracks)"
}

# Bounces the session with Ardour's own exporter: 32-bit float, to $bounce.
export_bounce() {
    local start=$EPOCHREALTIME
    if ! ardour timeout 600 ardour7-export -b float -o "$bounce" "$session_dir" "$session_name" \
        >"$work/ardour-export.log" 2>&1; then
        tail -n 5 "$work/ardour-export.log"
        echo "ardour7-export failed (log: $work/ardour-export.log)"
        exit 1
    fi
    echo "export: $(elapsed "$start") s ($bounce)"
}

# Compares a folder the plugin recorded with one the CLI rendered, byte for byte: the same PNG
# names on both sides, the same bytes in each, the same CSV. Appends what differs to `problems`.
compare_folders() {
    local recorded=$1 cli_out=$2
    local recorded_frames cli_frames num_frames num_recorded
    recorded_frames=$(cd "$recorded/frames" 2>/dev/null && find . -name '*.png' | sort) ||
        recorded_frames=
    cli_frames=$(cd "$cli_out/frames" && find . -name '*.png' | sort)
    num_frames=$(echo "$cli_frames" | grep -c . || true)
    num_recorded=$(echo "$recorded_frames" | grep -c . || true)
    if [ "$recorded_frames" != "$cli_frames" ]; then
        local only_plugin only_cli detail
        only_plugin=$(comm -23 <(echo "$recorded_frames") <(echo "$cli_frames"))
        only_cli=$(comm -13 <(echo "$recorded_frames") <(echo "$cli_frames"))
        # "N only by WHO, first NAME"
        only_by() {
            printf '%s only by %s' "$(echo "$1" | grep -c . || true)" "$2"
            [ -z "$1" ] || printf ', first %s' "$(echo "$1" | head -n 1 | cut -c3-)"
        }
        detail="$(only_by "$only_plugin" "the plugin"); $(only_by "$only_cli" "the CLI")"
        problems+=("plugin wrote $num_recorded frames, CLI $num_frames ($detail)")
    fi
    local differing=0 first_differing='' frame
    while read -r frame; do
        if [ -n "$frame" ] && [ -f "$recorded/frames/$frame" ] &&
            ! cmp -s "$recorded/frames/$frame" "$cli_out/frames/$frame"; then
            differing=$((differing + 1))
            first_differing=${first_differing:-${frame#./}}
        fi
    done <<<"$cli_frames"
    if [ "$differing" -gt 0 ]; then
        problems+=("$differing frames differ (first: $first_differing)")
    fi
    if ! cmp -s "$recorded/spectrum.csv" "$cli_out/spectrum.csv"; then
        local first_difference
        first_difference=$(cmp "$recorded/spectrum.csv" "$cli_out/spectrum.csv" 2>&1 || true)
        problems+=("spectrum.csv differs: $first_difference")
    fi
    # shellcheck disable=SC2034 # read by the script that sources this one
    compared_frames=$num_frames
}
