"""Audio devices: listing them and finding one by name or index.

PortAudio (sounddevice) sees only "pulse" and "default" under PulseAudio or PipeWire,
so the real microphones and outputs come from the sound server itself (`pactl`, which
both provide). A server name chosen with --input-device / --output-device (or the
config) is handed to ALSA's pulse plugin through PULSE_SOURCE / PULSE_SINK, which it
reads when a stream opens, and the stream goes through PortAudio's "pulse" device.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from assistant.errors import HavenError

_PULSE_ENV = {"input": "PULSE_SOURCE", "output": "PULSE_SINK"}


def sounddevice():
    """The sounddevice module, or a one-line error naming the missing library.

    alsa-lib's own lines ("underrun occurred") are silenced first: a stream opened before
    the screen is drawn (the breathing speakers settle while the clips render) would
    otherwise print them above it."""
    from assistant.quiet import silence_alsa

    silence_alsa()
    try:
        import sounddevice as sd
    except OSError:
        raise HavenError("the PortAudio library is missing; install it with: sudo apt-get install libportaudio2") from None
    return sd


def list_devices() -> list[dict]:
    sd = sounddevice()
    try:
        devices = sd.query_devices()
    except sd.PortAudioError:
        return []
    result = []
    for i, d in enumerate(devices):
        result.append({
            "index": i, "name": d["name"], "inputs": d["max_input_channels"],
            "outputs": d["max_output_channels"], "default_rate": d["default_samplerate"],
        })
    return result


def default_device(kind: str) -> dict | None:
    """The default input or output device, or None when there is none."""
    sd = sounddevice()
    try:
        info = sd.query_devices(kind=kind)
    except (sd.PortAudioError, ValueError):
        return None
    return dict(info) if info else None


def server_devices(kind: str) -> list[dict]:
    """The sound server's sources (kind "input") or sinks ("output"): [{name, description}],
    or [] where there is no pactl or no server. A sink's monitor is a source too."""
    pactl = shutil.which("pactl")
    if pactl is None:
        return []
    what = "sources" if kind == "input" else "sinks"

    def run(*args: str) -> str | None:
        try:
            done = subprocess.run([pactl, *args, "list", *(["short"] if not args else []), what],
                                  capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout if done.returncode == 0 else None

    found = []
    text = run("-f", "json")  # names and descriptions; older pactl has no JSON
    try:
        found = [{"name": d["name"], "description": d.get("description") or ""} for d in json.loads(text)]
    except (TypeError, ValueError, KeyError):
        text = run()
        for line in (text or "").splitlines():
            cols = line.split("\t")
            if len(cols) > 1:
                found.append({"name": cols[1], "description": ""})
    return found


def find_device(spec: str | int | None, kind: str) -> int | None:
    """A PortAudio device index for --input-device / --output-device; None means the default.

    A PortAudio name or index is used as it is; a sound server's source or sink name
    (see server_devices) is set as PULSE_SOURCE / PULSE_SINK for this process, and the
    stream goes through the "pulse" device.
    """
    if spec is None or spec == "":
        return None
    channels = "inputs" if kind == "input" else "outputs"
    devices = [d for d in list_devices() if d[channels] > 0]
    word = "microphone" if kind == "input" else "output device"
    if str(spec).isdigit():
        for d in devices:
            if d["index"] == int(spec):
                return d["index"]
    wanted = str(spec).lower()
    exact = [d for d in devices if d["name"].lower() == wanted]
    if exact:
        return exact[0]["index"]
    server = server_devices(kind)
    named = [d for d in server if d["name"].lower() == wanted] or \
        [d for d in server if wanted in d["name"].lower() or wanted in d["description"].lower()]
    partial = [d for d in devices if wanted in d["name"].lower()]
    if len(named) == 1 and not partial:
        return _through_server(named[0]["name"], kind, devices)
    if len(partial) == 1 and not named:
        return partial[0]["index"]
    if named or partial:
        names = ", ".join([f"{d['index']}: {d['name']}" for d in partial] + [d["name"] for d in named])
        raise HavenError(f"'{spec}' matches several {word}s ({names}); give the full name")
    known = ", ".join([f"{d['index']}: {d['name']}" for d in devices] + [d["name"] for d in server]) or "none found"
    raise HavenError(f"no {word} '{spec}' (known: {known}); see 'haven devices'")


def _through_server(name: str, kind: str, devices: list[dict]) -> int | None:
    os.environ[_PULSE_ENV[kind]] = name  # read by the pulse plugin when the stream opens
    pulse = [d for d in devices if d["name"] == "pulse"]
    return pulse[0]["index"] if pulse else None  # else the default, which is the server too
