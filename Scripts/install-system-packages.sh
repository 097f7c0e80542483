#!/usr/bin/env bash
# Installs the Debian packages the package needs (OpenBLAS and LAPACKE headers and
# libraries; libedit for the line editing of `llama chat`; pkg-config), if they are
# missing. Uses sudo when not run as root.
# On macOS: `brew install openblas pkg-config` instead (libedit is part of macOS).
set -euo pipefail

needed=(libopenblas-dev liblapacke-dev libedit-dev pkg-config)
missing=()
for package in "${needed[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
    echo "error: missing ${missing[*]}; install OpenBLAS, LAPACKE and pkg-config with your package manager" >&2
    exit 1
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "Installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
