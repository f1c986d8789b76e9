import ArgumentParser

/// The lab's command line: fake hosts from network namespaces, real etcd and real agents.
@main
struct NetnsLabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netns-lab",
        abstract: "Fake container hosts from network namespaces, with real etcd and real flanneld agents.",
        discussion: """
            A quick tour:
              netns-lab demo                 S1 from nothing: two hosts, a ping across, the walkthrough's tables
              netns-lab up --hosts 3         build a lab and leave it running
              netns-lab status               hosts, agents, subnets, flannel0, containers, leases
              netns-lab ping h1c1 h2c1       ping from h1's first container to h2's
              netns-lab capture h1 udp port 8285   tcpdump on h1's eth0
              netns-lab down                 remove the lab
              netns-lab scenario --list      the lease-lifecycle and outage scenarios (S2 … S15)
              netns-lab scenario S9          run one (or several, or all) on real hosts, with a report
              netns-lab migrate --upstream P S16: an upstream cluster moved to ours host by host, and back
              netns-lab conformance --flanneld P   the conformance scenarios against any flanneld binary
              netns-lab bench                throughput, RTT, loss and CPU per data path
              netns-lab clean                remove whatever any lab run left behind
            """,
        subcommands: [Demo.self, Up.self, Status.self, Ping.self, Capture.self, Down.self, Clean.self, Scenario.self, Migrate.self, Conformance.self, Bench.self, ScaleBench.self, PlainLoop.self])
}
