"""A recording decoded as a stream: 16 kHz mono float32 blocks, memory bounded whatever
its length (a whole 2 GB WAV decoded at once took 10 GB).

Opening checks what can be checked before the slow start-up: the path, a sample rate
in a sane range (a 32 KB file whose header says 1 Hz became 16,000 s of audio), and
that some audio decodes. Damage found while decoding is said, one warning line each,
never dropped in silence:

- a WAV whose header promises more than the file holds (truncated);
- frames that cannot be decoded (their time is kept as silence, so the replies after
  them stay where they belong on the timeline);
- stereo whose channels cancel when mixed (anti-phase): the louder channel is used.
"""

from __future__ import annotations

import os
import stat
import struct
import sys
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from assistant.errors import AudioInputError
from assistant.settings import SAMPLE_RATE

RATE_RANGE = (8000, 384000)  # telephone to the highest studio rate; outside it a header is lying
_GAP_S = 0.05  # a jump in frame times larger than this is audio that could not be decoded
_CANCEL = 0.1  # the mix has less than a tenth of the louder channel's energy: the channels cancel
_QUIET = 1e-6  # below this energy a block is silence, whatever its channels do


def warn_stderr(message: str) -> None:
    sys.stderr.write(f"haven: warning: {message}\n")


def check_path(p: Path) -> os.stat_result:
    """A regular file we can read, or an AudioInputError that says what it is instead."""
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise AudioInputError(f"{p}: no such file; check the path") from None
    except OSError as e:  # a symlink loop, a folder we may not enter
        raise AudioInputError(f"{p}: cannot be opened ({e.strerror or e}); check the path and its folders") from None
    if stat.S_ISDIR(st.st_mode):
        raise AudioInputError(f"{p}: is a folder, not a recording")
    if not stat.S_ISREG(st.st_mode):
        raise AudioInputError(f"{p}: is not a regular file (a pipe or device); save the recording to a file first")
    if st.st_size == 0:
        raise AudioInputError(f"{p}: the file is empty; record again or choose another file")
    try:
        with open(p, "rb"):
            pass
    except OSError as e:
        raise AudioInputError(f"{p}: cannot be read ({e.strerror or e}); check its permissions") from None
    return st


