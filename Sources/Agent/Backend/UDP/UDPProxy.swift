import CLinuxShims
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Moves packets between the TUN and the UDP socket on two dedicated OS threads (never the
/// cooperative pool), running the pure packet code (`UDPEncapsulation`) on each. Buffers are
/// allocated once per thread. Peer routes are swapped in whole when the peer table changes.
/// Per packet, each thread takes one lock (the current routes); its counters are its own and
/// are published every 256 packets and whenever it goes idle.
public final class UDPProxy: Sendable {
    public struct Counters: Sendable, Equatable {
        public var packetsOut = 0, bytesOut = 0, packetsIn = 0, bytesIn = 0, icmpReplies = 0
        public var drops: [UDPEncapsulation.DropReason: Int] = [:]

        mutating func add(_ other: Counters) {
            packetsOut += other.packetsOut
            bytesOut += other.bytesOut
            packetsIn += other.packetsIn
            bytesIn += other.bytesIn
            icmpReplies += other.icmpReplies
            for (reason, count) in other.drops { drops[reason, default: 0] += count }
        }
    }

    /// What a packet's fate depends on, swapped together.
    struct Path: Sendable {
        var routes = PeerRoutes()
        /// flannel0's address, the source of ICMP errors; changes with the lease (drift).
        var tunAddress: IPv4Address
    }

    /// One thread's counts not yet published.
    struct Tally {
        var counters = Counters()
        var pending = 0
    }

    let tun: TUNDevice
    let socket: UDPSocket
    let path: Mutex<Path>
    /// Called once, from a proxy thread, when the data path cannot go on (flannel0 deleted).
    let onFailure: @Sendable (String) -> Void
    let failed = Atomic<Bool>(false)
    let mtu: Int
    let port: Int
    let counters = Mutex(Counters())
    let stopping = Atomic<Bool>(false)
    /// Held by whichever thread reads the TUN (fast path: the inbound thread too, right after
    /// a write, when the outbound thread is not at it).
    let tunReader = Mutex(0)
    /// The errno of the first UDP_SEGMENT send the kernel refused (0: none); from then on one
    /// datagram per send.
    public let segmentationRefusal = Atomic<Int32>(0)

    /// What the fast path may use (`UDPOffloads.none`: the plain loops).
    let offloads: UDPOffloads

    public init(tun: TUNDevice, socket: UDPSocket, tunAddress: IPv4Address, mtu: Int, port: Int, offloads: UDPOffloads = .none,
                onFailure: @escaping @Sendable (String) -> Void) {
        self.offloads = offloads
        self.tun = tun
        self.socket = socket
        path = Mutex(Path(tunAddress: tunAddress))
        self.onFailure = onFailure
        self.mtu = mtu
        self.port = port
    }

    public func setPeers(_ peers: [Peer]) {
        let table = PeerRoutes(peers)
        path.withLock { $0.routes = table }
    }

    public func setTunAddress(_ address: IPv4Address) {
        path.withLock { $0.tunAddress = address }
    }

    public var snapshot: Counters { counters.withLock { $0 } }

    public func start() {
        let fast = offloads.vnetHeader || offloads.udpGRO
        // The fast path drains the TUN after each poll, from either thread: reads must not block.
        if fast { _ = fcntl(tun.fd, F_SETFL, fcntl(tun.fd, F_GETFL) | O_NONBLOCK) }
        // Named from inside (what top -H and perf show), in Linux's 15 characters.
        let outbound = Thread { [self] in
            Self.nameThread("flannel-tun2udp")
            fast ? runOutboundFast() : runOutbound()
        }
        outbound.start()
        let inbound = Thread { [self] in
            Self.nameThread("flannel-udp2tun")
            fast ? runInboundFast() : runInbound()
        }
        inbound.start()
    }

    private static func nameThread(_ name: String) {
        _ = flannel_name_thread(name)
    }

    /// Asks both threads to stop; they notice within their poll interval (200 ms).
    public func stop() {
        stopping.store(true, ordering: .relaxed)
    }

    /// Waits until `fd` is readable, publishing `tally` while idle. False when stopping, or
    /// when the device or socket is gone (POLLERR/POLLHUP/POLLNVAL), which is reported once
    /// through `onFailure`.
    func wait(_ fd: Int32, _ what: String, _ tally: inout Tally) -> Bool {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while !stopping.load(ordering: .relaxed) {
            let ready = poll(&descriptor, 1, 200)
            if ready == 0 { publish(&tally) }
            if ready > 0 {
                if descriptor.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 {
                    fail("\(what) reported an error (was it deleted?)")
                    return false
                }
                return true
            }
            if ready < 0 && errno != EINTR {
                fail("poll on \(what) failed: errno \(errno)")
                return false
            }
        }
        return false
    }

    /// A read failed: EAGAIN/EINTR are retried, anything else ends the data path.
    func readFailed(_ what: String) -> Bool {
        let code = errno
        if code == EAGAIN || code == EINTR { return false }
        fail("reading \(what) failed: \(String(cString: strerror(code))) (errno \(code))")
        return true
    }

    func fail(_ reason: String) {
        guard !failed.exchange(true, ordering: .relaxed) else { return }
        stopping.store(true, ordering: .relaxed)
        onFailure(reason)
    }

    func publish(_ tally: inout Tally) {
        guard tally.pending > 0 else { return }
        let local = tally.counters
        counters.withLock { $0.add(local) }
        tally = Tally()
    }

    func record(_ tally: inout Tally, _ update: (inout Counters) -> Void) {
        update(&tally.counters)
        tally.pending += 1
        if tally.pending >= 256 { publish(&tally) }
    }

    private func runOutbound() {
        let packet = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 8)
        let reply = UnsafeMutableRawBufferPointer.allocate(byteCount: 128, alignment: 8)
        var tally = Tally()
        defer {
            publish(&tally)
            packet.deallocate()
            reply.deallocate()
        }
        while wait(tun.fd, tun.name, &tally) {
            let length = read(tun.fd, packet.baseAddress, packet.count)
            guard length > 0 else {
                if length < 0 && readFailed(tun.name) { return }
                continue
            }
            let bytes = UnsafeMutableRawBufferPointer(rebasing: packet[0..<length])
            let current = path.withLock { $0 }
            switch UDPEncapsulation.outbound(bytes, routes: current.routes, tunAddress: current.tunAddress, reply: reply) {
            case let .send(peer):
                var destination = UDPSocket.socketAddress(peer, port)
                let sent = withUnsafePointer(to: &destination) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(socket.fd, bytes.baseAddress, length, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
                if sent == length {
                    record(&tally) { $0.packetsOut += 1; $0.bytesOut += length }
                } else {
                    record(&tally) { $0.drops[.sendFailed, default: 0] += 1 }
                }
            case let .reply(replyLength):
                if write(tun.fd, reply.baseAddress, replyLength) == replyLength {
                    record(&tally) { $0.icmpReplies += 1 }
                } else {
                    record(&tally) { $0.drops[.tunWriteFailed, default: 0] += 1 }
                }
            case let .drop(reason):
                record(&tally) { $0.drops[reason, default: 0] += 1 }
            }
        }
    }

    private func runInbound() {
        let packet = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 8)
        var tally = Tally()
        defer {
            publish(&tally)
            packet.deallocate()
        }
        var sender = sockaddr_in()
        while wait(socket.fd, "the UDP socket", &tally) {
            var senderLength = socklen_t(MemoryLayout<sockaddr_in>.size)
            let length = withUnsafeMutablePointer(to: &sender) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(socket.fd, packet.baseAddress, packet.count, 0, $0, &senderLength)
                }
            }
            guard length > 0 else {
                if length < 0 && readFailed("the UDP socket") { return }
                continue
            }
            let from = IPv4Address(bits: UInt32(bigEndian: sender.sin_addr.s_addr))
            let bytes = UnsafeMutableRawBufferPointer(rebasing: packet[0..<length])
            let routes = path.withLock { $0.routes }
            switch UDPEncapsulation.inbound(bytes, from: from, routes: routes, mtu: mtu) {
            case .deliver:
                if write(tun.fd, bytes.baseAddress, length) == length {
                    record(&tally) { $0.packetsIn += 1; $0.bytesIn += length }
                } else {
                    record(&tally) { $0.drops[.tunWriteFailed, default: 0] += 1 }
                }
            case let .drop(reason):
                record(&tally) { $0.drops[reason, default: 0] += 1 }
            }
        }
    }
}
