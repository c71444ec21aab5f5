#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/env.sh"
cd "$ROOT"
# Keep DDS traffic on this machine and away from other runs (tests pick their own domain ids).
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
exec python -m pytest -q -p no:cacheprovider "$@" test
