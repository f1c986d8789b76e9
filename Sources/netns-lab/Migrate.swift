import ArgumentParser
import Foundation
import NetnsLab

extension NetnsLabCommand {
    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "S16: hosts running upstream flannel move to our agent one at a time while containers ping, then one moves back.",
            discussion: """
                Per swap: the longest ping gap, echoes lost, whether any subnet changed and whether etcd held exactly one
                lease per host. Exits 1 if a swap broke one of those. E.g.
                  netns-lab migrate --upstream ../shared/upstream/flanneld-0.7.0 --etcd-api v2 --backend udp
                  netns-lab migrate --upstream ../shared/upstream/flanneld-0.20.2 --backend vxlan
                """)

        @Option(help: "Path of upstream's flanneld binary (0.7.0 speaks etcd v2 only: add --etcd-api v2)")
        var upstream: String

        @Option(help: "The etcd API the cluster uses: v3 (0.20.2) or v2 (0.7.0)")
        var etcdAPI = "v3"

        @Option(help: "The backend: udp, vxlan or host-gw")
        var backend = "vxlan"

        @Option(help: "Number of hosts (2–20)")
        var hosts = 3

        @Option(help: "Path of our flanneld binary (default: next to netns-lab)")
        var flanneld: String?

        func validate() throws {
            guard ["v2", "v3"].contains(etcdAPI) else { throw ValidationError("--etcd-api \(etcdAPI): use v2 or v3") }
            guard ["udp", "vxlan", "host-gw"].contains(backend) else { throw ValidationError("--backend \(backend): use udp, vxlan or host-gw") }
            guard (2...20).contains(hosts) else { throw ValidationError("--hosts must be between 2 and 20, got \(hosts)") }
            guard FileManager.default.isExecutableFile(atPath: upstream) else {
                throw ValidationError("--upstream \(upstream) is not an executable file; give the path of upstream's flanneld (e.g. ../shared/upstream/flanneld-0.20.2)")
            }
        }

        func run() throws {
            try LabCommandSupport.requireRoot()
            var migration = RollingMigration(upstream: upstream, ours: try LabCommandSupport.flanneld(flanneld),
                                             etcdV2: etcdAPI == "v2", backend: backend)
            migration.hosts = hosts
            let names = LabNames()
            let report = try LabCommandSupport.interruptible(run: names.run) { try migration.run(names: names) { print($0) } }
            for problem in report.setupProblems { print("FAIL: \(problem)") }
            print(report.passed ? "PASS: every swap kept the subnets and one lease per host; pings resumed within \(RollingMigration.seconds(migration.resumeBound))"
                                : "FAIL: see the swaps above")
            if !report.passed { throw ExitCode(1) }
        }
    }
}
