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
libnss3-tools libcurl3-nss libevent-core-2.1-7 libevent-pthreads-2.1-7 libldns3 libunbound8
libcap-ng0
"
# Two packages are unpacked, not installed, under /var/lib/gvpn/<package>:
# Libreswan's conflicts with strongSwan's (the interop test runs its pluto;
# its libraries are the line above), and Prometheus's would install and start
# a server where the tests only need its promtool (`promtool check metrics`).
UNPACKED=/var/lib/gvpn
PLUTO=$UNPACKED/libreswan/usr/libexec/ipsec/pluto
PROMTOOL=$UNPACKED/prometheus/usr/bin/promtool

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done
unpack=""
[ -x "$PLUTO" ] || unpack="$unpack libreswan"
[ -x "$PROMTOOL" ] || unpack="$unpack prometheus"
[ -n "$unpack" ] && missing="$missing (unpacked:$unpack)"
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "setup.sh: missing packages:$missing; run as root to install them" >&2
	exit 1
fi
echo "setup.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
packages=${missing% (unpacked:*}
if [ -n "$packages" ]; then
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $packages >/dev/null
fi
for p in $unpack; do
	dl=$(mktemp -d)
	chown _apt "$dl" 2>/dev/null || true # apt downloads as _apt
	(cd "$dl" && apt-get download -qq "$p") &&
		mkdir -p "$UNPACKED/$p" && dpkg-deb -x "$dl/${p}"_*.deb "$UNPACKED/$p"
	rc=$?
	rm -rf "$dl"
	[ "$rc" -eq 0 ] || { echo "setup.sh: $p not unpacked" >&2; exit 1; }
done
rm -f "$UNPACKED/prometheus/usr/bin/prometheus" # the server: not needed
[ -x "$PLUTO" ] && [ -x "$PROMTOOL" ] || { echo "setup.sh: pluto or promtool missing" >&2; exit 1; }
