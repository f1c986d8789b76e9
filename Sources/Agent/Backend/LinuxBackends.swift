/// The backends this agent runs on Linux, by type name (the pure halves are in `BackendCatalogue`).
enum LinuxBackends {
    /// One line per backend.
    static let registered: [any LinuxBackend.Type] = [
        UDPLinuxBackend.self,
        VXLANLinuxBackend.self,
        HostGWLinuxBackend.self,
        WireGuardLinuxBackend.self,
    ]

    struct Missing: Error, CustomStringConvertible {
        var typeName: String
        var description: String {
            "the \(typeName) backend has no Linux implementation registered in LinuxBackends (a build without it?); use one of \(LinuxBackends.registered.map { $0.typeName }.joined(separator: ", "))"
        }
    }

    /// Prepares `config`'s backend with the Linux half registered under its type name.
    static func prepare(_ config: BackendConfig, device: BackendDevice?, ipv6Device: BackendDevice?,
                        on host: LinuxBackendHost) throws -> any PreparedBackend {
        for linux in registered {
            if let prepared = try prepare(linux, config.backend, device: device, ipv6Device: ipv6Device, on: host) { return prepared }
        }
        throw Missing(typeName: config.typeName)
    }

    private static func prepare<L: LinuxBackend>(_ linux: L.Type, _ backend: any Backend, device: BackendDevice?,
                                                 ipv6Device: BackendDevice?, on host: LinuxBackendHost) throws -> (any PreparedBackend)? {
        guard let definition = backend as? L.Definition else { return nil }
        return try L.prepare(definition, device: device, ipv6Device: ipv6Device, on: host)
    }
}

extension LinuxBackend {
    static var typeName: String { Definition.typeName }
}
