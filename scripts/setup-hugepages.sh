#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Reserve hugepages for gvpnd, mount hugetlbfs, and optionally make both
# survive a reboot. Idempotent: run it again and it only does what is missing.
# See doc/deployment.md.
set -euo pipefail

PROG=${0##*/}
SIZE=2M
NODE=
MOUNT=
PERSIST=0
DRY=0
COUNT=
SYSCTL_FILE=/etc/sysctl.d/80-gvpn-hugepages.conf
TMPFILES_FILE=/etc/tmpfiles.d/gvpn-hugepages.conf
FSTAB=/etc/fstab
ARGS=("$@")

usage() {
	cat <<EOF
usage: $PROG [options] COUNT

Reserve COUNT hugepages (the total wanted, not an increment) for gvpnd, mount
hugetlbfs for them, and with --persist keep both across reboots.

options:
  -s, --size 2M|1G   page size (default 2M)
  -n, --node N       reserve on NUMA node N only: the node of gvpnd's NICs
                     (default: the kernel spreads the pages over all nodes)
  -m, --mount DIR    hugetlbfs mount point (default /dev/hugepages for 2M,
                     /dev/hugepages-1G for 1G)
  -p, --persist      also write $SYSCTL_FILE (default page size,
                     no --node) or $TMPFILES_FILE, and an $FSTAB line
  -d, --dry-run      print what would be done and change nothing (no root needed)
  -h, --help         this text

examples:
  $PROG --dry-run --persist 1024       # 2 GiB of 2 MiB pages: show the steps
  $PROG --node 0 --persist 1024        # on the NIC's node 0, kept across reboots
  $PROG --size 1G --node 1 4           # four 1 GiB pages on node 1

exit status: 0 done (or nothing to do), 1 failed (e.g. fewer pages than asked),
64 bad usage, 77 not root.
EOF
}

die_usage() {
	echo "$PROG: $*" >&2
	echo "try: $PROG --help" >&2
	exit 64
}

fail() {
	echo "$PROG: $*" >&2
	exit 1
}

say() { echo "$PROG: $*"; }

# A change: printed in a dry run, done otherwise.
act() {
	if [ "$DRY" = 1 ]; then
		echo "+ $*"
	else
		"$@"
	fi
}

# Write VALUE into FILE (a /sys knob or a whole small file).
write() {
	local file=$1 value=$2
	if [ "$DRY" = 1 ]; then
		echo "+ echo '$value' > $file"
	else
		printf '%s\n' "$value" >"$file"
	fi
}

append() {
	local file=$1 line=$2
	if [ "$DRY" = 1 ]; then
		echo "+ echo '$line' >> $file"
	else
		printf '%s\n' "$line" >>"$file"
	fi
}

while [ $# -gt 0 ]; do
	case $1 in
	-s | --size) [ $# -ge 2 ] || die_usage "$1 needs a value"; SIZE=$2; shift ;;
	--size=*) SIZE=${1#*=} ;;
	-n | --node) [ $# -ge 2 ] || die_usage "$1 needs a value"; NODE=$2; shift ;;
	--node=*) NODE=${1#*=} ;;
	-m | --mount) [ $# -ge 2 ] || die_usage "$1 needs a value"; MOUNT=$2; shift ;;
	--mount=*) MOUNT=${1#*=} ;;
	-p | --persist) PERSIST=1 ;;
	-d | --dry-run) DRY=1 ;;
	-h | --help) usage; exit 0 ;;
	-*) die_usage "unknown option $1" ;;
	*)
		[ -z "$COUNT" ] || die_usage "one COUNT only"
		COUNT=$1
		;;
	esac
	shift
done

[ -n "$COUNT" ] || die_usage "COUNT is required"
[[ $COUNT =~ ^[0-9]+$ ]] || die_usage "COUNT must be a number of pages, not '$COUNT'"
COUNT=$((10#$COUNT))
case $SIZE in
2M | 2m | 2048k | 2048K | 2MB) SIZE=2M; KB=2048 ;;
1G | 1g | 1024M | 1GB) SIZE=1G; KB=1048576 ;;
*) die_usage "--size must be 2M or 1G, not '$SIZE'" ;;
esac
if [ -n "$NODE" ] && ! [[ $NODE =~ ^[0-9]+$ ]]; then
	die_usage "--node must be a NUMA node number, not '$NODE'"
