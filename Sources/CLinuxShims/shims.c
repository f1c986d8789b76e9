#define _GNU_SOURCE
#include "CLinuxShims.h"
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <netinet/udp.h>
#include <sys/uio.h>
#include <pthread.h>
#include <sys/eventfd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif

bool flannel_has_cap_net_admin(void) {
    cap_t caps = cap_get_proc();
    if (caps == NULL) {
        return false;
    }
    cap_flag_value_t value = CAP_CLEAR;
    int rc = cap_get_flag(caps, CAP_NET_ADMIN, CAP_EFFECTIVE, &value);
    cap_free(caps);
    return rc == 0 && value == CAP_SET;
}

bool flannel_cap_permitted(int cap) {
    cap_t caps = cap_get_proc();
    if (caps == NULL) {
        return false;
    }
    cap_flag_value_t value = CAP_CLEAR;
    int rc = cap_get_flag(caps, (cap_value_t)cap, CAP_PERMITTED, &value);
    cap_free(caps);
    return rc == 0 && value == CAP_SET;
}

int flannel_keep_capabilities(const int *keep, int count) {
    cap_t current = cap_get_proc();
    if (current == NULL) {
        return -errno;
    }
    cap_flag_value_t setpcap = CAP_CLEAR;
    cap_get_flag(current, CAP_SETPCAP, CAP_EFFECTIVE, &setpcap);
    cap_free(current);
    // The bounding set first, while CAP_SETPCAP is still effective. Without it (a non-root
    // user given only the kept capabilities) the bounding set cannot change and need not.
    if (setpcap == CAP_SET) {
        int supported = (int)cap_max_bits();  // what the running kernel knows
        for (int cap = 0; cap < supported; cap++) {
            bool kept = false;
            for (int i = 0; i < count; i++) {
                kept = kept || keep[i] == cap;
            }
            if (!kept && cap_drop_bound((cap_value_t)cap) != 0) {
                return -errno;
            }
        }
    }
    cap_t caps = cap_init();
    if (caps == NULL) {
        return -errno;
    }
    cap_value_t values[64];
    int n = count < 64 ? count : 64;
    for (int i = 0; i < n; i++) {
        values[i] = (cap_value_t)keep[i];
    }
    int rc = 0;
    if (cap_set_flag(caps, CAP_PERMITTED, n, values, CAP_SET) != 0 || cap_set_flag(caps, CAP_EFFECTIVE, n, values, CAP_SET) != 0 ||
        cap_set_flag(caps, CAP_INHERITABLE, n, values, CAP_SET) != 0 || cap_set_proc(caps) != 0) {
        rc = -errno;
    }
    cap_free(caps);
    if (rc != 0) {
        return rc;
    }
    // Ambient: children of a non-root agent (iptables-restore, nft) keep what we keep. Root's
    // children get their capabilities from the bounding set anyway; a kernel without ambient
    // capabilities (before 4.3) is not an error.
    for (int i = 0; i < n; i++) {
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, values[i], 0, 0);
    }
    return 0;
}

int flannel_tun_open(const char *name) {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int saved = errno;
        close(fd);
        return -saved;
    }
    return fd;
}

static int with_socket(unsigned long request, struct ifreq *ifr) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    int rc = ioctl(fd, request, ifr);
    int saved = errno;
    close(fd);
    return rc < 0 ? -saved : 0;
}

static void set_sockaddr(struct sockaddr *target, uint32_t address) {
    struct sockaddr_in *in = (struct sockaddr_in *)target;
    memset(in, 0, sizeof(*in));
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = address;
}

int flannel_if_set_ipv4(const char *name, uint32_t address, uint32_t netmask) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    set_sockaddr(&ifr.ifr_addr, address);
    int rc = with_socket(SIOCSIFADDR, &ifr);
    if (rc < 0) {
        return rc;
    }
    set_sockaddr(&ifr.ifr_netmask, netmask);
    return with_socket(SIOCSIFNETMASK, &ifr);
}

int flannel_if_set_mtu(const char *name, int mtu) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    ifr.ifr_mtu = mtu;
    return with_socket(SIOCSIFMTU, &ifr);
}

int flannel_if_get_mtu(const char *name) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    int rc = with_socket(SIOCGIFMTU, &ifr);
    return rc < 0 ? rc : ifr.ifr_mtu;
}

int flannel_if_set_txqueuelen(const char *name, int length) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    ifr.ifr_qlen = length;
    return with_socket(SIOCSIFTXQLEN, &ifr);
}

