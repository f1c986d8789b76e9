/// The etcd client could not be set up from its options: names the option, the file and the fix.
public struct EtcdClientSetupError: Error, Equatable, Sendable, CustomStringConvertible {
    public var option: String
    public var message: String

    public init(option: String, _ message: String) {
        self.option = option
        self.message = message
    }

    public var description: String { "\(option): \(message)" }
}
