/// The backends this agent runs, by type name (upstream's `backend.Register`).
public enum BackendCatalogue {
    /// One line per backend.
    public static let registered: [any Backend.Type] = [
        UDPBackend.self,
        VXLANBackend.self,
        HostGWBackend.self,
        WireGuardBackend.self,
    ]

    /// A config without `Backend` runs udp, as upstream does.
    static var defaultBackend: BackendConfig { BackendConfig(UDPBackend(port: UDPBackend.defaultPort)) }

    /// Upstream backends we do not run: named as such in the error, not as typos.
    static let upstreamOnly: Set<String> = ["ipip", "ipsec", "alloc", "gce", "aws-vpc", "ali-vpc", "tencent-vpc", "extension"]

    public static var typeNames: [String] { registered.map { $0.typeName } }

    /// The backend called `name` (case-insensitive, as upstream matches `Type`).
    public static func backend(named name: String) -> (any Backend.Type)? {
        let wanted = name.lowercased()
        return registered.first { $0.typeName == wanted }
    }
}