int flannel_eventfd_open(void) {
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int flannel_spawn_clean(posix_spawnattr_t *attributes, posix_spawn_file_actions_t *actions) {
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    int failed = posix_spawnattr_setsigmask(attributes, &none);
    if (!failed) failed = posix_spawnattr_setsigdefault(attributes, &all);
    if (!failed) failed = posix_spawnattr_setflags(attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (!failed) failed = posix_spawn_file_actions_addclosefrom_np(actions, 3);
    return failed;
}

int flannel_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC) == 0 ? 0 : -errno;
}

int flannel_eventfd_signal(int fd) {
    uint64_t one = 1;
    return write(fd, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
}

void flannel_eventfd_clear(int fd) {
    uint64_t count;
    (void)!read(fd, &count, sizeof(count));
}

int flannel_if_up(const char *name) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    int rc = with_socket(SIOCGIFFLAGS, &ifr);
    if (rc < 0) {
        return rc;
    }
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    return with_socket(SIOCSIFFLAGS, &ifr);
}

static int route_request(unsigned long request, const char *name, uint32_t destination, uint32_t netmask) {
    struct rtentry route;
    memset(&route, 0, sizeof(route));
    set_sockaddr(&route.rt_dst, destination);
    set_sockaddr(&route.rt_genmask, netmask);
    set_sockaddr(&route.rt_gateway, 0);
    route.rt_flags = RTF_UP;
    char device[IFNAMSIZ];
    memset(device, 0, sizeof(device));
    strncpy(device, name, IFNAMSIZ - 1);
    route.rt_dev = device;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    int rc = ioctl(fd, request, &route);
    int saved = errno;
    close(fd);
    return rc < 0 ? -saved : 0;
}

int flannel_route_add_dev(const char *name, uint32_t destination, uint32_t netmask) {
    return route_request(SIOCADDRT, name, destination, netmask);
}

int flannel_tun_open_vnet(const char *name, unsigned int offloads, unsigned int *accepted) {
    *accepted = 0;
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int saved = errno;
        close(fd);
        return -saved;
    }
    // The header in little-endian whatever the host (VirtioNetHeader reads it so); refused
    // only by kernels older than 4.x, where x86 and arm64 are little-endian anyway.
    int little = 1;
    (void)ioctl(fd, TUNSETVNETLE, &little);
    if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)offloads) == 0) {
        *accepted = offloads;
    } else if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)TUN_F_CSUM) == 0) {
        *accepted = TUN_F_CSUM;
    }
    return fd;
}

unsigned int flannel_tun_offloads_tso4(void) {
    return TUN_F_CSUM | TUN_F_TSO4;
}

int flannel_udp_enable_gro(int fd) {
    int one = 1;
    return setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) < 0 ? -errno : 0;
}

int flannel_udp_probe_segment(int fd) {
    int zero = 0;
    return setsockopt(fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero)) < 0 ? -errno : 0;
}

long flannel_udp_send_segments(int fd, const void *bytes, unsigned long length, uint32_t address, uint16_t port,
                               uint16_t segment_size) {
    struct sockaddr_in to;
    memset(&to, 0, sizeof(to));
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = address;
    to.sin_port = port;
    if (segment_size == 0) {
        // One datagram: sendto copies less from user memory than sendmsg (no msghdr, no iovec).
        ssize_t sent = sendto(fd, bytes, length, 0, (const struct sockaddr *)&to, sizeof(to));
        return sent < 0 ? -errno : sent;
    }
    struct iovec iov = { .iov_base = (void *)bytes, .iov_len = length };
    // Aligned for cmsghdr, which CMSG_FIRSTHDR writes through.
    union {
        char bytes[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof(control));
    struct msghdr message = {
        .msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.bytes, .msg_controllen = sizeof(control.bytes),
    };
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&message);
    cmsg->cmsg_level = SOL_UDP;
    cmsg->cmsg_type = UDP_SEGMENT;
    cmsg->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    memcpy(CMSG_DATA(cmsg), &segment_size, sizeof(segment_size));
    ssize_t sent = sendmsg(fd, &message, 0);
    return sent < 0 ? -errno : sent;
}

