import AgentCore

/// How an agent is started.
public struct AgentSettings: Sendable {
    /// `--subnet-lease-ttl`; nil: the agent's default (24 h).
    public var leaseTTL: Duration?

    public init(leaseTTL: Duration? = nil) {
        self.leaseTTL = leaseTTL
    }

    /// As an operator writes it: `5s`, `24h`.
    public var leaseTTLText: String? {
        leaseTTL.map { LeaseTTLText.text(for: $0) }
    }
}
