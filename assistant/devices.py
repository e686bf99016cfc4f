"""Audio devices through PortAudio (sounddevice): listing them and finding one by name or index."""

from __future__ import annotations

from assistant.errors import HavenError


def sounddevice():
    """The sounddevice module, or a one-line error naming the missing library."""
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


def find_device(spec: str | int | None, kind: str) -> int | None:
    """A device index for --input-device / --output-device; None means the default."""
    if spec is None or spec == "":
        return None
    channels = "inputs" if kind == "input" else "outputs"
    devices = [d for d in list_devices() if d[channels] > 0]
    word = "microphone" if kind == "input" else "output device"
    if str(spec).isdigit():
        for d in devices:
            if d["index"] == int(spec):
                return d["index"]
    else:
        wanted = str(spec).lower()
        exact = [d for d in devices if d["name"].lower() == wanted]
        partial = [d for d in devices if wanted in d["name"].lower()]
        if exact or len(partial) == 1:
            return (exact or partial)[0]["index"]
        if len(partial) > 1:
            names = ", ".join(f"{d['index']}: {d['name']}" for d in partial)
            raise HavenError(f"'{spec}' matches several {word}s ({names}); give the index")
    known = ", ".join(f"{d['index']}: {d['name']}" for d in devices) or "none found"
    raise HavenError(f"no {word} '{spec}' (known: {known}); see 'haven devices'")
