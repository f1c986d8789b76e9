import Agent
import Foundation

// The agent's command line, etcd client and data path arrive with the udp/lab issue; until
// then this binary only says what it is, rather than pretending to run.
let arguments = CommandLine.arguments.dropFirst()
if arguments.contains(where: { $0 == "--version" || $0 == "-version" }) {
    print("flanneld \(AgentVersion.current) (core only: no etcd client or data path yet)")
} else {
    print("flanneld \(AgentVersion.current): this build has the lease/peer core only; the daemon (etcd client, udp backend) is not built yet.")
    exit(2)
}