fi
[ -n "$MOUNT" ] || { [ "$SIZE" = 2M ] && MOUNT=/dev/hugepages || MOUNT=/dev/hugepages-1G; }
[[ $MOUNT == /* ]] || die_usage "--mount needs an absolute path, not '$MOUNT'"

if [ "$DRY" = 1 ]; then
	say "dry run: nothing is changed"
	[ "$(id -u)" = 0 ] || say "(not root: a real run would refuse; run it as root)"
elif [ "$(id -u)" != 0 ]; then
	echo "$PROG: must run as root: it writes /sys, mounts hugetlbfs and, with --persist, /etc." >&2
	echo "$PROG: try: sudo $0 ${ARGS[*]} (or --dry-run to see the steps)" >&2
	exit 77
fi

# ---- reserve
if [ -n "$NODE" ]; then
	[ -d "/sys/devices/system/node/node$NODE" ] ||
		fail "no NUMA node $NODE here (nodes:$(for d in /sys/devices/system/node/node[0-9]*; do
			printf ' %s' "${d##*node}"; done))"
	KNOB=/sys/devices/system/node/node$NODE/hugepages/hugepages-${KB}kB/nr_hugepages
	WHERE="node $NODE"
else
	KNOB=/sys/kernel/mm/hugepages/hugepages-${KB}kB/nr_hugepages
	WHERE="all nodes"
fi
if [ ! -e "$KNOB" ]; then
	if [ "$SIZE" = 1G ]; then
		fail "1G pages are not available on this machine ($KNOB missing: the CPU needs pdpe1gb)"
	fi
	fail "$SIZE pages are not available on this machine ($KNOB missing)"
fi
HAVE=$(cat "$KNOB")
if [ "$HAVE" = "$COUNT" ]; then
	say "$COUNT $SIZE pages on $WHERE: already reserved"
else
	say "$SIZE pages on $WHERE: $HAVE -> $COUNT"
	write "$KNOB" "$COUNT"
	if [ "$DRY" = 0 ]; then
		GOT=$(cat "$KNOB")
		if [ "$GOT" != "$COUNT" ]; then
			hint="free memory is fragmented: reserve them at boot"
			[ "$SIZE" = 1G ] && hint="$hint (kernel command line: default_hugepagesz=1G hugepagesz=1G hugepages=$COUNT)"
			fail "only $GOT of $COUNT $SIZE pages on $WHERE: $hint, or ask for fewer"
		fi
	fi
fi

# ---- mount
mounted_size=$(awk -v m="$MOUNT" '$2 == m && $3 == "hugetlbfs" {
	n = split($4, o, ","); for (i = 1; i <= n; i++) if (o[i] ~ /^pagesize=/) { sub(/pagesize=/, "", o[i]); print o[i] } }' /proc/mounts)
case $mounted_size in
"") ;;
2M) mounted_size=2M ;;
1G | 1024M) mounted_size=1G ;;
esac
if [ -z "$mounted_size" ]; then
	if awk -v m="$MOUNT" '$2 == m { f = 1 } END { exit !f }' /proc/mounts; then
		fail "$MOUNT is mounted, but not as hugetlbfs: choose another --mount"
	fi
	act mkdir -p "$MOUNT"
	act mount -t hugetlbfs -o "pagesize=$SIZE" nodev "$MOUNT"
elif [ "$mounted_size" = "$SIZE" ]; then
	say "$MOUNT: hugetlbfs (pagesize=$SIZE) already mounted"
else
	fail "$MOUNT is hugetlbfs with pagesize=$mounted_size, not $SIZE: choose another --mount"
fi

# ---- persist
if [ "$PERSIST" = 1 ]; then
	default_kb=$(awk '/^Hugepagesize:/ { print $2 }' /proc/meminfo)
	if [ -z "$NODE" ] && [ "$KB" = "$default_kb" ]; then
		want="vm.nr_hugepages = $COUNT"
		if [ -f "$SYSCTL_FILE" ] && grep -qxF "$want" "$SYSCTL_FILE"; then
			say "$SYSCTL_FILE: already '$want'"
		else
			write "$SYSCTL_FILE" "$want"
		fi
	else
		want="w $KNOB - - - - $COUNT"
		if [ -f "$TMPFILES_FILE" ] && grep -qxF "$want" "$TMPFILES_FILE"; then
			say "$TMPFILES_FILE: already '$want'"
		else
			# one line per knob: replace an older count for the same knob
			others=""
			[ -f "$TMPFILES_FILE" ] && others=$(grep -vF "w $KNOB " "$TMPFILES_FILE" || true)
			write "$TMPFILES_FILE" "$(printf '%s\n%s' "$others" "$want" | sed '/^$/d')"
		fi
		if [ "$SIZE" = 1G ]; then
			say "note: 1G pages are only sure at boot: add 'hugepagesz=1G hugepages=$COUNT' to the kernel command line"
		fi
	fi
	if awk -v m="$MOUNT" '$1 !~ /^#/ && $2 == m { f = 1 } END { exit !f }' "$FSTAB" 2>/dev/null; then
		say "$FSTAB: $MOUNT already listed"
	else
		append "$FSTAB" "nodev $MOUNT hugetlbfs pagesize=$SIZE 0 0"
	fi
fi
if [ "$DRY" = 1 ]; then
	say "done (dry run: nothing changed)"
else
	say "done"
fi
