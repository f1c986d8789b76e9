import FoundationEssentials

/// How to reach etcd: endpoints, TLS files, credentials, and the per-request deadline.
public struct EtcdClientConfiguration: Sendable {
    public var endpoints: [EtcdEndpoint]
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?
    public var username: String?
    /// Kept out of descriptions and logs.
    public var password: String?
    public var requestTimeout: Duration
    /// The largest answer taken (a listing page, a v2 body, a watch message): far above what
    /// flannel's leases need (a 1,000-key page of ordinary leases is ~150 KB), so that only
    /// junk under the prefix reaches it (then listing pages shrink, or the error names it).
    public var maximumAnswerBytes = 64 << 20

    public init(endpoints: [EtcdEndpoint], caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil,
                username: String? = nil, password: String? = nil, requestTimeout: Duration = .seconds(5)) {
        self.endpoints = endpoints
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.username = username
        self.password = password
        self.requestTimeout = requestTimeout
    }

    /// The TLS files, each checked to be readable; a client certificate needs its key and the
    /// other way round. Shared by the v3 and v2 clients.
    func checkedTLSFiles() throws(EtcdClientSetupError) -> (ca: String?, cert: String?, key: String?) {
        func readable(_ path: String?, _ option: String) throws(EtcdClientSetupError) -> String? {
            guard let path else { return nil }
            guard FileManager.default.isReadableFile(atPath: path) else {
                let reason = FileManager.default.fileExists(atPath: path) ? "is not readable by this user" : "does not exist"
                throw EtcdClientSetupError(option: option, "\(path) \(reason); give the path of a PEM file")
            }
            return path
        }
        let ca = try readable(caFile, "--etcd-cafile")
        let cert = try readable(certFile, "--etcd-certfile")
        let key = try readable(keyFile, "--etcd-keyfile")
        if (cert == nil) != (key == nil) {
            throw EtcdClientSetupError(option: cert == nil ? "--etcd-certfile" : "--etcd-keyfile",
                                       "a client certificate needs both --etcd-certfile and --etcd-keyfile")
        }
        return (ca, cert, key)
    }
}
