import ArgumentParser

/// flanneld's command line as Go's flag package reads it: `-flag` and `--flag` alike,
/// `-flag=value` and `-flag value`, bare booleans, then `FLANNELD_<FLAG>` for every flag not
/// given (upper case, dashes to underscores; the command line wins). Flags of modes this
/// agent does not have (`UnsupportedFlag`) are refused with their reason, or noted when their
/// value changes nothing.
public struct FlanneldCommandLine: Sendable {
    public var options: FlanneldOptions
    /// Things to log once logging is set up: flags accepted without effect here.
    public var notes: [String]

    public struct Refused: Error, CustomStringConvertible {
        public var refusals: [String]
        public var description: String { refusals.joined(separator: "\n") }
    }

    public static func parse(_ arguments: [String], environment: [String: String]) throws -> FlanneldCommandLine {
        var normalized = normalize(arguments)
        var refusals: [String] = [], notes: [String] = []
        // Unsupported flags are taken out before the parser sees them, refused or noted.
        var given = Set<String>()
        // Go stops reading flags at `--`: what follows is never a flag, refused or given.
        let flagCount = normalized.firstIndex(of: "--") ?? normalized.count
        let remainder = Array(normalized[flagCount...])
        normalized = Array(normalized[..<flagCount])
        normalized.removeAll { argument in
            guard argument.hasPrefix("--"), let (name, value) = split(argument) else { return false }
            given.insert(name)
            guard let flag = UnsupportedFlag.named(name) else { return false }
            if let refusal = flag.refusal(value: value ?? "") {
                refusals.append(refusal)
            } else {
                notes.append("-\(name)=\(value ?? ""): accepted; without -kube-subnet-mgr or multi-network mode it has no effect here, as upstream")
            }
            return true
        }
        // As upstream's flagutil, an empty variable counts as not set.
        for flag in UnsupportedFlag.all where !given.contains(flag.name) {
            let variable = environmentName(flag.name)
            guard let value = environment[variable], !value.isEmpty else { continue }
            if let refusal = flag.refusal(value: value) {
                refusals.append("\(refusal) (from \(variable))")
            } else {
                notes.append("\(variable)=\(value): accepted; without -kube-subnet-mgr or multi-network mode it has no effect here, as upstream")
            }
        }
        guard refusals.isEmpty else { throw Refused(refusals: refusals) }

        var fromEnvironment: [String] = []
        for name in FlanneldOptions.names where !given.contains(name) {
            guard let value = environment[environmentName(name)], !value.isEmpty else { continue }
            if name == "iface" || name == "iface-regex" {
                // Upstream takes a comma-separated list from the environment.
                for item in value.split(separator: ",") { fromEnvironment.append("--\(name)=\(item)") }
            } else {
                fromEnvironment.append("--\(name)=\(value)")
            }
        }
        let options = try FlanneldOptions.parse(fromEnvironment + normalized + remainder)
        if let vmodule = options.vmodule, !vmodule.isEmpty {
            notes.append("-vmodule=\(vmodule): accepted without effect (flanneld's verbosity is one level for all its logs; use -v)")
        }
        if let at = options.logBacktraceAt, !at.isEmpty {
            notes.append("-log_backtrace_at=\(at): accepted without effect (no Go stack traces here)")
        }
        if options.logToStandardError && !options.logDirectory.isEmpty {
            notes.append("-log_dir=\(options.logDirectory) has no effect with -logtostderr=true (the default): logs go to standard error only; add -logtostderr=false to write files")
        }
        return FlanneldCommandLine(options: options, notes: notes)
    }

    /// `FLANNELD_ETCD_ENDPOINTS` for `etcd-endpoints`, `FLANNELD_LOG_DIR` for `log_dir`.
    public static func environmentName(_ flag: String) -> String {
        "FLANNELD_" + String(flag.uppercased().map { $0 == "-" ? "_" : $0 })
    }

    /// `--name=value` → (name, value); `--name` → (name, nil).
    private static func split(_ argument: String) -> (String, String?)? {
        let body = argument.dropFirst(2)
        guard !body.isEmpty else { return nil }
        let parts = body.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        return (String(parts[0]), parts.count > 1 ? String(parts[1]) : nil)
    }

    /// `-flag` → `--flag`; bare booleans → `--flag=true`; `--flag value` → `--flag=value`
    /// (so a value that starts with a dash stays a value, as in Go).
    static func normalize(_ arguments: [String]) -> [String] {
        let booleans = FlanneldOptions.booleanFlags.union(UnsupportedFlag.all.filter(\.isBoolean).map(\.name))
        let takesValue = Set(FlanneldOptions.names).union(UnsupportedFlag.all.map(\.name)).subtracting(booleans)
        var result: [String] = []
        var index = 0
        while index < arguments.count {
            var argument = arguments[index]
            index += 1
            if argument == "--" {
                result.append(contentsOf: arguments[(index - 1)...])
                break
            }
            if argument.hasPrefix("-") && !argument.hasPrefix("--") && argument != "-" && argument != "-h" {
                argument = "-" + argument
            }
            if argument.hasPrefix("--"), !argument.contains("=") {
                let name = String(argument.dropFirst(2))
                if booleans.contains(name) {
                    // A following true/false belongs to it only in the `=` form in Go.
                    argument += "=true"
                } else if takesValue.contains(name), index < arguments.count {
                    argument += "=" + arguments[index]
                    index += 1
                }
            }
            result.append(argument)
        }
        return result
    }
}
