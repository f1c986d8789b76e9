extension LabHost {
    /// A container of a family the host's subnet.env has no subnet of.
    public struct MissingSubnet: Error, CustomStringConvertible {
        public var host: String
        public var variable: String
        public var hint: String
        public var description: String { "\(host)'s subnet.env has no \(variable): \(hint)" }
    }
}
