/// Reads the fields of a `Backend` object, with errors that name the field and the fix.
public struct BackendFields {
    let backend: JSONValue

    public init(_ backend: JSONValue) {
        self.backend = backend
    }

    /// `Port`: 0 or absent means `defaultPort`.
    public func port(default defaultPort: Int) throws(ConfigError) -> Int {
        let value = try integer("Port", default: 0, range: 0...65_535,
                                hint: "a UDP port from 1 to 65535, or leave it out for \(defaultPort)")
        return value == 0 ? defaultPort : value
    }

    public func integer(_ name: String, default defaultValue: Int, range: ClosedRange<Int>, hint: String) throws(ConfigError) -> Int {
        guard let value = backend.member(name), value != .null else { return defaultValue }
        guard let number = value.integerValue else {
            throw ConfigError(field: "Backend.\(name)", "must be \(hint), not \(value.typeName == "a number" ? "\(value.encoded)" : value.typeName)")
        }
        guard range.contains(number) else {
            throw ConfigError(field: "Backend.\(name)", "\(number) is out of range; use \(hint)")
        }
        return number
    }

    public func boolean(_ name: String, default defaultValue: Bool) throws(ConfigError) -> Bool {
        guard let value = backend.member(name), value != .null else { return defaultValue }
        guard let flag = value.boolValue else {
            throw ConfigError(field: "Backend.\(name)", "must be true or false, not \(value.typeName)")
        }
        return flag
    }
}
