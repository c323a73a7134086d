#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# gvpn offline demo: encrypt a built-in traffic sample with a built-in static SA
# (ESP tunnel mode, address preservation) and let two independent ESP
# implementations, tshark and scapy, decrypt it.
#
#   scripts/demo-esp.sh [--cipher aes-cbc|aes-gcm|3des-cbc|des-cbc]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3

CIPHER=aes-cbc
while [ $# -gt 0 ]; do
	case $1 in
	--cipher) CIPHER=$2; shift 2 ;;
	-h|--help) sed -n '2,7p' "$0"; exit 0 ;;
	*) echo "demo.sh: unknown option $1" >&2; exit 2 ;;
	esac
done

# The built-in static SA. Demo keys only: never use them for real traffic.
SPI=0x00001001
AUTH=hmac-sha1-96
AUTH_KEY=a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3
case $CIPHER in
aes-cbc)  KEY=000102030405060708090a0b0c0d0e0f; TS_C='AES-CBC [RFC3602]' ;;
aes-gcm)  KEY=000102030405060708090a0b0c0d0e0f10111213; TS_C='AES-GCM with 16 octet ICV [RFC4106]'
	  AUTH=none; AUTH_KEY= ;;
3des-cbc) KEY=000102030405060708090a0b0c0d0e0f1011121314151617; TS_C='TripleDES-CBC [RFC2451]' ;;
des-cbc)  KEY=0001020304050607; TS_C='DES-CBC [RFC2405]' ;;
*) echo "demo.sh: --cipher: aes-cbc, aes-gcm, 3des-cbc or des-cbc" >&2; exit 2 ;;
esac
TS_A='HMAC-SHA-1-96 [RFC2404]'
[ "$AUTH" = none ] && TS_A=NULL

# tshark's warning about running as root is noise here
tshark() { command tshark "$@" 2>/dev/null; }

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "setup and build"
scripts/setup.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
TOOL=build/test/tools/gvpn-esptool

W=$(mktemp -d /tmp/gvpn-demo.XXXXXX)
trap 'rm -rf "$W"' EXIT

step "built-in traffic sample (clear side)"
$PY scripts/demo_sample.py "$W/clear.pcap"
tshark -r "$W/clear.pcap" -d udp.port==40001,data -T fields -E separator=' ' \
	-e frame.number -e ip.src -e ip.dst -e ip.dsfield.dscp -e _ws.col.Protocol -e ip.len |
	awk 'BEGIN{printf "%-4s %-15s %-15s %-5s %-6s %s\n","#","src","dst","dscp","proto","bytes"}
	     {printf "%-4s %-15s %-15s %-5s %-6s %s\n",$1,$2,$3,$4,$5,$6}'

step "gvpn encrypts: SPI $SPI, $CIPHER + $AUTH, tunnel mode with address preservation"
args=(--spi "$SPI" --cipher "$CIPHER" --key "$KEY" --auth "$AUTH")
[ -n "$AUTH_KEY" ] && args+=(--auth-key "$AUTH_KEY")
$TOOL encrypt "${args[@]}" "$W/clear.pcap" "$W/esp.pcap"

step "on the wire: only ESP, outer addresses = inner addresses, DSCP copied"
tshark -r "$W/esp.pcap" -T fields -E separator=' ' \
	-e frame.number -e ip.src -e ip.dst -e ip.dsfield.dscp -e esp.spi -e esp.sequence -e ip.len |
	awk 'BEGIN{printf "%-4s %-15s %-15s %-5s %-11s %-4s %s\n","#","src","dst","dscp","spi","seq","bytes"}
	     {printf "%-4s %-15s %-15s %-5s %-11s %-4s %s\n",$1,$2,$3,$4,$5,$6,$7}'

step "tshark (independent) decrypts with the SA's keys"
akey=""
[ -n "$AUTH_KEY" ] && akey="0x$AUTH_KEY"
tshark -r "$W/esp.pcap" -o esp.enable_encryption_decode:TRUE -o esp.enable_authentication_check:TRUE \
	-o "uat:esp_sa:\"IPv4\",\"*\",\"*\",\"$SPI\",\"$TS_C\",\"0x$KEY\",\"$TS_A\",\"$akey\"" \
	-d udp.port==40001,data -T fields -E separator=' ' \
	-e frame.number -e esp.icv_good -e ip.src -e ip.dst -e _ws.col.Protocol -e data.len |
	awk 'BEGIN{printf "%-4s %-8s %-31s %-31s %s\n","#","icv_good","src (outer,inner)","dst (outer,inner)","inner"}
	     {printf "%-4s %-8s %-31s %-31s %s %s\n",$1,$2,$3,$4,$5,$6}'

step "scapy (independent) decrypts and compares with the original packets"
$PY scripts/demo_sample.py --check "$W/clear.pcap" "$W/esp.pcap" "$CIPHER" "$KEY" "$AUTH" "$AUTH_KEY"
