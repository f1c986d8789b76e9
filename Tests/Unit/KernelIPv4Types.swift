import AgentCore

// Most tests here are about the IPv4 half of the kernel backends: the bare names mean it.
// The IPv6 half's tests spell the generic types out (`AgentCore.KernelRoute<IPv6Address>`).
typealias KernelRoute = AgentCore.KernelRoute<IPv4Address>
typealias KernelNeighbour = AgentCore.KernelNeighbour<IPv4Address>
typealias KernelFDBEntry = AgentCore.KernelFDBEntry<IPv4Address>
typealias KernelTables = AgentCore.KernelTables<IPv4Address>
typealias KernelPlan = AgentCore.KernelPlan<IPv4Address>
typealias KernelStep = AgentCore.KernelStep<IPv4Address>
typealias KernelPeerProgram = AgentCore.KernelPeerProgram<IPv4Address>
typealias KernelPeerContext = AgentCore.KernelPeerContext<IPv4Address>
typealias KernelBackendPlanner = AgentCore.KernelBackendPlanner<IPv4Address>
