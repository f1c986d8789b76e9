import Glibc

/// The soft limit on open files, raised to the hard limit at start-up as Go programs (upstream
/// flanneld among them) do: the default soft limit (1,024) is what a burst of connections to
/// the health port, the etcd clients and the rule tools share.
enum OpenFileLimit {
    /// The new soft limit, or nil when it could not be read or raised (the old one stays).
    @discardableResult
    static func raiseToHardLimit() -> rlim_t? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        guard limit.rlim_cur < limit.rlim_max else { return limit.rlim_cur }
        limit.rlim_cur = limit.rlim_max
        return setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 ? limit.rlim_cur : nil
    }
}
