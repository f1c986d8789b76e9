/// The lab's scenarios, by the simulator's ids and names (SCENARIOS.md).
extension LabScenario {
    public static let catalogue: [LabScenario] = [
        restartKeepsSubnet, expiredLeaseComesBack, subnetTakenDrift, peerLeaves, reservation,
        allocationRace, etcdOutage, watchCompaction, partition,
    ]
}
