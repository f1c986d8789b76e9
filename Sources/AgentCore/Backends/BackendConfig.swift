/// The `Backend` object of the network config: the backend it names, with its settings.
public struct BackendConfig: Equatable, Sendable, CustomStringConvertible {
    public let backend: any Backend

    public init(_ backend: some Backend) {
        self.backend = backend
    }

    /// The `BackendType` written into leases.
    public var typeName: String { backend.typeName }

    public var description: String { backend.description }

    public static func == (lhs: BackendConfig, rhs: BackendConfig) -> Bool {
        lhs.backend.isEqual(to: rhs.backend)
    }

    /// Decodes `Backend`, looking its `Type` up in `BackendCatalogue`. Absent means udp, as
    /// upstream's code does.
    static func decode(_ value: JSONValue?) throws(ConfigError) -> BackendConfig {
        guard let value, value != .null else { return BackendCatalogue.defaultBackend }
        guard case .object = value else {
            throw ConfigError(field: "Backend", "must be an object like {\"Type\": \"vxlan\"}, not \(value.typeName)")
        }
        let known = BackendCatalogue.typeNames.joined(separator: ", ")
        guard let typeValue = value.member("Type") else {
            throw ConfigError(field: "Backend.Type", "is missing; set it to one of \(known)")
        }
        guard let rawType = typeValue.stringValue else {
            throw ConfigError(field: "Backend.Type", "must be a string such as \"vxlan\", not \(typeValue.typeName)")
        }
        if let type = BackendCatalogue.backend(named: rawType) {
            return BackendConfig(try type.decode(value))
        }
        if rawType.isEmpty {
            throw ConfigError(field: "Backend.Type", "is empty; set it to one of \(known)")
        }
        if BackendCatalogue.upstreamOnly.contains(rawType.lowercased()) {
            throw ConfigError(field: "Backend.Type", "\"\(rawType)\" is an upstream flannel backend that this agent does not implement; use one of \(known)")
        }
        throw ConfigError(field: "Backend.Type", "\(LogText.quoted(rawType, limit: 40)) is not a known backend; use one of \(known)")
    }
}
