/// A scenario of the conformance report: what it checks, the catalogue scenario it comes from,
/// and its story, run against any flanneld binary.
public struct ConformanceCase: Sendable, Identifiable {
    public let id: String
    /// The catalogue's scenario it is (S1, S12, …), or what it is built to show.
    public let origin: String
    public let summary: String
    /// Its lab needs the IPv6 underlay beside the IPv4 one.
    let needsIPv6: Bool
    /// Why it cannot run for `subject`, or nil.
    let notApplicable: @Sendable (ConformanceSubject) -> String?
    let story: @Sendable (ConformanceRun) throws -> Void

    init(id: String, origin: String, summary: String, needsIPv6: Bool = false,
         notApplicable: @escaping @Sendable (ConformanceSubject) -> String? = { _ in nil },
         _ story: @escaping @Sendable (ConformanceRun) throws -> Void) {
        self.id = id
        self.origin = origin
        self.summary = summary
        self.needsIPv6 = needsIPv6
        self.notApplicable = notApplicable
        self.story = story
    }
}
