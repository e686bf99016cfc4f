"""`haven devices`: the audio devices Haven can use."""

from __future__ import annotations

import json

from assistant.devices import list_devices


def run(args) -> int:
    devices = list_devices()
    if args.json:
        print(json.dumps(devices))
        return 0
    if not devices:
        print("No audio devices found. Is a sound server running? (see 'haven doctor')")
    for d in devices:
        kinds = ", ".join(k for k, n in (("in", d["inputs"]), ("out", d["outputs"])) if n)
        print(f"{d['index']:3d}  {d['name']}  ({kinds}, {d['default_rate']:.0f} Hz)")
    return 0