def wav_shortfall(p: Path, size: int) -> tuple[int, int] | None:
    """(bytes the WAV header promises, bytes the file holds) when the data chunk is cut short."""
    with open(p, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                return None
            cid, length = struct.unpack("<4sI", chunk)
            if cid == b"data":
                held = size - f.tell()
                # 0 and 0xFFFFFFFF are what streaming writers put before they know the length.
                return (length, held) if 0 < length < 0xFFFFFFFF and held < length else None
            f.seek(length + (length & 1), os.SEEK_CUR)


class Recording:
    """An opened recording; blocks() decodes it once, as a stream."""

    def __init__(self, path: str | Path, warn: Callable[[str], None] = warn_stderr):
        import av

        self.path = Path(path)
        self.warn = warn
        st = check_path(self.path)
        self._size = st.st_size
        try:
            self._container = av.open(str(self.path), metadata_errors="ignore")
            if not self._container.streams.audio:
                raise AudioInputError(f"{self.path}: holds no audio; use a WAV, FLAC, OGG or MP3 file")
            self._stream = self._container.streams.audio[0]
        except (av.error.FFmpegError, ValueError, OSError) as e:
            raise AudioInputError(f"{self.path}: cannot decode this recording ({_reason(e)}); "
                                  "use a WAV, FLAC, OGG or MP3 file") from None
        self.rate = self._stream.rate or 0
        if not RATE_RANGE[0] <= self.rate <= RATE_RANGE[1]:
            self._container.close()
            raise AudioInputError(
                f"{self.path}: its header gives a sample rate of {self.rate} Hz, outside "
                f"{RATE_RANGE[0]}-{RATE_RANGE[1]} Hz; the file is damaged or not a real recording")
        duration = self._container.duration  # microseconds, or None
        self.samples_estimate = int(duration * SAMPLE_RATE / 1_000_000) if duration else 0
        # No gap is filled past this: the length the container gives, or what the file could hold at most.
        self._longest_s = duration / 1_000_000 if duration else st.st_size / max(1, self.rate)
        self._blocks = self._decode()
        try:
            self._first = next(self._blocks)  # some audio decodes: bad input fails before the slow part
        except StopIteration:
            raise AudioInputError(f"{self.path}: holds no audio that can be decoded; "
                                  "the file is corrupt or truncated") from None

    def blocks(self) -> Iterator[np.ndarray]:
        """16 kHz mono float32 blocks, in order, once."""
        yield self._first
        yield from self._blocks

    def _decode(self) -> Iterator[np.ndarray]:
        import av

        resampler = av.AudioResampler(format="fltp", layout=self._stream.layout.name, rate=SAMPLE_RATE)
        expected = None  # where the next frame should start, in seconds (a stream may start late: not damage)
        skipped, bad_packets, cancelled = 0.0, 0, False
        try:
            for packet in self._container.demux(self._stream):
                try:
                    frames = packet.decode()
                except (av.error.FFmpegError, ValueError):  # a damaged packet: counted, and its time kept
                    bad_packets += 1
                    continue
                for frame in frames:
                    if expected is None:
                        expected = frame.time or 0.0
                    gap = (frame.time - expected) if frame.time is not None else 0.0
                    if _GAP_S < gap <= self._longest_s - expected:  # a damaged stretch, not a broken timestamp
                        skipped += gap
                        yield from _silence(gap)  # keep the timeline
                    expected = (frame.time if frame.time is not None else expected) + frame.samples / self.rate
                    for out in resampler.resample(frame):
                        mono, cancel = downmix(out.to_ndarray())
                        cancelled |= cancel
                        yield mono
            for out in resampler.resample(None):
                yield downmix(out.to_ndarray())[0]
        except av.error.FFmpegError as e:
            self.warn(f"{self.path}: decoding stopped early ({_reason(e)}); what came before was heard")
        finally:
            self._container.close()
        if expected is None:
            return  # nothing decoded at all: one error (when opened), not warnings too
        if skipped or bad_packets:
            self.warn(f"{self.path}: {skipped:.1f} s could not be decoded (damaged data) and was heard as "
                      "silence; the rest was heard")
        short = wav_shortfall(self.path, self._size)
        if short:
            promised, held = short
            self.warn(f"{self.path}: the file is cut short: its header promises {promised} bytes of audio, "
                      f"it holds {held}; everything it holds was heard")
        if cancelled:
            self.warn(f"{self.path}: its stereo channels cancel each other when mixed (anti-phase); "
                      "the louder channel was heard instead")


def _silence(seconds: float) -> Iterator[np.ndarray]:
    """Silence in one-second blocks, so a long gap costs no more memory than a short one."""
    left = int(round(seconds * SAMPLE_RATE))
    while left > 0:
        yield np.zeros(min(left, SAMPLE_RATE), np.float32)
        left -= SAMPLE_RATE


def downmix(channels: np.ndarray) -> tuple[np.ndarray, bool]:
    """(channels, n) planar float to mono; (mono, whether the channels cancelled).

    Mixing anti-phase channels gives silence: then the louder channel is taken."""
    if channels.shape[0] == 1:
        return channels[0].astype(np.float32, copy=False), False
    mixed = channels.mean(axis=0)
    energy = (channels ** 2).mean(axis=1)
    loudest = int(energy.argmax())
    if energy[loudest] > _QUIET and (mixed ** 2).mean() < _CANCEL * energy[loudest]:
        return channels[loudest].astype(np.float32, copy=False), True
    return mixed.astype(np.float32, copy=False), False


def decode_all(path: str | Path, warn: Callable[[str], None] = warn_stderr) -> np.ndarray:
    """The whole recording in memory (short files: the demo's samples, tests)."""
    return np.concatenate(list(Recording(path, warn).blocks()))


def _reason(e: Exception) -> str:
    return getattr(e, "strerror", None) or str(e) or type(e).__name__
