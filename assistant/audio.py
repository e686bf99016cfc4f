"""Audio at the edges: decoding recordings, resampling, WAV output.

Inside Haven all audio is 16 kHz mono float32. These helpers are the only places
that convert: a file on the way in, the voice's 22.05 kHz on the way out of pyttsx3,
a device that will not open at 16 kHz.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from assistant.errors import HavenError
from assistant.settings import SAMPLE_RATE



def resample(audio: np.ndarray, rate_in: int, rate_out: int = SAMPLE_RATE) -> np.ndarray:
    """Band-limited resampling with libswresample (PyAV, already a faster-whisper dependency)."""
    if rate_in == rate_out or len(audio) == 0:
        return audio.astype(np.float32, copy=False)
    import av

    pcm = np.clip(audio, -1.0, 1.0)
    frame = av.AudioFrame.from_ndarray((pcm * 32767).astype(np.int16).reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = rate_in
    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate_out)
    out = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    out += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return (np.concatenate(out).astype(np.float32) / 32768.0) if out else np.zeros(0, np.float32)


def to_pcm16(audio: np.ndarray) -> bytes:
    """float32 samples as little-endian 16-bit PCM (clipped): the one way out to a WAV."""
    return (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def from_pcm16(data: bytes) -> np.ndarray:
    """Little-endian 16-bit PCM as float32 samples: the one way in from a WAV."""
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def read_recording(path: str | Path) -> np.ndarray:
    """Any format faster-whisper's decoder reads, as 16 kHz mono float32, whole (short files)."""
    from assistant.decoding import decode_all

    return decode_all(path)


def write_wav(path: str | Path, audio: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    """16-bit mono WAV. Only ever Haven's own voice: the person's audio is never written."""
    p = Path(path)
    try:
        with wave.open(str(p), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(to_pcm16(audio))
    except OSError as e:
        raise HavenError(f"cannot write {p}: {e.strerror or e}; choose another --output path") from None
