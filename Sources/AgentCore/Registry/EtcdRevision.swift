/// Revisions (v3) and indexes (v2) come from etcd's answers: a broken or hostile server can
/// send `Int64.max`, after which there is nothing to watch from. An error, never a trap.
public enum EtcdRevision {
    /// The revision a watch starts from after `revision`.
    public static func after(_ revision: Int64, endpoint: String = "etcd") throws(EtcdError) -> Int64 {
        let (next, overflow) = revision.addingReportingOverflow(1)
        guard !overflow else {
            throw EtcdError.badResponse(endpoint: endpoint, reason: "revision \(revision) is the largest there is; nothing can come after it")
        }
        return next
    }
}
