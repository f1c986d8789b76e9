import ArgumentParser
import NetnsLab

extension NetnsLabCommand {
    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Scenario S1 from nothing: two hosts, real agents, a ping across, the walkthrough's tables; then clean up.",
            discussion: """
            --walkthrough runs S14 instead: the walkthrough's setup verbatim (etcd v2 with TLS, a user and a role, /etc/sysconfig/flanneld, docker options). \
            --docker runs the walkthrough's flow on Debian's docker engine: flanneld → subnet.env → mk-docker-opts.sh → dockerd $DOCKER_NETWORK_OPTIONS → docker run busybox, a ping across and its path (needs docker.io and busybox-static: lab/setup installs them).
            """)

        @Flag(help: "Add docker's default masquerade rule on each host (the walkthrough's flannel0 row)")
        var dockerMasquerade = false

        @Flag(help: "S14: the walkthrough verbatim (etcd v2 API with TLS, user and role, sysconfig files, mk-docker-opts)")
        var walkthrough = false

        @Flag(help: "The walkthrough's flow on the real docker engine (dockerd and docker run in each host, docker's own masquerade rule)")
        var docker = false

        @Option(help: "Path of the flanneld binary (default: next to netns-lab)")
        var flanneld: String?

        @Option(help: "The repository's dist/ folder, for --walkthrough and --docker (default: found from netns-lab's or the current folder)")
        var dist: String?

        func validate() throws {
            if docker && (walkthrough || dockerMasquerade) {
                throw ValidationError("--docker runs docker itself (with its own masquerade rule); use it without --walkthrough and --docker-masquerade")
            }
        }

        func run() throws {
            try LabCommandSupport.requireRoot()
            let binary = try LabCommandSupport.flanneld(flanneld)
            let names = LabNames()
            try LabCommandSupport.interruptible(run: names.run) {
                if docker {
                    _ = try DockerWalkthroughDemo(flanneld: binary, dist: try LabCommandSupport.dist(dist)) { print($0) }.run(names: names)
                } else if walkthrough {
                    _ = try WalkthroughDemo(flanneld: binary, dist: try LabCommandSupport.dist(dist)) { print($0) }.run(names: names)
                } else {
                    try SeedPingDemo(flanneld: binary, dockerMasquerade: dockerMasquerade) { print($0) }.run(names: names)
                }
            }
        }
    }
}
