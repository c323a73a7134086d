#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Install the Debian 12 packages gvpn needs to build, test and run.
# Idempotent; prints nothing when everything is already there.
set -eu

PACKAGES="
build-essential meson ninja-build pkg-config
dpdk dpdk-dev libdpdk-dev libipsec-mb-dev libssl-dev libconfig-dev libcmocka-dev libpcap-dev
clang libclang-rt-14-dev
iproute2 iputils-ping ethtool tshark python3 python3-scapy python3-cryptography gdb
dpdk-doc python3-matplotlib linux-perf
strongswan-charon strongswan-swanctl libstrongswan-standard-plugins
"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "setup.sh: missing packages:$missing; run as root to install them" >&2
	exit 1
fi
echo "setup.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