int flannel_udp_send_batch(int fd, const void *bytes, unsigned long stride, const int *lengths, const uint32_t *addresses,
                           uint16_t port, int count) {
    enum { maximum = 64 };
    if (count <= 0) {
        return 0;
    }
    if (count > maximum) {
        count = maximum;
    }
    struct mmsghdr messages[maximum];
    struct iovec parts[maximum];
    struct sockaddr_in peers[maximum];
    memset(messages, 0, sizeof(struct mmsghdr) * count);
    memset(peers, 0, sizeof(struct sockaddr_in) * count);
    for (int i = 0; i < count; i++) {
        peers[i].sin_family = AF_INET;
        peers[i].sin_addr.s_addr = addresses[i];
        peers[i].sin_port = port;
        parts[i].iov_base = (char *)bytes + (unsigned long)i * stride;
        parts[i].iov_len = lengths[i];
        messages[i].msg_hdr.msg_name = &peers[i];
        messages[i].msg_hdr.msg_namelen = sizeof(peers[i]);
        messages[i].msg_hdr.msg_iov = &parts[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
    int sent = sendmmsg(fd, messages, count, 0);
    return sent < 0 ? -errno : sent;
}

/// Room for one message's control data (the UDP_GRO segment size), aligned for cmsghdr.
typedef union {
    char bytes[CMSG_SPACE(sizeof(int))];
    struct cmsghdr aligned;
} receive_control;

/// What the caller learns of one received message: its length (-1 when cut short, counted as
/// oversized), its sender (network byte order) and its UDP_GRO segment size (0: not joined).
static void describe_received(const struct msghdr *message, size_t received, const struct sockaddr_in *sender,
                              int *length, uint32_t *from, uint16_t *from_port, int *segment_size) {
    *length = (message->msg_flags & MSG_TRUNC) ? -1 : (int)received;
    *from = sender->sin_addr.s_addr;
    *from_port = ntohs(sender->sin_port);
    *segment_size = 0;
    for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(message); cmsg != NULL; cmsg = CMSG_NXTHDR((struct msghdr *)message, cmsg)) {
        if (cmsg->cmsg_level == SOL_UDP && cmsg->cmsg_type == UDP_GRO) {
            memcpy(segment_size, CMSG_DATA(cmsg), sizeof(int));
        }
    }
}

/// One datagram with plain recvmsg: after a wake-up it is usually all there is, and a packet
/// written alone (a ping) reaches the TUN without recvmmsg's set-up of 16 slots and its second
/// attempt on an empty queue.
static int receive_one(int fd, void *bytes, unsigned long room, int *length, uint32_t *from, uint16_t *from_port,
                       int *segment_size) {
    struct iovec part = { .iov_base = bytes, .iov_len = room };
    struct sockaddr_in sender;
    receive_control control;
    struct msghdr message = {
        .msg_name = &sender, .msg_namelen = sizeof(sender), .msg_iov = &part, .msg_iovlen = 1,
        .msg_control = control.bytes, .msg_controllen = sizeof(control.bytes),
    };
    ssize_t received = recvmsg(fd, &message, MSG_DONTWAIT);
    if (received < 0) {
        return -errno;
    }
    describe_received(&message, (size_t)received, &sender, length, from, from_port, segment_size);
    return 1;
}

int flannel_udp_receive_batch(int fd, void *bytes, unsigned long stride, unsigned long room, int count, int *lengths, uint32_t *from,
                              uint16_t *from_ports, int *segment_sizes) {
    // A small frame keeps the stack pages one receive touches few.
    enum { maximum = FLANNEL_RECEIVE_BATCH_MAX };
    if (count <= 0) {
        return 0;
    }
    if (count > maximum) {
        count = maximum;
    }
    if (count == 1) {
        return receive_one(fd, bytes, room, lengths, from, from_ports, segment_sizes);
    }
    struct mmsghdr messages[maximum];
    struct iovec parts[maximum];
    struct sockaddr_in senders[maximum];
    receive_control controls[maximum];
    memset(messages, 0, sizeof(struct mmsghdr) * count);
    for (int i = 0; i < count; i++) {
        parts[i].iov_base = (char *)bytes + (unsigned long)i * stride;
        parts[i].iov_len = room;
        messages[i].msg_hdr.msg_name = &senders[i];
        messages[i].msg_hdr.msg_namelen = sizeof(senders[i]);
        messages[i].msg_hdr.msg_iov = &parts[i];
        messages[i].msg_hdr.msg_iovlen = 1;
        messages[i].msg_hdr.msg_control = controls[i].bytes;
        messages[i].msg_hdr.msg_controllen = sizeof(controls[i].bytes);
    }
    int received = recvmmsg(fd, messages, count, MSG_DONTWAIT, NULL);
    if (received < 0) {
        return -errno;
    }
    for (int i = 0; i < received; i++) {
        describe_received(&messages[i].msg_hdr, messages[i].msg_len, &senders[i], &lengths[i], &from[i], &from_ports[i],
                          &segment_sizes[i]);
    }
    return received;
}

int flannel_name_thread(const char *name) {
    char truncated[16];
    strncpy(truncated, name, sizeof(truncated) - 1);
    truncated[sizeof(truncated) - 1] = 0;
    int rc = pthread_setname_np(pthread_self(), truncated);
    return rc == 0 ? 0 : -rc;
}

long flannel_read(int fd, void *bytes, unsigned long length) {
    ssize_t received = read(fd, bytes, length);
    return received < 0 ? -errno : received;
}

int flannel_route_del_dev(const char *name, uint32_t destination, uint32_t netmask) {
    return route_request(SIOCDELRT, name, destination, netmask);
}

int flannel_socket_set_buffers(int fd, int bytes) {
    int rc = 0;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) < 0 &&
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) < 0) {
        rc = -errno;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof(bytes)) < 0 &&
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes)) < 0) {
        rc = -errno;
    }
    return rc;
}

