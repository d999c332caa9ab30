#!/usr/bin/env bash
# Installs what the build and the tests need, only when it is missing.
set -euo pipefail

apt_pkgs=(liburing-dev libssl-dev zlib1g-dev pkg-config openssl)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || {
    $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q "${missing[@]}" >/dev/null; }
fi

# Python packages the interop tests use: a real third-party WebSocket peer.
py=${PYTHON:-python3}
if ! "$py" -c 'import websockets' 2>/dev/null; then
  echo "deps: installing python websockets"
  "$py" -m pip install -q 'websockets>=13' 2>&1 | grep -v -i 'warning' || true
  "$py" -c 'import websockets'
fi
