import Agent

/// Small builders shared by the unit tests.
enum Fixtures {
    static let walkthroughConfig = try! NetworkConfig.decode(#"{ "Network": "10.1.0.0/16" }"#)
    static let plan = walkthroughConfig.ipv4!

    static func ip(_ text: String) -> IPv4Address { IPv4Address(text)! }
    static func net(_ text: String) -> IPv4Network { IPv4Network(text)! }
    static func key(_ text: String) -> SubnetKey { SubnetKey(IPv4Network(text)!) }

    static func record(_ subnet: String, _ publicIP: String, reservation: Bool = false, modRevision: Int64 = 5) -> LeaseRecord {
        LeaseRecord(key: key(subnet), attributes: LeaseAttributes(publicIP: ip(publicIP)),
                    isReservation: reservation, modRevision: modRevision)
    }

    static func listing(_ records: LeaseRecord..., revision: Int64 = 10) -> LeaseListing {
        LeaseListing(records: records, revision: revision)
    }

    static func plan(_ json: String) -> SubnetPlan<IPv4Address> {
        try! NetworkConfig.decode(json).ipv4!
    }
}
