/// One scenario's result for one binary: it passed, a check failed (saying what was expected
/// and what happened, in the scenario's own terms), or the scenario does not apply.
public enum ConformanceVerdict: Sendable, Equatable, CustomStringConvertible {
    case pass
    case fail(check: String, expected: String, happened: String)
    case notApplicable(String)

    public var isPass: Bool { self == .pass }

    /// "PASS", "FAIL: <check>: expected …; happened …", "N/A: <reason>".
    public var description: String {
        switch self {
        case .pass: "PASS"
        case let .fail(check, expected, happened): "FAIL: \(check): expected \(expected); happened: \(happened)"
        case let .notApplicable(reason): "N/A: \(reason)"
        }
    }

    /// A short cell for the report's table.
    public var cell: String {
        switch self {
        case .pass: "PASS"
        case let .fail(check, _, _): "FAIL (\(check))"
        case .notApplicable: "N/A"
        }
    }
}

/// A failed check, thrown from inside a scenario and turned into `.fail`.
struct ConformanceFailure: Error {
    var check: String
    var expected: String
    var happened: String
}
