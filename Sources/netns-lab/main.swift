import Foundation
import NetnsLab

// The lab's commands (`up`, `down`, `clean`, `status`, `ping`, `capture`, `demo`, `bench`)
// arrive with the udp backend and the lab issue. Until then this says so instead of
// pretending; the building blocks (process runner, etcd fixture, names) are in NetnsLab.
let command = CommandLine.arguments.dropFirst().first ?? "help"
FileHandle.standardError.write(Data("""
    netns-lab \(command): not yet. The lab (fake hosts from network namespaces, a real etcd, real
    flanneld agents, the S1 ping across hosts) arrives together with the agent's udp backend.
    What exists today: the agent's core and its tests (sudo lab/test).

    """.utf8))
exit(2)
