import Foundation

/// A throwaway PKI made with openssl at test time: a CA, a server certificate for 127.0.0.1,
/// a client certificate whose CommonName is a user name (as in the walkthrough, where the
/// gateway trips over exactly that), and an unrelated CA to provoke "unknown authority".
public struct TestCertificates: Sendable {
    public let directory: URL
    public var caFile: String { path("ca.pem") }
    public var serverCertFile: String { path("server.pem") }
    public var serverKeyFile: String { path("server-key.pem") }
    public var clientCertFile: String { path("client.pem") }
    public var clientKeyFile: String { path("client-key.pem") }
    public var otherCAFile: String { path("other-ca.pem") }
    public var otherClientCertFile: String { path("other-client.pem") }
    public var otherClientKeyFile: String { path("other-client-key.pem") }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Generates everything (about a second: EC P-256 keys).
    /// `serverAddresses` go into the server certificate's names (127.0.0.1 always).
    public init(clientCommonName: String = "flannel-test", serverAddresses: [String] = []) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fl-pki-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let dir = directory.path
        func openssl(_ arguments: [String]) throws {
            try CommandRunner.check(["openssl"] + arguments)
        }
        func key(_ name: String) throws {
            try openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "\(dir)/\(name)"])
        }
        func ca(_ prefix: String, subject: String) throws {
            try key("\(prefix)-key.pem")
            try openssl(["req", "-x509", "-new", "-key", "\(dir)/\(prefix)-key.pem", "-out", "\(dir)/\(prefix).pem",
                         "-days", "2", "-subj", subject,
                         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        }
        func leaf(_ name: String, subject: String, signer: String, extensions: String) throws {
            try key("\(name)-key.pem")
            try openssl(["req", "-new", "-key", "\(dir)/\(name)-key.pem", "-out", "\(dir)/\(name).csr", "-subj", subject])
            let extFile = "\(dir)/\(name).ext"
            try extensions.write(toFile: extFile, atomically: true, encoding: .utf8)
            try openssl(["x509", "-req", "-in", "\(dir)/\(name).csr", "-CA", "\(dir)/\(signer).pem", "-CAkey", "\(dir)/\(signer)-key.pem",
                         "-CAcreateserial", "-out", "\(dir)/\(name).pem", "-days", "2", "-extfile", extFile])
        }
        try ca("ca", subject: "/CN=flannel lab CA")
        try ca("other-ca", subject: "/CN=someone else's CA")
        try leaf("server", subject: "/CN=etcd", signer: "ca", extensions: """
            basicConstraints=CA:FALSE
            keyUsage=critical,digitalSignature,keyEncipherment
            extendedKeyUsage=serverAuth,clientAuth
            subjectAltName=\((["127.0.0.1"] + serverAddresses).map { "IP:\($0)" }.joined(separator: ",")),DNS:localhost

            """)
        try leaf("client", subject: "/CN=\(clientCommonName)", signer: "ca", extensions: """
            basicConstraints=CA:FALSE
            keyUsage=critical,digitalSignature,keyEncipherment
            extendedKeyUsage=clientAuth

            """)
        try leaf("other-client", subject: "/CN=\(clientCommonName)", signer: "other-ca", extensions: """
            basicConstraints=CA:FALSE
            keyUsage=critical,digitalSignature,keyEncipherment
            extendedKeyUsage=clientAuth

            """)
    }

    public func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
