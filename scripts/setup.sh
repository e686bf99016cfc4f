#!/usr/bin/env bash
# Set up Haven in ./.venv: the Debian packages it needs (when missing and we may
# install them), then the Python packages. Safe to run again; does little the second time.
#   scripts/setup.sh          what `haven` needs
#   scripts/setup.sh --test   plus what the tests need (a virtual sound card: PulseAudio)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(espeak-ng libespeak-ng1 libportaudio2)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(pulseaudio pulseaudio-utils libasound2-plugins tmux)  # tmux: tests/test_screen.py
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    sudo_cmd=()
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo_cmd=(sudo)
  else
    echo "Haven needs these Debian packages: ${missing[*]}" >&2
    echo "Install them with:  sudo apt-get install -y ${missing[*]}   and run this again." >&2
    exit 1
  fi
  echo "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "Haven needs Python 3.10 or newer; install it, or set PYTHON=/path/to/python3.x" >&2
  exit 1
fi
stamp=.venv/.installed
if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
  [[ -x .venv/bin/python ]] || "$python" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e ".[test]"
  touch "$stamp"
fi
