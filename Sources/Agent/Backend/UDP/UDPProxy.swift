import CLinuxShims
import FoundationEssentials
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Moves packets between the TUN and the UDP socket on two dedicated OS threads (never the
/// cooperative pool), running the pure packet code (`UDPEncapsulation`) on each. Buffers are
/// allocated once per thread. Peer routes are swapped in whole when the peer table changes.
/// Each thread keeps its own counters and publishes them every 256 updates and when idle.
///
/// Who reads the TUN: while traffic is light the inbound thread serves both directions, one
/// thread polling both descriptors as upstream's loop does, so an answer the kernel queues on
/// the TUN while that thread writes (an echo reply, an ACK) is read by the same thread at once
/// and no second thread has to wake (tens of microseconds on a VM). When the TUN gets busy (a
/// drain fills its budget, or many reads in a few milliseconds: see `TUNLoad`) the outbound
/// thread takes it over, and hands it back after `quietBeforeHandBack`.
public final class UDPProxy: Sendable {
    public struct Counters: Sendable, Equatable {
        public var packetsOut = 0, bytesOut = 0, packetsIn = 0, bytesIn = 0, icmpReplies = 0
        public var drops: [UDPEncapsulation.DropReason: Int] = [:]
    }

    /// What a packet's fate depends on, swapped together.
    struct Path: Sendable {
        var routes = PeerRoutes()
        /// Our lease's subnet: inbound packets must be addressed into it, and its first address
        /// (flannel0's) is the source of ICMP errors. Changes with the lease (drift).
        var ownSubnet: IPv4Network
    }

    let tun: TUNDevice
    let socket: UDPSocket
    /// The descriptors, kept here so that the data path reads them from this object, which it
    /// touches anyway, rather than from two more after an idle wake-up.
    let tunFD: Int32
    let socketFD: Int32
    let path: Mutex<Path>
    /// Bumped after each change of `path`.
    let pathVersion = Atomic<Int>(0)
    /// Called once, from a proxy thread, when the data path cannot go on (flannel0 deleted).
    let onFailure: @Sendable (String) -> Void
    let failed = Atomic<Bool>(false)
    let mtu: Int
    let port: Int
    /// The port peers send from (every agent sends from the port it listens on), as received.
    let peerPort: UInt16
    let counters = Mutex(Counters())
    let stopping = Atomic<Bool>(false)
    /// Held by whichever thread reads the TUN, so one flow's packets leave in the order they
    /// came when the TUN changes hands.
    let tunReader = Mutex(0)
    /// True while the outbound thread serves the TUN; false while the inbound thread does.
    let outboundAwake = Atomic<Bool>(false)
    /// eventfds: the inbound thread wakes the outbound one to take the TUN over, and is woken
    /// when it is handed back.
    let outboundWake: Int32
    let inboundWake: Int32
    /// The errno of the first UDP_SEGMENT send the kernel refused (0: none); from then on one
    /// datagram per send.
    public let segmentationRefusal = Atomic<Int32>(0)

    /// What the forwarding loops may use (`UDPOffloads.none`: a plain TUN, one send and one
    /// TUN write per packet, batched all the same).
    let offloads: UDPOffloads

    /// flannel0's transmit queue (the default 500 overflows under a TCP burst).
    public static let tunQueueLength = 5_000
    /// How long the TUN stays quiet before the outbound thread hands it back, in ms.
    static let quietBeforeHandBack: Int32 = 20
    /// TUN read calls the inbound thread makes in one drain; using them all calls the outbound thread.
    static let inboundDrainBudget = 32

    public init(tun: TUNDevice, socket: UDPSocket, subnet: IPv4Network, mtu: Int, port: Int, offloads: UDPOffloads = .none,
                onFailure: @escaping @Sendable (String) -> Void) throws(SystemError) {
        outboundWake = try SystemError.check(flannel_eventfd_open(), "eventfd", "the udp proxy's outbound wake-up")
        do {
            inboundWake = try SystemError.check(flannel_eventfd_open(), "eventfd", "the udp proxy's inbound wake-up")
        } catch {
            _ = Glibc.close(outboundWake)
            throw error
        }
        self.offloads = offloads
        self.tun = tun
        self.socket = socket
        tunFD = tun.fd
        socketFD = socket.fd
        path = Mutex(Path(ownSubnet: subnet))
        self.onFailure = onFailure
        self.mtu = mtu
        self.port = port
        peerPort = UInt16(truncatingIfNeeded: port)
    }

    deinit {
        _ = Glibc.close(outboundWake)
        _ = Glibc.close(inboundWake)
    }

    public func setPeers(_ peers: [Peer]) {
        let table = PeerRoutes(peers)
        path.withLock { $0.routes = table }
        pathVersion.add(1, ordering: .releasing)
    }

    public func setSubnet(_ subnet: IPv4Network) {
        path.withLock { $0.ownSubnet = subnet }
        pathVersion.add(1, ordering: .releasing)
    }

    /// A thread's copy of `path`, taken again only when the path changed: per packet one
    /// atomic load, no lock and no reference counting.
    struct PathCache {
        var path = Path(ownSubnet: IPv4Network(address: IPv4Address(bits: 0), prefixLength: 32))
        var version = -1
    }

    @inline(__always)
    func refresh(_ cache: inout PathCache) {
        let version = pathVersion.load(ordering: .acquiring)
        guard version != cache.version else { return }
        cache.path = path.withLock { $0 }
        cache.version = version
    }

    public var snapshot: Counters { counters.withLock { $0 } }

    public func start() throws {
        // Both threads drain the TUN until it is empty: reads must not block.
        _ = fcntl(tun.fd, F_SETFL, fcntl(tun.fd, F_GETFL) | O_NONBLOCK)
        // Named from inside (what top -H and perf show), in Linux's 15 characters.
        let outbound = try OSThread.start { [self] in
            Self.nameThread("flannel-tun2udp")
            runOutbound()
        }
        let inbound: OSThread
        do {
            inbound = try OSThread.start { [self] in
                Self.nameThread("flannel-udp2tun")
                runInbound()
            }
        } catch {
            // The caller closes the TUN and the socket next: the first thread must be gone by then.
            stop()
            outbound.join()
            throw error
        }
        outbound.detach()
        inbound.detach()
    }

    private static func nameThread(_ name: String) {
        _ = flannel_name_thread(name)
    }

    /// Asks both threads to stop, waking them wherever they wait.
    public func stop() {
        stopping.store(true, ordering: .relaxed)
        _ = flannel_eventfd_signal(outboundWake)
        _ = flannel_eventfd_signal(inboundWake)
    }

    enum Readiness { case ready, timedOut, finished }

    /// Polls `count` descriptors for up to `timeout` ms (-1: until one is readable, as the idle
    /// waits do: an idle agent's threads sleep until traffic or `stop()` wakes them, with no
    /// periodic wake-up). What `tally` holds is published first, so the metrics are current
    /// whenever the thread sleeps. `.finished` when stopping, or when the device or socket is
    /// gone (POLLERR/POLLHUP/POLLNVAL), which is reported once through `onFailure`.
    @inline(__always)
    func waitReadable(_ descriptors: UnsafeMutablePointer<pollfd>, _ count: Int, timeout: Int32, _ tally: inout Tally) -> Readiness {
        publish(&tally)
        while !stopping.load(ordering: .relaxed) {
            let ready = Glibc.poll(descriptors, nfds_t(count), timeout)
            if ready == 0 { return .timedOut }
            if ready > 0 {
                if stopping.load(ordering: .relaxed) { return .finished }
                for index in 0..<count where descriptors[index].revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 {
                    fail("\(describe(descriptors[index].fd)) reported an error (was it deleted?)")
                    return .finished
                }
                return .ready
            }
            if errno != EINTR {
                let code = errno
                let names = (0..<count).map { describe(descriptors[$0].fd) }.joined(separator: ", ")
                fail("poll on \(names) failed: \(String(cString: strerror(code))) (errno \(code)); restart flanneld")
                return .finished
            }
        }
        return .finished
    }

    private func describe(_ fd: Int32) -> String {
        fd == tunFD ? tun.name : fd == socketFD ? "the UDP socket" : "the udp proxy's wake-up eventfd"
    }

    /// A read failed with `code` (an errno): EAGAIN/EINTR are retried, anything else ends the
    /// data path.
    func readFailed(_ what: String, code: Int32) -> Bool {
        if code == EAGAIN || code == EINTR { return false }
        fail("reading \(what) failed: \(String(cString: strerror(code))) (errno \(code))")
        return true
    }

    func fail(_ reason: String) {
        guard !failed.exchange(true, ordering: .relaxed) else { return }
        // The other thread may be asleep with no timeout: wake it to stop too.
        stop()
        onFailure(reason)
    }

    @inline(__always)
    func publish(_ tally: inout Tally) {
        guard tally.pending > 0 else { return }
        let local = tally
        counters.withLock { $0.add(local) }
        tally = Tally()
    }

    @inline(__always)
    func record(_ tally: inout Tally, _ update: (inout Tally) -> Void) {
        update(&tally)
        tally.pending += 1
        if tally.pending >= 256 { publish(&tally) }
    }
}
