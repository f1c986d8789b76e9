import Foundation

/// The flanneld binary a conformance report is about, and how it is run: the etcd API it
/// speaks (0.7.0: v2 only) and its name for the report.
public struct ConformanceSubject: Sendable {
    public var binary: String
    public var name: String
    public var etcdV2: Bool

    public init(binary: String, name: String, etcdV2: Bool) {
        self.binary = binary
        self.name = name
        self.etcdV2 = etcdV2
    }

    /// From the binary's `--version`: "v0.7.0" speaks etcd v2 only; anything else (0.20.2,
    /// ours) is run on v3.
    public static func detect(binary: String) throws -> ConformanceSubject {
        let version = (try? CommandRunner.run([binary, "--version"]))
        let text = ((version?.stdout ?? "") + (version?.stderr ?? "")).split(separator: "\n").first.map(String.init) ?? ""
        let name = text.hasPrefix("v0.") ? "upstream \(text)" : text.isEmpty ? URL(fileURLWithPath: binary).lastPathComponent : text
        return ConformanceSubject(binary: binary, name: name, etcdV2: text.hasPrefix("v0.7"))
    }
}
