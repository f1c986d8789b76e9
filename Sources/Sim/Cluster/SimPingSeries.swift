import AgentCore
import ClusterScenarios

/// A ping series in virtual time: an echo every `interval`, answered or not.
struct SimPingSeries {
    var series: PingSeries
    var container: Int
    var sent = 0
    var answered: Set<Int> = []
    var nextAt: Timestamp
}
