/// A step of a scenario that could not be carried out (a timeout, a command that failed).
public struct ScenarioFailure: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
