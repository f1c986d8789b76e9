import FoundationEssentials
import GRPCCore

/// Turns gRPC failures into messages a flannel operator can act on. The transport reports TLS
/// problems as a generic "unavailable"; the real reason is in the error's cause chain.
enum EtcdFailure {
    /// Whether another endpoint might do better (the failure is about reaching this one).
    static func isConnectivity(_ error: RPCError) -> Bool {
        error.code == .unavailable || error.code == .deadlineExceeded
    }

    /// One line on why `endpoint` could not be used, with the fix where we know it.
    /// `answeredBefore`: the endpoint has answered this client, so TLS and the protocol are
    /// right and a dropped connection means etcd there stopped, restarted or was cut off.
    static func describe(_ error: any Error, endpoint: EtcdEndpoint, configuration: EtcdClientConfiguration,
                         answeredBefore: Bool = false) -> String {
        let chain = causeChain(error)
        let lower = chain.lowercased()
        if lower.contains("connection refused") || lower.contains("econnrefused") {
            return "connection refused: is etcd running and listening there?"
        }
        if lower.contains("certificate_verify_failed") || lower.contains("unable to get local issuer")
            || lower.contains("self signed") || lower.contains("unknown ca") && !lower.contains("alert") {
            return configuration.caFile == nil
                ? "its TLS certificate is signed by an unknown authority; pass the CA with --etcd-cafile"
                : "its TLS certificate is not signed by the CA in --etcd-cafile \(configuration.caFile!); pass the CA that signed etcd's certificate"
        }
        if lower.contains("wrong_version_number") || lower.contains("wrong version number") || lower.contains("packet_length_too_long")
            || lower.contains("http_request") {
            return "it does not speak TLS; use http:// for this endpoint"
        }
        // A plaintext server given an https:// endpoint either hangs up at once (EOF) or resets
        // the connection when our ClientHello arrives; a TLS server that refuses us sends an
        // alert instead (matched below).
        if lower.contains("eof during handshake")
            || (endpoint.secure && !lower.contains("alert") && (lower.contains("connection reset") || lower.contains("preface"))) {
            return "it hung up during the TLS handshake without a TLS alert: it most likely does not speak TLS; use http:// for this endpoint [\(tlsReason(chain))]"
        }
        if lower.contains("alert") || lower.contains("bad_certificate") || lower.contains("certificate_required")
            || lower.contains("handshake") {
            return configuration.certFile == nil
                ? "it refused the TLS handshake; it probably requires a client certificate: pass --etcd-certfile and --etcd-keyfile [\(tlsReason(chain))]"
                : "it refused the TLS handshake with our client certificate (\(configuration.certFile!)); is it signed by a CA that etcd trusts (--trusted-ca-file)? [\(tlsReason(chain))]"
        }
        if answeredBefore && (lower.contains("closed") || lower.contains("connection reset")) {
            return "the connection broke; it answered before, so etcd there stopped, restarted or was cut off; "
                + "the agent retries, meanwhile on the other endpoints; see that member's log (\(short(chain)))"
        }
        if !endpoint.secure && (lower.contains("preface") || lower.contains("connection reset") || lower.contains("closed")) {
            return "it closed the connection before speaking HTTP/2; if it serves TLS, use https:// (\(short(chain)))"
        }
        if let rpc = error as? RPCError, rpc.code == .deadlineExceeded {
            return "no answer within \(configuration.requestTimeout)"
        }
        return short(chain)
    }

    /// The innermost part of the chain: the TLS library's own words.
    static func tlsReason(_ chain: String) -> String {
        short(chain.components(separatedBy: "; caused by ").last ?? chain)
    }

    /// The error and its causes, joined, for matching and for the log.
    static func causeChain(_ error: any Error) -> String {
        var parts: [String] = []
        var current: (any Error)? = error
        var depth = 0
        while let error = current, depth < 6 {
            if let rpc = error as? RPCError {
                parts.append("\(rpc.code): \(rpc.message)")
                current = rpc.cause
            } else {
                parts.append(String(describing: error))
                current = nil
            }
            depth += 1
        }
        return parts.joined(separator: "; caused by ")
    }

    private static func short(_ text: String) -> String {
        text.count > 300 ? String(text.prefix(300)) + "…" : text
    }
}
