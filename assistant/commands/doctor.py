"""`haven doctor`: check everything Haven needs and say how to fix what is missing."""

from __future__ import annotations

import json
import shutil
import sys
import time

from assistant.errors import HavenError
from assistant.settings import Settings, config_path, settings_for, with_flags


def _check(name: str, fn) -> dict:
    started = time.perf_counter()
    try:
        detail = fn()
        ok, fix = True, None
    except HavenError as e:
        ok, detail, fix = False, None, str(e)
    return {"check": name, "ok": ok, "detail": detail, "fix": fix,
            "ms": round((time.perf_counter() - started) * 1000, 1)}


def _prompts():
    from assistant.library import LANGUAGES, load_language
    from assistant.safety import SafetyDetector

    for language in LANGUAGES:
        load_language(language)
    SafetyDetector(LANGUAGES)
    return "English and Dutch texts load and validate"


def _understanding():
    """The encoder and heads load, and a plain crisis sentence raises the alarm in both
    languages (a head that loads but no longer hears a crisis is the silent loss to catch)."""
    from assistant.meaning import shared_meaning

    meaning = shared_meaning()
    for language, probe in (("en", "I want to end my life."), ("nl", "Ik wil een einde aan mijn leven maken.")):
        if meaning.safety(meaning.features(probe), language).band != "alarm":
            raise HavenError("the safety head no longer hears a plain crisis sentence; reinstall Haven "
                             "(or rebuild the heads: python scripts/build_heads.py)")
    return f"sentence encoder and trained heads (training data {meaning.safety_head.meta.get('training', '?')})"
def _region(setting: str | None, language: str):
    """Whose helplines a crisis reply gives, and why (the setting, the locale, the language)."""
    from assistant.aftercare import Aftercare

    care = Aftercare(region=setting)
    region, source = care.region(language if language != "auto" else "en")
    lines = care.helplines(language if language != "auto" else "en")
    if not lines.known:
        raise HavenError(f"region {region} (from the {source}) has no helplines in Haven, so a crisis reply gives "
                         f"only 112; set region to one of {', '.join(care.directory.regions)} "
                         f"(--region, or region = \"GB\" in config.toml)")
    shown = ", ".join(f"{line.name or 'emergency'} {line.number}" for line in lines.lines())
    return f"{region} (from the {source}): {shown}"


def _model(name: str | None, language: str):
    from assistant.models import resolve_model
    from assistant.transcriber import Transcriber

    model = resolve_model(name)  # the joined base model is checked against its sha256 here, and repaired
    t = Transcriber(model, language)
    checked = ", sha256 verified" if model.name == "base" else ""
    return f"{model.name} at {model.path} (loads in {t.load_seconds:.1f} s{checked})"


def _voice(language: str, settings: Settings):
    from assistant.voice import Voice

    if shutil.which("espeak-ng") is None:
        raise HavenError("espeak-ng is missing; install it with: sudo apt-get install espeak-ng libespeak-ng1")
    v = Voice(language, settings.rate, voices=settings.voices())  # what `haven listen` would speak with
    try:
        samples = v.render("Hello." if language == "en" else "Hallo.")
    finally:
        v.close()
    if len(samples) < 1600:
        raise HavenError(f"the {language} voice rendered no sound; reinstall espeak-ng")
    kind = "natural voice (Piper en_US-joe-medium)" if v.voices[language] == "natural" else \
        f"espeak-ng voice {v.voices[language]}"
    return f"{kind} at {settings.rate} words a minute"


def _device(kind: str, spec):
    from assistant.devices import default_device, find_device, list_devices

    index = find_device(spec, kind)
    if index is not None:
        name = next(d["name"] for d in list_devices() if d["index"] == index)
        if str(spec).isdigit() or str(spec).lower() in name.lower():
            return name
        return f"{spec} (through {name})"  # a sound server name (devices.find_device)
    info = default_device(kind)
    if info is None:
        what = "microphone" if kind == "input" else "speakers"
        raise HavenError(
            f"no {what} found; connect one, check that PulseAudio or PipeWire is running (pactl info), "
            + ("or use 'haven listen --input FILE'" if kind == "input" else "or write replies with --output FILE"))
    return info["name"]


def _config(args) -> str:
    """config.toml and the flags, exactly as `haven listen` reads them."""
    settings_for(args)  # raises the same one-line error listen would
    path = config_path()
    return f"{path}" + ("" if path.is_file() else " (none: the defaults)")


def run(args) -> int:
    config = _check("config", lambda: _config(args))
    try:
        settings = settings_for(args)  # the settings `haven listen` would use
    except HavenError:
        settings = with_flags(Settings(), args)  # config.toml is broken: check the rest with the defaults
    language, model = settings.language, settings.model
    checks = [
        config,
        _check("prompts", _prompts),
        _check("understanding", _understanding),
        _check("region", lambda: _region(settings.region, language)),
        _check("model (en)", lambda: _model(model, "en")),
    ]
    if model in (None, "base") or language in ("nl", "auto"):
        checks.append(_check("model (nl)", lambda: _model(model, "nl")))
    checks += [
        _check("voice (en)", lambda: _voice("en", settings)),
        _check("voice (nl)", lambda: _voice("nl", settings)),
        _check("microphone", lambda: _device("input", settings.input_device)),
        _check("speakers", lambda: _device("output", settings.output_device)),
    ]
    if args.json:
        for c in checks:
            print(json.dumps(c, ensure_ascii=False))
    else:
        for c in checks:
            mark = "ok " if c["ok"] else "FIX"
            print(f"{mark}  {c['check']:<12} {c['detail'] if c['ok'] else c['fix']}")
        if all(c["ok"] for c in checks):
            print("\nAll good.")
    bad = [c for c in checks if not c["ok"]]
    if bad:
        # Like any bad input: exit 2 and one line on stderr (the fixes are above).
        sys.stderr.write(f"haven: doctor found {len(bad)} problem(s): {', '.join(c['check'] for c in bad)}\n")
        return 2
    return 0
