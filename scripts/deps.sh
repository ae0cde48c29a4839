#!/usr/bin/env bash
# Install the Debian packages Strata needs, if any are missing.  As root: apt-get.  Otherwise:
# print the exact command and fail.  Usage: scripts/deps.sh [extra packages...]
set -euo pipefail
pkgs=(build-essential pkg-config lua5.4 liblua5.4-dev luajit libluajit-5.1-dev libopenblas-dev
      libxml2-dev zlib1g-dev libedit-dev lua-busted lua-dkjson lua-filesystem lammps-data libxgboost-dev "$@")
missing=()
for p in "${pkgs[@]}"; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$st" == *"install ok installed"* ]] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "strata: missing Debian packages: ${missing[*]}" >&2
if [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
else
  echo "strata: run:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
