/// A scenario step that found the lab in a state it cannot go on from.
struct LabScenarioFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
