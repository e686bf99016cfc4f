"""A real virtual sound card for tests: PulseAudio as an ordinary process.

Null sinks stand in for the speakers (vspeaker) and the microphone (vmic_in; programs
record from its monitor). Speech played into vmic_in is what Haven hears; what Haven
plays lands in vspeaker, whose monitor a test records. `user_out` plays into both,
which is how Haven's own voice is made to leak back into the microphone (echo).
The two silence loopbacks keep the null sinks from idling in 2-second blocks; they
are pinned (*_dont_move) because PulseAudio otherwise moves them to the new default
source, which silently routes the microphone into the speakers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path


class SoundCard:
    def __init__(self, folder: Path):
        self.folder = folder
        run = folder / "run"
        config = folder / "config"
        run.mkdir(parents=True, exist_ok=True)
        config.mkdir(parents=True, exist_ok=True)
        os.chmod(run, 0o700)
        self.env = {
            "XDG_RUNTIME_DIR": str(run),
            "XDG_CONFIG_HOME": str(config),
            "PULSE_RUNTIME_PATH": str(run / "pulse"),
            "PULSE_SERVER": f"unix:{run / 'pulse' / 'native'}",
        }

    @staticmethod
    def available() -> bool:
        return all(shutil.which(x) for x in ("pulseaudio", "pactl", "paplay", "parecord"))

    def _run(self, *args, check=True, **kw):
        return subprocess.run(args, env={**os.environ, **self.env}, check=check, capture_output=True, text=True, **kw)

    def start(self) -> "SoundCard":
        native = Path(self.env["PULSE_RUNTIME_PATH"]) / "native"
        self._run(
            "pulseaudio", "-n", "--daemonize=yes", "--use-pid-file=yes", "--exit-idle-time=-1", "--system=false",
            f"--log-target=file:{self.folder / 'pulse.log'}",
            "-L", f"module-native-protocol-unix auth-anonymous=1 socket={native}",
            "-L", "module-null-sink sink_name=vspeaker",
            "-L", "module-null-sink sink_name=vmic_in",
            "-L", "module-null-source source_name=silence max_latency_msec=20",
            "-L", "module-loopback source=silence sink=vspeaker latency_msec=10 source_dont_move=true sink_dont_move=true",
            "-L", "module-loopback source=silence sink=vmic_in latency_msec=10 source_dont_move=true sink_dont_move=true",
            "-L", "module-combine-sink sink_name=user_out slaves=vmic_in,vspeaker",
        )
        for _ in range(200):
            if self._run("pactl", "info", check=False).returncode == 0:
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("PulseAudio did not come up; see " + str(self.folder / "pulse.log"))
        self._run("pactl", "set-default-sink", "vspeaker")
        self._run("pactl", "set-default-source", "vmic_in.monitor")
        return self

    def stop(self) -> None:
        self._run("pactl", "exit", check=False)

    def play_into_mic(self, wav: Path, device: str = "vmic_in") -> subprocess.Popen:
        return subprocess.Popen(["paplay", f"--device={device}", str(wav)], env={**os.environ, **self.env})

    def record_speaker(self, wav: Path, device: str = "vspeaker.monitor") -> subprocess.Popen:
        return subprocess.Popen(
            ["parecord", f"--device={device}", "--rate=16000", "--channels=1", "--file-format=wav", str(wav)],
            env={**os.environ, **self.env})
