#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine with Node 20 lacks:
#  - Mesa's EGL + GLES on llvmpipe, which Dawn's OpenGL ES backend needs when there is no GPU;
#  - Debian's chromium, which the browser tests drive headless (the study report page);
#  - the npm packages (npm ci, from package-lock.json; onnxruntime-node's extra downloads skipped).
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri chromium)
if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "setup: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
else
  echo "setup: not a Debian-based system; make sure Mesa EGL/GLES (or a GPU driver) is installed" >&2
fi

# onnxruntime-node's install script would otherwise fetch extra binaries (CUDA) from the network;
# its CPU runtime ships inside the npm package, which is all wgprune uses.
ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
