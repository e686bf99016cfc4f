"""`haven devices`: the audio devices Haven can use."""

from __future__ import annotations

import json

from assistant.devices import list_devices, server_devices


def run(args) -> int:
    devices = list_devices()
    server = {kind: server_devices(kind) for kind in ("input", "output")}
    if args.json:
        # PortAudio's devices as before; the sound server's with "index": null and "server": input|output.
        print(json.dumps(devices + [{"index": None, "name": d["name"], "description": d["description"], "server": kind}
                                    for kind, found in server.items() for d in found]))
        return 0
    if not devices and not any(server.values()):
        print("No audio devices found. Is a sound server running? (see 'haven doctor')")
    for d in devices:
        kinds = ", ".join(k for k, n in (("in", d["inputs"]), ("out", d["outputs"])) if n)
        print(f"{d['index']:3d}  {d['name']}  ({kinds}, {d['default_rate']:.0f} Hz)")
    for kind, title, flag in (("input", "Microphones", "--input-device"), ("output", "Speakers and headsets",
                                                                            "--output-device")):
        if server[kind]:
            print(f"\n{title} of the sound server (choose one with {flag} NAME, or in config.toml):")
            for d in server[kind]:
                print(f"     {d['name']}" + (f"  ({d['description']})" if d["description"] else ""))
    return 0
