@testable import AgentCore
@testable import Agent
import Foundation
import Testing

/// `--etcd-api`: which store's config the agent uses, and sd_notify.
@Suite("etcd API choice and systemd readiness")
struct EtcdAPIChoiceTests {
    let layout = EtcdKeyLayout(prefix: "/flannel-test/network")
    let config = #"{ "Network": "10.1.0.0/16" }"#

    func decide(_ api: EtcdAPI = .auto, v3: Result<String?, EtcdError>, v2: Result<String?, EtcdError>? = nil) -> EtcdConfigSource {
        EtcdConfigSource.decide(api: api, first: (.v3, v3), second: v2.map { (.v2, $0) }, layout: layout)
    }

    @Test func autoUsesV3WheneverV3HasTheConfigAndV2OnlyWhenV3HasNone() {
        #expect(decide(v3: .success(config)) == .use(.v3, text: config))
        #expect(decide(v3: .success(nil), v2: .success(config)) == .use(.v2, text: config))
        guard case let .wait(problem) = decide(v3: .success(nil), v2: .success(nil)) else { Issue.record("should wait"); return }
        #expect(problem.contains("etcdctl put /flannel-test/network/config") && problem.contains("etcdctl set"))
    }

    @Test func aFailingV3NeverSendsTheAgentToV2() {
        // The daemon asks v2 only after v3 answered "no config"; with a v3 error it waits.
        guard case let .wait(problem) = decide(v3: .failure(.unavailable("connection refused"))) else { Issue.record("should wait"); return }
        #expect(problem.contains("connection refused"))
    }

    @Test func refusalsEndTheAgentAndSayWhichAPIRefused() {
        guard case let .fail(v3) = decide(v3: .failure(.authenticationFailed(user: "flannel-test"))) else { Issue.record("v3"); return }
        #expect(v3.contains("flannel-test"))
        guard case let .fail(v2) = decide(v3: .success(nil), v2: .failure(.v2AccessRefused(key: layout.configKey, user: "intruder"))) else {
            Issue.record("v2"); return
        }
        #expect(v2.contains("intruder") && v2.contains("--etcd-api=v3"))
    }

    @Test func anEtcdWithoutTheV2APIIsJustWaitedOn() {
        let off = EtcdError.badResponse(endpoint: "http://127.0.0.1:2379", reason: EtcdError.v2Off + " (start etcd 3.4 with --enable-v2)")
        guard case let .wait(problem) = decide(v3: .success(nil), v2: .failure(off)) else { Issue.record("should wait"); return }
        #expect(problem.contains("no v2 API") && !problem.contains("etcdctl set"))
        guard case let .wait(other) = decide(v3: .success(nil), v2: .failure(.unavailable("timeout"))) else { Issue.record("should wait"); return }
        #expect(other.contains("etcd v2 API: etcd is unavailable: timeout"))
    }

    @Test func readinessReachesTheNotifySocket() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fl-notify-\(UUID().uuidString.prefix(8))").path
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd); unlink(path) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        try #require(bound == 0)
        #expect(SystemdNotify.send("READY=1", environment: ["NOTIFY_SOCKET": path]) == nil)
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        #expect(count == 7 && String(decoding: buffer.prefix(max(0, count)), as: UTF8.self) == "READY=1")
        #expect(SystemdNotify.send("READY=1", environment: [:]) == nil, "no socket: nothing to tell")
        #expect(SystemdNotify.send("READY=1", environment: ["NOTIFY_SOCKET": path + "-missing"])?.contains("sendto") == true)
    }
}
