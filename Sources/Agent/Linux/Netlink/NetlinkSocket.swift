import CLinuxShims
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A NETLINK_ROUTE (or NETLINK_GENERIC) socket: one request at a time, each acknowledged (or refused) before the
/// next, dumps read to their end. Used from any task; the mutex keeps requests apart.
public final class NetlinkSocket: Sendable {
    private let fd: Int32
    private let state = Mutex<UInt32>(0)  // last sequence number

    /// A socket in our own network namespace, or in the one at `namespacePath`.
    public init(namespacePath: String? = nil) throws(SystemError) {
        if let namespacePath {
            fd = try SystemError.check(flannel_netlink_open_in(namespacePath), "socket(AF_NETLINK) in namespace", namespacePath)
        } else {
            fd = try SystemError.check(flannel_netlink_open(), "socket(AF_NETLINK)", "NETLINK_ROUTE")
        }
    }

    /// A socket of another netlink protocol in our own namespace (NETLINK_GENERIC).
    public init(protocol number: Int32) throws(SystemError) {
        fd = try SystemError.check(flannel_netlink_open_protocol(number), "socket(AF_NETLINK)", "protocol \(number)")
    }

    deinit { close(fd) }

    /// Sends a request with NLM_F_ACK and waits for the kernel's answer.
    func request(_ build: (UInt32) -> NetlinkMessage, operation: @autoclosure () -> String) throws(NetlinkError) {
        let outcome: Result<Void, NetlinkError> = state.withLock { sequence in
            sequence &+= 1
            let expected = sequence
            do throws(NetlinkError) {
                try send(build(expected).finished, operation: operation)
                _ = try receive(sequence: expected, operation: operation) { _, _, _ in }
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try outcome.get()
    }

    /// Sends a dump request and returns every answer message as (type, payload).
    func dump(_ build: (UInt32) -> NetlinkMessage, operation: @autoclosure () -> String) throws(NetlinkError) -> [(type: Int, payload: ArraySlice<UInt8>)] {
        // A dump that raced with a change is marked interrupted; read it again (a few times).
        var attempts = 0
        while true {
            attempts += 1
            let outcome: Result<([(type: Int, payload: ArraySlice<UInt8>)], Bool), NetlinkError> = state.withLock { sequence in
                sequence &+= 1
                let expected = sequence
                var messages: [(type: Int, payload: ArraySlice<UInt8>)] = []
                var interrupted = false
                do throws(NetlinkError) {
                    try send(build(expected).finished, operation: operation)
                    let doneFlags = try receive(sequence: expected, operation: operation) { type, payload, flags in
                        if flags & Int(NLM_F_DUMP_INTR) != 0 { interrupted = true }
                        messages.append((type, payload))
                    }
                    if doneFlags & Int(NLM_F_DUMP_INTR) != 0 { interrupted = true }
                    return .success((messages, interrupted))
                } catch {
                    return .failure(error)
                }
            }
            let (messages, interrupted) = try outcome.get()
            if !interrupted || attempts >= 5 { return messages }
        }
    }

    private func send(_ bytes: [UInt8], operation: () -> String) throws(NetlinkError) {
        while true {
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
            if sent == bytes.count { return }
            if sent < 0 && errno == EINTR { continue }
            throw NetlinkError(operation: operation(), errno: sent < 0 ? errno : EMSGSIZE)
        }
    }

    /// Reads until the acknowledgement or the end of the dump for `sequence`; messages for
    /// older sequence numbers (answers to a request that timed out) are skipped. Returns the
    /// flags of the final message (a dump's NLMSG_DONE may carry NLM_F_DUMP_INTR).
    private func receive(sequence: UInt32, operation: () -> String,
                         _ handle: (Int, ArraySlice<UInt8>, Int) -> Void) throws(NetlinkError) -> Int {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            var count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_PEEK) | Int32(MSG_TRUNC)) }
            if count < 0 {
                if errno == EINTR { continue }
                throw NetlinkError(operation: operation(), errno: errno == EAGAIN ? ETIMEDOUT : errno,
                                   kernelMessage: errno == EAGAIN ? "no answer within 5 s" : nil)
            }
            if count > buffer.count { buffer = [UInt8](repeating: 0, count: count) }
            count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                throw NetlinkError(operation: operation(), errno: errno)
            }
            // The walk is `NetlinkFrames`' (pure, fuzzed): every bound checked.
            for frame in NetlinkFrames(buffer[0..<count]) {
                guard frame.sequence == sequence else { continue }
                switch frame.type {
                case Int(NLMSG_ERROR):
                    guard let raw = NetlinkAttributes.u32(frame.payload, frame.payload.startIndex) else {
                        throw NetlinkError(operation: operation(), errno: EPROTO, kernelMessage: "truncated acknowledgement")
                    }
                    let code = Int32(bitPattern: raw)
                    if code == 0 { return frame.flags }
                    throw NetlinkError(operation: operation(), errno: Int32(truncatingIfNeeded: code.magnitude),
                                       kernelMessage: NetlinkFrames.extendedAckMessage(frame.payload, flags: frame.flags, echoedRequest: true))
                case Int(NLMSG_DONE):
                    let code = Int32(bitPattern: NetlinkAttributes.u32(frame.payload, frame.payload.startIndex) ?? 0)
                    if code < 0 {
                        throw NetlinkError(operation: operation(), errno: Int32(truncatingIfNeeded: code.magnitude),
                                           kernelMessage: NetlinkFrames.extendedAckMessage(frame.payload, flags: frame.flags, echoedRequest: false))
                    }
                    return frame.flags
                case Int(NLMSG_NOOP):
                    continue
                default:
                    handle(frame.type, frame.payload, frame.flags)
                }
            }
        }
    }
}
