#ifndef CLINUXSHIMS_H
#define CLINUXSHIMS_H

#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/genetlink.h>

/// Whether the calling process has CAP_NET_ADMIN in its effective set (libcap).
/// Returns false when the capability state cannot be read.
bool flannel_has_cap_net_admin(void);

/// Keeps only the capabilities numbered in `keep` (CAP_NET_ADMIN is 12): drops the rest from
/// the bounding set (when CAP_SETPCAP allows), sets permitted, effective and inheritable to
/// `keep`, and raises them as ambient so that a non-root agent's children keep them too.
/// Returns 0 or -errno of the step that failed.
int flannel_keep_capabilities(const int *keep, int count);

/// Whether capability `cap` is in the calling thread's permitted set.
bool flannel_cap_permitted(int cap);

/// Opens /dev/net/tun and attaches it to a TUN device `name` (created if absent) without
/// packet information. Returns the fd, or -errno.
int flannel_tun_open(const char *name);

/// Opens a TUN device `name` with IFF_VNET_HDR (every read and write carries a 10-byte
/// virtio_net_hdr) and asks for `offloads` (TUN_F_* bits); `accepted` gets what the kernel
/// took: `offloads`, else TUN_F_CSUM alone, else 0. Returns the fd, or -errno.
int flannel_tun_open_vnet(const char *name, unsigned int offloads, unsigned int *accepted);

/// TUN_F_CSUM | TUN_F_TSO4: the offloads the udp fast path asks for.
unsigned int flannel_tun_offloads_tso4(void);

/// Turns on UDP_GRO on a UDP socket (datagrams of one sender arrive joined, with their size
/// in a control message). Returns 0 or -errno.
int flannel_udp_enable_gro(int fd);

/// Whether the kernel takes UDP_SEGMENT (UDP GSO) on this socket: 0 or -errno.
int flannel_udp_probe_segment(int fd);

/// Sends `length` bytes to `address`:`port` (network byte order) as datagrams of
/// `segment_size` bytes each (the last may be shorter) with UDP_SEGMENT; a `segment_size` of 0
/// sends one datagram (with sendto). Returns the bytes sent or -errno.
long flannel_udp_send_segments(int fd, const void *bytes, unsigned long length, uint32_t address, uint16_t port,
                               uint16_t segment_size);

/// Sends up to `count` (≤ 64) datagrams with one sendmmsg: datagram i is `lengths[i]` bytes at
/// `bytes + i * stride`, to `addresses[i]`:`port` (network byte order). Returns how many were
/// sent (the first ones) or -errno when the first failed.
int flannel_udp_send_batch(int fd, const void *bytes, unsigned long stride, const int *lengths, const uint32_t *addresses,
                           uint16_t port, int count);

/// The most messages one flannel_udp_receive_batch call takes (UDPProxy.batch).
#define FLANNEL_RECEIVE_BATCH_MAX 16

/// Receives up to `count` (≤ FLANNEL_RECEIVE_BATCH_MAX) messages with one recvmmsg (one: recvmsg), message i into
/// `bytes + i * stride` (up to `room` ≤ `stride` bytes); per message its length, sender (network
/// byte order), the sender's port (host byte order) and UDP_GRO segment size (0: not joined). Non-blocking. Returns the number of
/// messages or -errno. A message cut short (larger than `room`) has length -1.
int flannel_udp_receive_batch(int fd, void *bytes, unsigned long stride, unsigned long room, int count, int *lengths, uint32_t *from,
                              uint16_t *from_ports, int *segment_sizes);

/// Names the calling thread (at most 15 characters are kept). Returns 0 or -errno.
int flannel_name_thread(const char *name);

/// read(2) returning the bytes read or -errno: the data path learns why without a second call
/// for errno.
long flannel_read(int fd, void *bytes, unsigned long length);

/// Sets an interface's IPv4 address and netmask (network byte order). Returns 0 or -errno.
int flannel_if_set_ipv4(const char *name, uint32_t address, uint32_t netmask);

/// Sets an interface's MTU. Returns 0 or -errno.
int flannel_if_set_mtu(const char *name, int mtu);

/// Reads an interface's MTU. Returns the MTU or -errno.
int flannel_if_get_mtu(const char *name);

/// Sets an interface's transmit queue length (txqueuelen). Returns 0 or -errno.
int flannel_if_set_txqueuelen(const char *name, int length);

/// A non-blocking, close-on-exec eventfd (one thread wakes another's poll). Returns the fd or -errno.
int flannel_eventfd_open(void);

/// Makes an eventfd readable. Returns 0 or -errno.
int flannel_eventfd_signal(int fd);

/// pipe2(fds, O_CLOEXEC): a pipe whose ends no other child inherits (0, or -errno).
int flannel_pipe_cloexec(int fds[2]);

/// Spawn attributes and file actions for a child that starts clean, as a shell would start
/// it: every signal at its default and none blocked (our threads block or ignore some, and
/// both survive exec), and no descriptor beyond 0–2 (another thread may have just opened one
/// without close-on-exec). Returns 0 or an error number.
int flannel_spawn_clean(posix_spawnattr_t *attributes, posix_spawn_file_actions_t *actions);

/// Reads an eventfd back to not readable.
void flannel_eventfd_clear(int fd);

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
/// The same for another netlink protocol (NETLINK_GENERIC: the wireguard family).
int flannel_netlink_open_protocol(int protocol);

/// Same, but the socket lives in the network namespace at `netns_path` (e.g.
/// /var/run/netns/NAME): the calling thread enters it, opens the socket and returns to its
/// own namespace before returning. Returns the fd, or -errno.
int flannel_netlink_open_in(const char *netns_path);

/// An AF_INET datagram socket in the network namespace at `netns_path`, for ioctls on that
/// namespace's interfaces (entered and left as by flannel_netlink_open_in). Returns the fd, or
/// -errno.
int flannel_inet_socket_in(const char *netns_path);

enum { FLANNEL_OFFLOAD_GRO = 1, FLANNEL_OFFLOAD_TSO = 2 };

/// Switches generic receive offload or TCP segmentation offload of interface `name` (in the
/// namespace of socket `fd`) on or off, as `ethtool -K name gro|tso on|off` does, and reads it
/// back. Returns 0, or -errno: EOPNOTSUPP when the driver cannot switch it, EIO when it did not
/// take the change, ENAMETOOLONG for a name longer than an interface's.
int flannel_if_set_offload(int fd, const char *name, int feature, bool on);

#endif
