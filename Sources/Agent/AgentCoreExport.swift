// The daemon is the pure core plus its Linux plumbing: whoever imports Agent gets both.
@_exported import AgentCore
