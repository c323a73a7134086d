/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A kernel interface set up as a host's: ioctls on an AF_INET socket, the
 * interfaces gvpnd already has rights to as root (no tool is run).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "host_private.h"

static void
sin_set(struct sockaddr *sa, uint32_t addr)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)sa;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(addr);
}

static int
if_ioctl(int fd, unsigned long req, struct ifreq *ifr, const char *what)
{
	if (ioctl(fd, req, ifr) == 0)
		return 0;
	LOG(ERR, "%s: %s: %s", ifr->ifr_name, what, strerror(errno));
	return -errno;
}

/* IPv6 off on the interface: no router solicitations or MLD on the wire
 * from a box that has no IPv6 address there. */
static void
ipv6_off(const char *ifname)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return; /* no IPv6 in this kernel */
	if (write(fd, "1", 1) != 1)
		LOG(WARNING, "%s: IPv6 not switched off: %s", ifname, strerror(errno));
	close(fd);
}

int
host_if_setup(const char *ifname, const struct rte_ether_addr *mac, uint16_t mtu, uint32_t addr,
	      uint8_t prefix_len, uint32_t gateway)
{
	struct ifreq ifr;
	struct rtentry rt;
	int fd, rc;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	rc = if_ioctl(fd, SIOCGIFHWADDR, &ifr, "reading its MAC");
	if (rc == 0 && memcmp(ifr.ifr_hwaddr.sa_data, mac->addr_bytes, RTE_ETHER_ADDR_LEN) != 0) {
		ifr.ifr_hwaddr.sa_family = 1; /* ARPHRD_ETHER */
		memcpy(ifr.ifr_hwaddr.sa_data, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
		rc = if_ioctl(fd, SIOCSIFHWADDR, &ifr, "setting the port's MAC");
	}
	if (rc == 0) {
		ifr.ifr_mtu = mtu;
		rc = if_ioctl(fd, SIOCSIFMTU, &ifr, "setting the port's MTU");
	}
	ipv6_off(ifname);
	if (rc == 0) {
		sin_set(&ifr.ifr_addr, addr);
		rc = if_ioctl(fd, SIOCSIFADDR, &ifr, "setting its address");
	}
	if (rc == 0) {
		sin_set(&ifr.ifr_netmask, prefix_len ? ~0u << (32 - prefix_len) : 0);
		rc = if_ioctl(fd, SIOCSIFNETMASK, &ifr, "setting its netmask");
	}
	if (rc == 0)
		rc = if_ioctl(fd, SIOCGIFFLAGS, &ifr, "reading its flags");
	if (rc == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		rc = if_ioctl(fd, SIOCSIFFLAGS, &ifr, "bringing it up");
	}
	if (rc == 0 && gateway != 0) {
		memset(&rt, 0, sizeof(rt));
		sin_set(&rt.rt_dst, 0);
		sin_set(&rt.rt_genmask, 0);
		sin_set(&rt.rt_gateway, gateway);
		rt.rt_flags = RTF_UP | RTF_GATEWAY;
		rt.rt_dev = ifr.ifr_name;
		if (ioctl(fd, SIOCADDRT, &rt) != 0) {
			if (errno == EEXIST) {
				LOG(WARNING, "%s: a default route exists already: left as it is",
				    ifname);
			} else {
				rc = -errno;
				LOG(ERR, "%s: default route: %s", ifname, strerror(errno));
			}
		}
	}
	close(fd);
	return rc;
}
