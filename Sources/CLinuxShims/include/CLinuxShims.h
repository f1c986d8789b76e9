#ifndef CLINUXSHIMS_H
#define CLINUXSHIMS_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>

/// Whether the calling process has CAP_NET_ADMIN in its effective set (libcap).
/// Returns false when the capability state cannot be read.
bool flannel_has_cap_net_admin(void);

/// Opens /dev/net/tun and attaches it to a TUN device `name` (created if absent) without
/// packet information. Returns the fd, or -errno.
int flannel_tun_open(const char *name);

/// Sets an interface's IPv4 address and netmask (network byte order). Returns 0 or -errno.
int flannel_if_set_ipv4(const char *name, uint32_t address, uint32_t netmask);

/// Sets an interface's MTU. Returns 0 or -errno.
int flannel_if_set_mtu(const char *name, int mtu);

/// Reads an interface's MTU. Returns the MTU or -errno.
int flannel_if_get_mtu(const char *name);

/// Brings an interface up. Returns 0 or -errno.
int flannel_if_up(const char *name);

/// Adds (or, with `replace`, first deletes then adds) a route to `destination`/`netmask`
/// through device `name`, without gateway. Network byte order. Returns 0 or -errno.
int flannel_route_add_dev(const char *name, uint32_t destination, uint32_t netmask);

/// Deletes the route to `destination`/`netmask` through `name`. Returns 0 or -errno.
int flannel_route_del_dev(const char *name, uint32_t destination, uint32_t netmask);

/// Sets SO_RCVBUFFORCE/SO_SNDBUFFORCE (falling back to the unforced options). Returns 0 or -errno.
int flannel_socket_set_buffers(int fd, int bytes);

/// Opens a NETLINK_ROUTE socket bound to a kernel-chosen port, with extended acks (the
/// kernel's error text) and capped acks enabled where supported, and a 5 s receive timeout.
/// Returns the fd, or -errno.
int flannel_netlink_open(void);

/// Same, but the socket lives in the network namespace at `netns_path` (e.g.
/// /var/run/netns/NAME): the calling thread enters it, opens the socket and returns to its
/// own namespace before returning. Returns the fd, or -errno.
int flannel_netlink_open_in(const char *netns_path);

#endif
