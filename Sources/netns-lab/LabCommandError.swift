/// A failure while running a command: printed as "Error: <what and what to do>", without
/// the usage text that ArgumentParser adds to validation errors.
struct LabCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
