import Agent
import Foundation
import NetnsLab
import Testing

/// The real client against a real etcd set up as in the walkthrough: TLS, client certificates
/// required, a client certificate with a CommonName, and RBAC with a user limited to the
/// flannel prefix. Plus every way a TLS setup goes wrong, each with a message that says what
/// to do.
@Suite("etcd client: TLS, auth, failover (real etcd)", .serialized, .enabled(if: LabGate.shouldRun))
struct EtcdClientTLSTests {
    static func client(_ url: String, ca: String? = nil, cert: String? = nil, key: String? = nil,
                       user: String? = nil, password: String? = nil, timeout: Duration = .seconds(3)) throws -> EtcdV3Client {
        try EtcdV3Client(configuration: EtcdClientConfiguration(
            endpoints: EtcdEndpoint.parseList(url), caFile: ca, certFile: cert, keyFile: key,
            username: user, password: password, requestTimeout: timeout))
    }

    /// The error's text, for asserting on the message a user reads.
    static func failure(_ body: () async throws -> Void) async -> String {
        do {
            try await body()
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func walkthroughSetupTLSClientCertWithCommonNameAndAUserLimitedToThePrefix() async throws {
        guard LabGate.requireRoot() else { return }
        let pki = try TestCertificates(clientCommonName: "flannel-test")
        defer { pki.remove() }
        let etcd = try EtcdProcess(options: .init(tls: pki))
        defer { etcd.remove() }
        try etcd.etcdctl(["put", "/flannel-test/network/config", #"{ "Network": "10.1.0.0/16" }"#])
        try etcd.enableAuth(user: "flannel-test", password: "mypassword", role: "role-flannel", prefix: "/flannel-test/")

        let client = try Self.client(etcd.clientURL, ca: pki.caFile, cert: pki.clientCertFile, key: pki.clientKeyFile,
                                     user: "flannel-test", password: "mypassword")
        let registry = EtcdRegistry(kv: client, layout: EtcdKeyLayout(prefix: "/flannel-test/network"))
        #expect(try await registry.networkConfig() == #"{ "Network": "10.1.0.0/16" }"#)
        let key = SubnetKey(IPv4Network("10.1.82.0/24")!)
        #expect(try await registry.createLease(key, attributes: LeaseAttributes(publicIP: IPv4Address(10, 12, 10, 200)), ttl: .seconds(60)) != nil)
        let listed = try etcd.etcdctl(["get", "/flannel-test/network/subnets/10.1.82.0-24", "--print-value-only"]).stdout
        #expect(listed.contains(#"{"PublicIP":"10.12.10.200","PublicIPv6":null}"#))

        // Outside the role's prefix: refused, and the message says what the role needs.
        let outside = EtcdRegistry(kv: client, layout: EtcdKeyLayout())
        let denied = await Self.failure { _ = try await outside.networkConfig() }
        #expect(denied.contains("denied access to /coreos.com/network/config"), "\(denied)")
        #expect(denied.contains("readwrite"))

        // A user without the role is refused with a message that says so.
        try etcd.etcdctl(["user", "add", "nobody", "--interactive=false", "--new-user-password=pw"])
        let nobody = try Self.client(etcd.clientURL, ca: pki.caFile, cert: pki.clientCertFile, key: pki.clientKeyFile,
                                     user: "nobody", password: "pw")
        let refused = await Self.failure { _ = try await EtcdRegistry(kv: nobody, layout: EtcdKeyLayout(prefix: "/flannel-test/network")).networkConfig() }
        #expect(refused.contains("denied access"), "\(refused)")
        let badPassword = try Self.client(etcd.clientURL, ca: pki.caFile, cert: pki.clientCertFile, key: pki.clientKeyFile,
                                          user: "flannel-test", password: "wrong")
        let rejected = await Self.failure { _ = try await badPassword.range(key: "/flannel-test/network/config") }
        #expect(rejected.contains("rejected the credentials of user \"flannel-test\""), "\(rejected)")

        // etcd restarts: simple tokens vanish; the client authenticates again by itself.
        etcd.kill()
        try etcd.start()
        #expect(try await registry.networkConfig() == #"{ "Network": "10.1.0.0/16" }"#)
        // A watch with a token etcd no longer knows refreshes it instead of giving up.
        etcd.kill()
        try etcd.start()
        var watch = registry.watchLeases(after: 0).makeAsyncIterator()
        _ = try await registry.createLease(SubnetKey(IPv4Network("10.1.83.0/24")!),
                                           attributes: LeaseAttributes(publicIP: IPv4Address(10, 12, 10, 201)), ttl: .seconds(60))
        #expect(try await watch.next()?.events.count == 1)

        await client.close()
        await nobody.close()
        await badPassword.close()
    }

    @Test func aUsernameForAnEtcdWithoutAuthIsHarmless() async throws {
        guard LabGate.requireRoot() else { return }
        let etcd = try EtcdProcess()
        defer { etcd.remove() }
        let client = try Self.client(etcd.clientURL, user: "flannel-test", password: "mypassword")
        _ = try await client.txn(compare: [], success: [.put(key: "/k", value: "v", lease: 0)], failure: [])
        #expect(try await client.range(key: "/k").kvs.first?.value == "v")
        await client.close()
    }

    @Test func closingTheClientEndsItsWatchStreams() async throws {
        guard LabGate.requireRoot() else { return }
        let etcd = try EtcdProcess()
        defer { etcd.remove() }
        let client = try Self.client(etcd.clientURL)
        let updates = EtcdRegistry(kv: client, layout: EtcdKeyLayout()).watchLeases(after: 1)
        let drained = Task {
            var count = 0
            do { for try await _ in updates { count += 1 } } catch {}
            return count
        }
        _ = try await client.range(key: "/k")
        await client.close()
        // Fails with a timeout if the stream outlives the client (the agent would never stop).
        _ = try await withDeadline(.seconds(15), waitingFor: "the watch stream to end after close()") { await drained.value }
    }

    @Test func tlsMistakesSayWhatToFix() async throws {
        guard LabGate.requireRoot() else { return }
        let pki = try TestCertificates()
        defer { pki.remove() }
        let etcd = try EtcdProcess(options: .init(tls: pki))
        defer { etcd.remove() }

        // The server's certificate is signed by a CA we were not given.
        let wrongCA = try Self.client(etcd.clientURL, ca: pki.otherCAFile, cert: pki.clientCertFile, key: pki.clientKeyFile)
        let unknown = await Self.failure { _ = try await wrongCA.range(key: "/x") }
        #expect(unknown.contains(etcd.clientURL) && unknown.contains("--etcd-cafile"), "\(unknown)")

        // Our client certificate is signed by a CA the server does not trust.
        let strangerCert = try Self.client(etcd.clientURL, ca: pki.caFile, cert: pki.otherClientCertFile, key: pki.otherClientKeyFile)
        let refused = await Self.failure { _ = try await strangerCert.range(key: "/x") }
        #expect(refused.contains("refused the TLS handshake"), "\(refused)")

        // No client certificate where one is required.
        let noCert = try Self.client(etcd.clientURL, ca: pki.caFile)
        let missing = await Self.failure { _ = try await noCert.range(key: "/x") }
        #expect(missing.contains("--etcd-certfile"), "\(missing)")

        // A plain http:// endpoint given for a TLS server.
        let plainToTLS = try Self.client(etcd.clientURL.replacingOccurrences(of: "https://", with: "http://"))
        let plain = await Self.failure { _ = try await plainToTLS.range(key: "/x") }
        #expect(plain.contains("https://"), "\(plain)")

        // Unreadable files are refused before any connection.
        let unreadable = await Self.failure { _ = try Self.client(etcd.clientURL, ca: "/nonexistent/ca.pem") }
        #expect(unreadable == "--etcd-cafile: /nonexistent/ca.pem does not exist; give the path of a PEM file")
        let halfPair = await Self.failure { _ = try Self.client(etcd.clientURL, ca: pki.caFile, cert: pki.clientCertFile) }
        #expect(halfPair.contains("needs both --etcd-certfile and --etcd-keyfile"))

        for client in [wrongCA, strangerCert, noCert, plainToTLS] { await client.close() }
    }

    @Test func httpsGivenForAPlainServerSaysItDoesNotSpeakTLS() async throws {
        guard LabGate.requireRoot() else { return }
        let pki = try TestCertificates()
        defer { pki.remove() }
        let etcd = try EtcdProcess()
        defer { etcd.remove() }
        let client = try Self.client(etcd.clientURL.replacingOccurrences(of: "http://", with: "https://"), ca: pki.caFile)
        let message = await Self.failure { _ = try await client.range(key: "/x") }
        #expect(message.contains("does not speak TLS; use http://"), "\(message)")
        await client.close()
    }

    @Test func aDeadEndpointIsSkippedAndAllDeadListsEachWithItsReason() async throws {
        guard LabGate.requireRoot() else { return }
        let etcd = try EtcdProcess()
        defer { etcd.remove() }
        let deadPort = try FreePort.allocate()
        let dead = "http://127.0.0.1:\(deadPort)"
        let client = try Self.client("\(dead),\(etcd.clientURL)")
        _ = try await client.txn(compare: [], success: [.put(key: "/k", value: "v", lease: 0)], failure: [])
        #expect(try await client.range(key: "/k").kvs.first?.value == "v")
        await client.close()

        let otherDead = "http://127.0.0.1:\(try FreePort.allocate())"
        let none = try Self.client("\(dead),\(otherDead)")
        let message = await Self.failure { _ = try await none.range(key: "/k") }
        // Each client starts at a random endpoint (spreading a cluster's clients): both are listed.
        #expect(message.hasPrefix("etcd is unavailable: tried "), "\(message)")
        #expect(message.contains("\(dead) (") && message.contains("\(otherDead) ("), "\(message)")
        #expect(message.contains("connection refused"), "\(message)")
        await none.close()
    }

    @Test func aServerThatIsNotEtcdIsAnErrorNotACrash() async throws {
        guard LabGate.requireRoot() else { return }
        // A plain HTTP/1.1 server where etcd was expected.
        let port = try FreePort.allocate()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", "-m", "http.server", "--bind", "127.0.0.1", String(port)]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        try Poll.until("the HTTP server to listen", timeout: .seconds(10), interval: .milliseconds(50)) {
            (try? CommandRunner.run(["python3", "-c", "import socket; socket.create_connection(('127.0.0.1', \(port)), 1)"]))?.succeeded ?? false
        }
        let client = try Self.client("http://127.0.0.1:\(port)")
        let message = await Self.failure { _ = try await client.range(key: "/k") }
        #expect(message != "no error")
        #expect(message.contains("127.0.0.1:\(port)"), "\(message)")
        await client.close()
    }

    /// Kill etcd during a watch, start it again: the agent machine's watch resumes after the last
    /// revision it delivered, nothing lost, nothing repeated.
    @Test func watchSurvivesAnEtcdRestartWithoutLosingOrRepeatingEvents() async throws {
        guard LabGate.requireRoot() else { return }
        let etcd = try EtcdProcess()
        defer { etcd.remove() }
        let client = try Self.client(etcd.clientURL)
        let registry = EtcdRegistry(kv: client, layout: EtcdKeyLayout(prefix: "/flannel-test/network"))
        let start = try await registry.listLeases().revision
        let collector = Task { try await WatchOnlyAgent(registry: registry).peersAdded(after: start, count: 10) }
        let me = LeaseAttributes(publicIP: IPv4Address(192, 0, 2, 1))
        for index in 1...5 {
            _ = try await registry.createLease(SubnetKey(IPv4Network("10.1.\(index).0/24")!), attributes: me, ttl: .seconds(600))
        }
        try Poll.until("the first events to be delivered", timeout: .seconds(5)) { true }
        etcd.kill()
        try etcd.start()
        for index in 6...10 {
            _ = try await registry.createLease(SubnetKey(IPv4Network("10.1.\(index).0/24")!), attributes: me, ttl: .seconds(600))
        }
        let (keys, interruptions) = try await withDeadline(.seconds(30), waitingFor: "ten lease events") { try await collector.value }
        #expect(keys == (1...10).map { "10.1.\($0).0/24" })
        #expect(interruptions >= 1)
        collector.cancel()
        await client.close()
    }
}