int flannel_netlink_open(void) {
    return flannel_netlink_open_protocol(NETLINK_ROUTE);
}

int flannel_netlink_open_protocol(int protocol) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
    if (fd < 0) {
        return -errno;
    }
    struct sockaddr_nl local;
    memset(&local, 0, sizeof(local));
    local.nl_family = AF_NETLINK;
    if (bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0) {
        int saved = errno;
        close(fd);
        return -saved;
    }
    int on = 1;
    // Optional: older kernels answer without the text or with the whole request echoed.
    (void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof(on));
    (void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof(on));
    // A lost answer must not hang the agent: give up after five seconds (EAGAIN).
    struct timeval timeout = {.tv_sec = 5, .tv_usec = 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    int buffer = 1 << 20;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
    return fd;
}

/// Runs `open_socket` with the calling thread inside the network namespace at `netns_path` and
/// brings the thread back: the socket stays in that namespace. Returns the fd, or -errno.
static int open_in_netns(const char *netns_path, int (*open_socket)(void)) {
    int own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (own < 0) {
        return -errno;
    }
    int target = open(netns_path, O_RDONLY | O_CLOEXEC);
    if (target < 0) {
        int saved = errno;
        close(own);
        return -saved;
    }
    int fd;
    if (setns(target, CLONE_NEWNET) < 0) {
        fd = -errno;
    } else {
        fd = open_socket();
        // Back home; a thread left in the lab's namespace would confuse whatever runs next on it.
        if (setns(own, CLONE_NEWNET) < 0) {
            abort();
        }
    }
    close(target);
    close(own);
    return fd;
}

int flannel_netlink_open_in(const char *netns_path) {
    return open_in_netns(netns_path, flannel_netlink_open);
}

static int open_inet_datagram(void) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    return fd < 0 ? -errno : fd;
}

int flannel_inet_socket_in(const char *netns_path) {
    return open_in_netns(netns_path, open_inet_datagram);
}

int flannel_if_set_offload(int fd, const char *name, int feature, bool on) {
    uint32_t set, get;
    switch (feature) {
    case FLANNEL_OFFLOAD_GRO: set = ETHTOOL_SGRO; get = ETHTOOL_GGRO; break;
    case FLANNEL_OFFLOAD_TSO: set = ETHTOOL_STSO; get = ETHTOOL_GTSO; break;
    default: return -EINVAL;
    }
    if (strlen(name) >= IFNAMSIZ) {
        return -ENAMETOOLONG;
    }
    struct ethtool_value value = { .cmd = set, .data = on ? 1 : 0 };
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strcpy(request.ifr_name, name);
    request.ifr_data = (char *)&value;
    if (ioctl(fd, SIOCETHTOOL, &request) < 0) {
        return -errno;
    }
    // The kernel answers 0 even when the driver did not take the change (it only refuses a
    // feature that cannot be switched at all): read it back.
    value = (struct ethtool_value){ .cmd = get };
    if (ioctl(fd, SIOCETHTOOL, &request) < 0) {
        return -errno;
    }
    return (value.data != 0) == on ? 0 : -EIO;
}
