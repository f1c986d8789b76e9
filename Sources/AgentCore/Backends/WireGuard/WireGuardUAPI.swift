/// wireguard-go's configuration protocol over `/var/run/wireguard/<device>.sock`
/// (wireguard.com/xplatform): `key=value` lines, keys in hex, a blank line ends a request,
/// `errno=<n>` ends every answer.
public enum WireGuardUAPI {
    /// A problem with the device's answer.
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// `set=1`: the device settings given (a listen port only when it changes: setting it
    /// rebinds), then each removal and each peer set whole.
    public static func setRequest(privateKey: WireGuardSecret? = nil, listenPort: Int? = nil, replacePeers: Bool = false,
                                  plan: WireGuardPeerPlan) -> String {
        var lines = ["set=1"]
        if let privateKey { lines.append("private_key=\(privateKey.key.hex)") }
        if let listenPort { lines.append("listen_port=\(listenPort)") }
        if replacePeers { lines.append("replace_peers=true") }
        for key in plan.removals {
            lines += ["public_key=\(key.hex)", "remove=true"]
        }
        for peer in plan.updates {
            lines.append("public_key=\(peer.publicKey.hex)")
            // Zeros clear a key a peer had: "no PSK" must be said, not left out.
            lines.append("preshared_key=\(peer.presharedKey?.key.hex ?? String(repeating: "0", count: 64))")
            lines.append("endpoint=\(peer.endpoint)")
            lines.append("persistent_keepalive_interval=\(peer.persistentKeepalive)")
            lines.append("replace_allowed_ips=true")
            for allowed in peer.allowedIPs { lines.append("allowed_ip=\(allowed)") }
        }
        return lines.joined(separator: "\n") + "\n\n"
    }

    public static let getRequest = "get=1\n\n"

    /// The `errno=` of an answer: 0 is success.
    public static func errno(of answer: String) throws(Failure) -> Int {
        guard let line = answer.split(separator: "\n").last(where: { $0.hasPrefix("errno=") }),
              let value = Int(line.dropFirst("errno=".count)) else {
            throw Failure("the answer has no errno line (\(LogText.bounded(answer, limit: 80)))")
        }
        return value
    }

    /// Reads a `get=1` answer. Unknown keys are skipped (newer wireguard-go versions add some).
    public static func parseGet(_ answer: String) throws(Failure) -> WireGuardDeviceState {
        var state = WireGuardDeviceState()
        var peer: WireGuardDeviceState.Peer?
        var sawErrno = false
        for line in answer.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let equals = line.firstIndex(of: "=") else { throw Failure("line \(LogText.quoted(String(line), limit: 60)) has no '='") }
            let key = line[..<equals], value = String(line[line.index(after: equals)...])
            func number() throws(Failure) -> Int {
                guard let number = Int(value), number >= 0 else { throw Failure("\(key)=\(LogText.bounded(value, limit: 30)) is not a number") }
                return number
            }
            func hexKey() throws(Failure) -> WireGuardKey {
                guard let parsed = WireGuardKey(hex: value) else { throw Failure("\(key) is not 64 hex digits") }
                return parsed
            }
            switch key {
            case "errno":
                guard let code = Int(value) else { throw Failure("errno=\(LogText.bounded(value, limit: 30)) is not a number") }
                guard code == 0 else { throw Failure("the device answered errno=\(code)") }
                sawErrno = true
            case "private_key": state.privateKey = WireGuardSecret(try hexKey())
            case "listen_port": state.listenPort = try number()
            case "public_key":
                if let peer { state.peers.append(peer) }
                peer = WireGuardDeviceState.Peer(publicKey: try hexKey())
            case "preshared_key":
                let psk = try hexKey()
                peer?.presharedKey = psk.isZero ? nil : WireGuardSecret(psk)
            case "endpoint": peer?.endpoint = value
            case "allowed_ip": peer?.allowedIPs.append(value)
            case "persistent_keepalive_interval": peer?.persistentKeepalive = try number()
            case "last_handshake_time_sec": peer?.lastHandshake = try number()
            case "rx_bytes": peer?.receivedBytes = try number()
            case "tx_bytes": peer?.sentBytes = try number()
            default: continue
            }
        }
        if let peer { state.peers.append(peer) }
        guard sawErrno else { throw Failure("the answer ended without errno=0") }
        return state
    }
}
