#!/usr/bin/env python3
"""What Deforum's own Parseq adapter reads from a parseq.json: every animation schedule it knows,
with the values it takes from the file, or null where it falls back to its UI's schedule.

Runs Deforum's scripts/deforum_helpers/parseq_adapter.py itself, unchanged, from a checkout of
deforum-art/sd-webui-deforum: only what it imports from AUTOMATIC1111, rich, numpy and pandas is
stood in for here (pandas' Series by a list, which is all the adapter's reading needs). The
schedules are the attributes Deforum's animation_key_frames.py defines, read from that file.

Usage: bench/deforum_parseq.py DEFORUM_CHECKOUT parseq.json [--no-deltas]
Prints one JSON object: {"managed": [...], "series": {attribute: [values] or null}}.
"""

import json
import math
import re
import sys
import types
from pathlib import Path

UI = "UI"


def stub_modules(helpers: Path):
    numpy = types.ModuleType("numpy")
    numpy.nan = math.nan
    numpy.isnan = lambda value: isinstance(value, float) and math.isnan(value)
    pandas = types.ModuleType("pandas")
    pandas.Series = list
    requests = types.ModuleType("requests")
    rich = types.ModuleType("deforum_helpers.rich")
    rich.console = types.SimpleNamespace(print=lambda *args, **kwargs: None)
    general = types.ModuleType("deforum_helpers.general_utils")
    general.tickOrCross = lambda value: "yes" if value else "no"

    # Deforum's own keyframe classes need AUTOMATIC1111; these have the same attributes, each
    # holding UI, so a series the adapter does not take from the file reads as UI.
    source = (helpers / "animation_key_frames.py").read_text()
    classes = {}
    for name, body in re.findall(r"class (\w+)\(\):\n(.*?)(?=\nclass |\Z)", source, re.S):
        classes[name] = sorted(set(re.findall(r"self\.(\w+_series) = ", body)))
    # ControlNet's series are made in a loop: cn_<i>_<suffix>_schedule_series.
    classes["ControlNetKeys"] = [
        f"cn_{i}_{suffix}_schedule_series"
        for i in range(1, 6)
        for suffix in ("weight", "guidance_start", "guidance_end")
    ]
    keys = types.ModuleType("deforum_helpers.animation_key_frames")
    for name, attributes in classes.items():
        def init(self, *args, attributes=attributes, **kwargs):
            for attribute in attributes:
                setattr(self, attribute, UI)
        setattr(keys, name, type(name, (), {"__init__": init}))
    package = types.ModuleType("deforum_helpers")
    package.__path__ = [str(helpers)]
    sys.modules.update({
        "numpy": numpy,
        "pandas": pandas,
        "requests": requests,
        "deforum_helpers": package,
        "deforum_helpers.rich": rich,
        "deforum_helpers.general_utils": general,
        "deforum_helpers.animation_key_frames": keys,
    })
    return classes


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__.strip().splitlines()[-2])
    helpers = Path(sys.argv[1]) / "scripts" / "deforum_helpers"
    manifest = Path(sys.argv[2]).read_text()
    use_deltas = "--no-deltas" not in sys.argv[3:]
    classes = stub_modules(helpers)
    from deforum_helpers.parseq_adapter import ParseqAdapter

    num_frames = len(json.loads(manifest)["rendered_frames"])
    adapter = ParseqAdapter(
        types.SimpleNamespace(
            parseq_manifest=manifest,
            parseq_use_deltas=use_deltas,
            parseq_non_schedule_overrides=False,
        ),
        types.SimpleNamespace(max_frames=num_frames, diffusion_cadence=1),
        types.SimpleNamespace(fps=24),
        types.SimpleNamespace(),
        types.SimpleNamespace(),
        mute=True,
    )
    series = {}
    for keys, class_name in [
        (adapter.anim_keys, "DeformAnimKeys"),
        (adapter.cn_keys, "ControlNetKeys"),
        (adapter.looper_keys, "LooperAnimKeys"),
    ]:
        for attribute in classes[class_name]:
            values = getattr(keys, attribute)
            series[attribute] = None if values == UI else [float(v) for v in values]
    managed = adapter.anim_keys.managed_fields() + adapter.cn_keys.managed_fields()
    print(json.dumps({"managed": managed, "series": series}))


if __name__ == "__main__":
    main()
