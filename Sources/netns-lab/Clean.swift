import ArgumentParser
import NetnsLab

extension NetnsLabCommand {
    struct Clean: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove every namespace, process, docker container cgroup and run directory that any lab run left behind (only names of the form fl<6 hex>-…).")

        func run() throws {
            try LabCommandSupport.requireRoot()
            let removed = Lab.clean()
            print(removed.isEmpty ? "nothing to clean" : "removed \(removed.joined(separator: ", "))")
        }
    }
}
