#!/usr/bin/env bash
# Does `diffuse` with its default settings keep a real ComfyUI server busy? Renders 24 guide frames
# of 64 px (1 s of a chord at 24 fps), draws them on SERVER with CHECKPOINT in one step, and sets the
# run's wall time against the sum of ComfyUI's own execution times (each prompt's
# execution_start → execution_success in /history). Issue 21's goal: the sum within 2 % of the wall
# time. The time between is split into our start and end, and the gaps between prompts; /queue,
# polled every 20 ms, tells whether a gap was ours (the server's queue empty: it waited for us) or
# the server's own (our next prompt already queued: ComfyUI's prompt_worker runs gc.collect()
# and empties its cache between prompts at most every 10 s). Needs python3, curl and a running
# ComfyUI (CPU is fine) with any SD1.5-layout checkpoint, used by no one else meanwhile.
#
# Usage: bench/comfyui-busy.sh [SERVER [CHECKPOINT]]
# SPECTRAL_DIFFUSION=path/to/binary skips the release build.
set -euo pipefail
cd "$(dirname "$0")/.."

server=${1:-http://127.0.0.1:8188}
checkpoint=${2:-v1-5-pruned-emaonly.safetensors}
if [ -z "${SPECTRAL_DIFFUSION:-}" ]; then
    cargo build --release --quiet
    SPECTRAL_DIFFUSION=target/release/spectral-diffusion
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$work/chord.wav" <<'EOF'
import math, struct, sys, wave
rate = 44100
with wave.open(sys.argv[1], "wb") as out:
    out.setnchannels(1)
    out.setsampwidth(2)
    out.setframerate(rate)
    out.writeframes(b"".join(
        struct.pack("<h", int(9000 * sum(math.sin(2 * math.pi * f * i / rate) for f in (110, 277, 659))))
        for i in range(rate)))
EOF
"$SPECTRAL_DIFFUSION" render "$work/chord.wav" --fps 24 --size 64 --out "$work/out" --quiet

before=$(curl -sf "$server/history")
python3 - "$server" "$work/queue.log" <<'EOF' &
import json, sys, time, urllib.request
server, log = sys.argv[1], open(sys.argv[2], "w")
while True:
    queue = json.load(urllib.request.urlopen(server + "/queue"))
    print(time.time(), len(queue["queue_running"]), len(queue["queue_pending"]), file=log, flush=True)
    time.sleep(0.02)
EOF
poller=$!
start=$(date +%s.%N)
"$SPECTRAL_DIFFUSION" diffuse "$work/out" --server "$server" --checkpoint "$checkpoint" --steps 1
end=$(date +%s.%N)
kill "$poller"
after=$(curl -sf "$server/history")

python3 - "$start" "$end" "$work/out" <(echo "$before") <(echo "$after") "$work/queue.log" <<'EOF'
import hashlib, json, os, sys
start, end, out = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
before = json.load(open(sys.argv[4]))
after = json.load(open(sys.argv[5]))
polls = [tuple(map(float, line.split())) for line in open(sys.argv[6])]
# Our uploads go to input/spectral-diffusion-<first 12 hex of SHA-256 of the folder's path>/.
ours = "spectral-diffusion-" + hashlib.sha256(os.path.realpath(out).encode()).hexdigest()[:12] + "/"
executions, num_others = [], 0
for prompt_id, entry in after.items():
    if prompt_id in before:
        continue
    images = [node["inputs"].get("image", "") for node in entry["prompt"][2].values()
              if node["class_type"] == "LoadImage"]
    if not any(image.startswith(ours) for image in images):
        num_others += 1
        continue
    times = {kind: data["timestamp"] / 1000 for kind, data in entry["status"]["messages"]}
    executions.append((times["execution_start"], times["execution_success"]))
executions.sort()
wall = end - start
busy = sum(success - start_ for start_, success in executions)
print(f"{len(executions)} prompts: wall {wall:.2f} s, ComfyUI executing {busy:.2f} s "
      f"({100 * busy / wall:.1f} % of the wall time), idle {wall - busy:.2f} s")
first, last = executions[0][0], executions[-1][1]
gaps = [after_[0] - before_[1] for before_, after_ in zip(executions, executions[1:])]
# The server waited for us where, between its first start and last success, its queue was empty.
empty = [t for t, running, pending in polls if first < t < last and running + pending == 0]
print(f"our start {1000 * (first - start):.0f} ms, our end {1000 * (end - last):.0f} ms; "
      f"{len(gaps)} gaps between prompts, {sum(gaps):.2f} s in all, longest {1000 * max(gaps):.0f} ms; "
      f"{len(polls)} polls of /queue, {len(empty)} with the queue empty")
if num_others:
    sys.exit(f"{num_others} other prompts ran on the server meanwhile: the figures do not hold")
EOF
