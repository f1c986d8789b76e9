import Agent
import ArgumentParser
import Foundation
import NetnsLab

extension NetnsLabCommand {
    struct PlainLoop: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "plain-loop",
            abstract: "The bench's baseline: a plain read/sendto TUN↔UDP loop, upstream flannel's udp proxy design.",
            shouldDisplay: false)

        @Option(help: "The TUN's address (the subnet's base)")
        var address: String

        @Option(help: "The whole overlay network, routed to the TUN")
        var network: String

        @Option(help: "The TUN's MTU")
        var mtu = 1472

        @Option(help: "Local address to bind the UDP port on")
        var listen: String

        @Option(help: "The TUN device's name (the bench runs a second loop beside flanneld on flannel1)")
        var tun = "flannel0"

        @Option(help: "The UDP port, here and at every peer")
        var port = 8285

        @Option(help: "A peer, SUBNET=PUBLICIP (repeatable)")
        var peer: [String] = []

        func run() throws {
            // Started by the bench, whose signal handling may have left SIGTERM ignored.
            signal(SIGTERM, SIG_DFL)
            signal(SIGINT, SIG_DFL)
            guard let ownAddress = IPv4Address(address), let flannelNetwork = IPv4Network(network), let local = IPv4Address(listen) else {
                throw LabCommandError("--address, --network and --listen must be IPv4 addresses / networks")
            }
            let routes = try peer.map { text -> PlainUDPLoop.Route in
                let parts = text.split(separator: "=")
                guard parts.count == 2, let subnet = IPv4Network(String(parts[0])), let ip = IPv4Address(String(parts[1])) else {
                    throw LabCommandError("--peer \(text): expected SUBNET=PUBLICIP, e.g. 10.1.15.0/24=192.0.2.12")
                }
                return PlainUDPLoop.Route(subnet: subnet, peer: ip)
            }
            guard (1...65_535).contains(port) else { throw LabCommandError("--port must be 1…65535, got \(port)") }
            guard (1...15).contains(tun.utf8.count) else { throw LabCommandError("--tun must be 1…15 bytes (a Linux interface name), got '\(tun)'") }
            var loop = PlainUDPLoop(address: ownAddress, network: flannelNetwork, mtu: mtu, listen: local, routes: routes)
            loop.tunName = tun
            loop.port = port
            try loop.run()
        }
    }
}
