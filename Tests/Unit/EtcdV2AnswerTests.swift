@testable import AgentCore
@testable import Agent
import Testing

/// etcd v2 answers, as etcd 3.4 writes them, turned into flannel's leases.
@Suite("etcd v2 answers")
struct EtcdV2AnswerTests {
    let layout = EtcdKeyLayout(prefix: "/flannel-test/network")

    @Test func aRecursiveListingBecomesLeasesWithReservationsAndBadEntries() throws {
        let body = #"""
        {"action":"get","node":{"key":"/flannel-test/network/subnets","dir":true,"nodes":[
          {"key":"/flannel-test/network/subnets/10.1.82.0-24","value":"{\"PublicIP\":\"10.12.10.193\"}","expiration":"2026-11-29T18:00:00Z","ttl":86391,"modifiedIndex":12,"createdIndex":12},
          {"key":"/flannel-test/network/subnets/10.1.71.0-24","value":"{\"PublicIP\":\"10.12.10.200\",\"BackendType\":\"udp\"}","modifiedIndex":9,"createdIndex":9},
          {"key":"/flannel-test/network/subnets/garbage","value":"x","modifiedIndex":10,"createdIndex":10}
        ],"modifiedIndex":5,"createdIndex":5}}
        """#
        let answer = try EtcdV2Answer.decode(body)
        let listing = answer.leaseListing(index: 14, layout: layout)
        #expect(listing.revision == 14)
        #expect(listing.records.map(\.key.description) == ["10.1.71.0-24", "10.1.82.0-24"])
        #expect(listing.records.map(\.isReservation) == [true, false])
        #expect(listing.records.map(\.modRevision) == [9, 12])
        #expect(listing.records.last?.attributes.publicIP == IPv4Address(10, 12, 10, 193))
        #expect(listing.malformed.map(\.key) == ["/flannel-test/network/subnets/garbage"])
    }

    @Test func watchAnswersBecomePutsAndDeletesAtTheirIndex() throws {
        let set = try EtcdV2Answer.decode(#"{"action":"set","node":{"key":"/flannel-test/network/subnets/10.1.82.0-24","value":"{\"PublicIP\":\"10.12.10.193\"}","ttl":60,"modifiedIndex":20,"createdIndex":20}}"#)
        let put = try #require(set.leaseEvents(layout: layout))
        #expect(put.revision == 20)
        guard case let .put(record)? = put.events.first else { Issue.record("not a put: \(put)"); return }
        #expect(record.key.description == "10.1.82.0-24" && !record.isReservation)

        for action in ["expire", "delete", "compareAndDelete"] {
            let gone = try EtcdV2Answer.decode(#"{"action":"\#(action)","node":{"key":"/flannel-test/network/subnets/10.1.82.0-24","modifiedIndex":31,"createdIndex":20},"prevNode":{"key":"/flannel-test/network/subnets/10.1.82.0-24","value":"{\"PublicIP\":\"10.12.10.193\"}","modifiedIndex":20,"createdIndex":20}}"#)
            let batch = try #require(gone.leaseEvents(layout: layout))
            #expect(batch.revision == 31)
            #expect(batch.events == [.delete(SubnetKey(IPv4Network("10.1.82.0/24")!))], "\(action)")
        }
        let directory = try EtcdV2Answer.decode(#"{"action":"set","node":{"key":"/flannel-test/network/subnets","dir":true,"modifiedIndex":3,"createdIndex":3}}"#)
        #expect(directory.leaseEvents(layout: layout) == nil)
    }

    @Test func errorBodiesAreRecognisedAndOtherTextIsNot() throws {
        let cleared = try #require(EtcdV2Answer.failure(#"{"errorCode":401,"message":"The event in requested index is outdated and cleared","cause":"the requested history has been cleared [1008/7]","index":2007}"#))
        #expect(cleared.code == EtcdV2Answer.Failure.eventIndexCleared && cleared.index == 2007)
        let missing = try #require(EtcdV2Answer.failure(#"{"errorCode":100,"message":"Key not found","cause":"/flannel-test/network/config","index":4}"#))
        #expect("\(missing)" == "Key not found (/flannel-test/network/config) [etcd v2 error 100]")
        let refused = try #require(EtcdV2Answer.failure(#"{"errorCode":110,"message":"The request requires user authentication","cause":"Insufficient credentials","index":0}"#))
        #expect(refused.code == EtcdV2Answer.Failure.unauthorized)
        #expect(EtcdV2Answer.failure("404 page not found\n") == nil)
        #expect(EtcdV2Answer.failure(#"{"message":"Insufficient credentials"}"#) == nil)
        #expect(throws: EtcdV2Answer.Unreadable.self) { try EtcdV2Answer.decode("<html>") }
        #expect(throws: EtcdV2Answer.Unreadable.self) { try EtcdV2Answer.decode(#"{"node":{}}"#) }
    }

    @Test func formsAndPathsAreEscaped() {
        #expect(EtcdV2Client.encode([("value", #"{"PublicIP":"10.12.10.193"}"#), ("ttl", "60")])
            == "value=%7B%22PublicIP%22%3A%2210.12.10.193%22%7D&ttl=60")
        #expect(EtcdV2Client.escapePath("/flannel-test/network/subnets/10.1.82.0-24") == "/flannel-test/network/subnets/10.1.82.0-24")
        #expect(EtcdV2Client.escapePath("/a b/c?d") == "/a%20b/c%3Fd")
    }

    @Test func theRefusalSaysWhatToCheck() {
        let text = "\(EtcdError.v2AccessRefused(key: "/flannel-test/network/config", user: "nobody"))"
        #expect(text.contains("user \"nobody\"") && text.contains("password") && text.contains("-readwrite"))
    }
}
