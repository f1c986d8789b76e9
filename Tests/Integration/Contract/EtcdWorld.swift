import Agent
import Foundation
import NetnsLab
import Sim

/// One etcd for a contract test: the in-memory fake or a real etcd process, behind the same
/// operations, so each test body runs unchanged against both.
enum EtcdFlavor: String, CaseIterable, Sendable, CustomStringConvertible {
    case inMemory = "in-memory etcd"
    case real = "real etcd"
    var description: String { rawValue }
}

final class EtcdWorld: Sendable {
    let flavor: EtcdFlavor
    let kv: any EtcdKV
    private let fake: InMemoryEtcdServer?
    let process: EtcdProcess?
    private let client: EtcdV3Client?

    init(_ flavor: EtcdFlavor) throws {
        self.flavor = flavor
        switch flavor {
        case .inMemory:
            let server = InMemoryEtcdServer()
            fake = server
            process = nil
            client = nil
            kv = server
        case .real:
            let etcd = try EtcdProcess()
            process = etcd
            fake = nil
            let client = try EtcdV3Client(configuration: EtcdClientConfiguration(
                endpoints: [EtcdEndpoint.parse(etcd.clientURL)], requestTimeout: .seconds(5)))
            self.client = client
            kv = client
        }
    }

    func close() async {
        await client?.close()
        process?.remove()
    }

    /// Waits until `condition` holds: the fake's clock moves 100 ms per step; the real etcd
    /// is polled every 100 ms of real time. `timeout` bounds both.
    func eventually(_ what: String, timeout: Duration = .seconds(15), _ condition: () async throws -> Bool) async throws {
        let steps = Int(timeout.components.seconds * 10)
        for _ in 0...steps {
            if try await condition() { return }
            if let fake {
                fake.advanceTime(by: .milliseconds(100))
            } else {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        throw Poll.TimedOut(what: what, after: timeout)
    }

    func compact(_ revision: Int64) async throws {
        if let fake {
            try fake.withStore { try $0.compact(revision) }
        } else {
            try await client!.compact(revision: revision)
        }
    }

    /// Turns on auth with a user whose role may only read/write `prefix`, and returns that
    /// user's view.
    func userLimited(to prefix: String, user: String = "flannel-test", password: String = "mypassword") async throws -> any EtcdKV {
        if let fake {
            fake.addUser(user, password: password, readWritePrefixes: [prefix])
            return try fake.session(user: user, password: password)
        }
        try process!.enableAuth(user: user, password: password, role: "role-flannel", prefix: prefix)
        return try EtcdV3Client(configuration: EtcdClientConfiguration(
            endpoints: [EtcdEndpoint.parse(process!.clientURL)], username: user, password: password))
    }

    /// A view with the wrong password, which must be refused.
    func wrongPassword(user: String = "flannel-test") async throws -> any EtcdKV {
        if let fake {
            return try fake.session(user: user, password: "wrong")
        }
        return try EtcdV3Client(configuration: EtcdClientConfiguration(
            endpoints: [EtcdEndpoint.parse(process!.clientURL)], username: user, password: "wrong"))
    }
}
