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
}
