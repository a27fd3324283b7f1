#!/usr/bin/env bash
# Installs what narrator needs and is missing: Debian packages (when run as root or with sudo)
# and the Python packages in .venv. Safe to run again: it only does what is not yet done.
# usage: scripts/setup.sh [runtime|test]
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-runtime}
venv=${VENV:-.venv}

runtime_debs=(espeak-ng libespeak-ng1 ffmpeg)
test_debs=(chromium chromium-driver lame)
debs=("${runtime_debs[@]}")
[ "$profile" = test ] && debs+=("${test_debs[@]}")

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  if [ "$(id -u)" = 0 ]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
    echo "setup: run as root, or install them yourself: apt-get install ${missing[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The browser tests reach chromedriver and Chromium at "localhost". Every Debian install lists it in
# /etc/hosts, but a bare debootstrap has no /etc/hosts at all: add the standard line when it is missing.
if [ "$profile" = test ] && ! getent hosts localhost >/dev/null 2>&1; then
  if [ -w /etc/hosts ] || [ "$(id -u)" = 0 ]; then
    echo "setup: localhost does not resolve; adding '127.0.0.1 localhost' to /etc/hosts" >&2
    printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >> /etc/hosts
  else
    echo "setup: localhost does not resolve; the browser tests need it in /etc/hosts" >&2
  fi
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating the virtual environment $venv" >&2
  python3 -m venv "$venv"
fi
stamp="$venv/.narrator-$profile"
if [ "$profile" = runtime ] && [ -f "$venv/.narrator-test" ] && [ ! pyproject.toml -nt "$venv/.narrator-test" ]; then
  : # a developer's environment: narrator is installed editable, with everything the runtime needs
elif [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing Python packages ($profile)" >&2
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
  if [ "$profile" = test ]; then
    # Editable, so the tests (and the processes they start) run the code being worked on; with the
    # Piper engine and its voice, which the tests narrate with for real, and Dask, whose
    # scheduler and workers the cluster tests start.
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -e ".[test,piper,distributed]"
  else
    # A plain install for the demo, as a user has it (and without setuptools' editable-mode notice).
    "$venv/bin/python" -m pip install -q --disable-pip-version-check .
    rm -f "$venv/.narrator-test"
  fi
  touch "$stamp"
fi
# pip compiles an installed package's modules to bytecode, but not an editable install's: without
# this, where PYTHONDONTWRITEBYTECODE is set, every run compiles narrator again (0.12 s of CPU).
"$venv/bin/python" -m compileall -q narrator
