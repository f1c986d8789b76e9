// The one fuzzing binary: every target, AgentCore compiled once. `FLANNEL_FUZZ_TARGET` names
// the target (read once); `FLANNEL_FUZZ_TARGET=list` prints the names and exits.

#if canImport(Glibc)
import Glibc
#endif

enum FuzzTargets {
    static let names = ["udp-inbound", "tcp-segmenter", "tcp-coalescer", "json", "lease", "network-config",
                        "etcd-v2-answer", "subnet-env", "netlink-attributes"]

    static func run(_ index: Int, _ bytes: UnsafeRawBufferPointer) {
        switch index {
        case 0: UDPInboundFuzz.run(bytes)
        case 1: TCPSegmenterFuzz.run(bytes)
        case 2: TCPCoalescerFuzz.run(bytes)
        case 3: JSONFuzz.run(bytes)
        case 4: LeaseFuzz.run(bytes)
        case 5: NetworkConfigFuzz.run(bytes)
        case 6: EtcdV2AnswerFuzz.run(bytes)
        case 7: SubnetEnvFuzz.run(bytes)
        default: NetlinkFuzz.run(bytes)
        }
    }

    /// The selected target's index; exits when the variable is missing or names no target.
    static let selected: Int = {
        let name = getenv("FLANNEL_FUZZ_TARGET").map { String(cString: $0) } ?? ""
        if name == "list" {
            for name in names { print(name) }
            exit(0)
        }
        guard let index = names.firstIndex(of: name) else {
            let message = "FLANNEL_FUZZ_TARGET=\(name.isEmpty ? "(unset)" : name) names no fuzz target; one of: \(names.joined(separator: ", "))\n"
            _ = message.withCString { write(2, $0, strlen($0)) }
            exit(2)
        }
        return index
    }()
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    _ = FuzzTargets.selected
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzTargets.run(FuzzTargets.selected, UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
