import CLinuxShims
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Least privilege: the agent keeps CAP_NET_ADMIN (devices, routes, neighbours, its socket
/// buffers, nftables and iptables-nft through netlink), CAP_NET_RAW only where
/// an iptables other than iptables-nft may talk to the kernel through a raw socket, and CAP_NET_BIND_SERVICE only
/// for a health port below 1024. Everything else (reading any file, changing owners, loading
/// modules, ptrace) goes, from the bounding set too, so no child gets it back.
///
/// Capabilities belong to each thread and a thread starts with its creator's, so they are
/// dropped at start-up while the process has one thread: every thread made later (the
/// forwarding threads, swift-nio's, the concurrency pool's) has only what is kept. As root
/// the rest of set-up needs nothing more (root-owned files, /dev/net/tun, /proc/sys, the
/// rule tools as children); a file to read that is not the agent user's (a TLS key owned by
/// etcd) keeps CAP_DAC_READ_SEARCH, said in the log.
public enum Capabilities {
    static let dacReadSearch: Int32 = 2
    static let netBindService: Int32 = 10
    static let netAdmin: Int32 = 12
    static let netRaw: Int32 = 13

    /// What the agent keeps for `options`.
    static func needed(options: FlanneldOptions, iptablesVariant: () -> String?, ownedByUs: (String) -> Bool) -> [Int32] {
        var keep = [netAdmin]
        // iptables-nft needs no raw socket; anything else (legacy, xtables-multi, unknown) may.
        if options.ipMasq || options.iptablesForwardRules, iptablesVariant()?.contains("nft") != true { keep.append(netRaw) }
        if (1..<1024).contains(options.healthzPort) { keep.append(netBindService) }
        let files = [options.etcdCAFile, options.etcdCertFile, options.etcdKeyFile, options.etcdPasswordFile].compactMap { $0 }
        if files.contains(where: { !ownedByUs($0) }) { keep.append(dacReadSearch) }
        return keep.sorted()
    }

    /// Drops what `options` does not need; the line to log. Must run before any other thread
    /// exists (top of main): else it changes nothing and says why. Nil without CAP_NET_ADMIN:
    /// there is nothing to keep, and the daemon's one line says how to run it.
    public static func dropAtStart(options: FlanneldOptions) -> String? {
        guard flannel_has_cap_net_admin() else { return nil }
        let wanted = needed(options: options, iptablesVariant: iptablesVariant, ownedByUs: { path in
            var info = stat()
            return stat(path, &info) != 0 || info.st_uid == geteuid()
        })
        // Only what we have can be kept: a non-root agent given CAP_NET_ADMIN alone still keeps
        // it (and raises it as ambient for its children) when more would be useful.
        let missing = wanted.filter { !flannel_cap_permitted(CInt($0)) }
        let keep = wanted.filter { !missing.contains($0) }
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0
        guard threads == 1 else {
            return "not dropping capabilities: \(threads) threads already run (capabilities are per thread)"
        }
        do {
            try keepOnly(keep)
            let without = missing.isEmpty ? "" : "; \(describe(missing)) would be used but is not permitted"
            return "keeping only \(describe(keep)) (capabilities dropped at start, bounding set included)\(without)"
        } catch {
            return "could not drop capabilities (\(error)); running with those it was started with"
        }
    }

    /// The binary `iptables` in PATH resolves to ("xtables-nft-multi", "xtables-legacy-multi"),
    /// found without running it: a child process here could leave a thread behind.
    static func iptablesVariant() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/iptables"
            guard let resolved = realpath(candidate, nil) else { continue }
            defer { free(resolved) }
            return String(cString: resolved).split(separator: "/").last.map(String.init)
        }
        return nil
    }

    /// Keeps `keep`, drops the rest, in the calling thread; the error names the errno.
    static func keepOnly(_ keep: [Int32]) throws(SystemError) {
        let numbers: [CInt] = keep.map { CInt($0) }
        let rc: CInt = numbers.withUnsafeBufferPointer { buffer in flannel_keep_capabilities(buffer.baseAddress, CInt(buffer.count)) }
        _ = try SystemError.check(rc, "capset", "keeping only \(describe(keep))")
    }

    static func describe(_ caps: [Int32]) -> String {
        let names: [Int32: String] = [dacReadSearch: "CAP_DAC_READ_SEARCH", netBindService: "CAP_NET_BIND_SERVICE", netAdmin: "CAP_NET_ADMIN",
                                      netRaw: "CAP_NET_RAW"]
        return caps.map { names[$0] ?? "capability \($0)" }.joined(separator: ", ")
    }
}
