import Foundation
import Testing

/// The core target declares no dependencies, but Swift on Linux lets any target import the
/// toolchain's own modules (Foundation, Glibc, Dispatch) without declaring them. This closes
/// that door: a clock, a socket or a file must come into the core as an event, never a call.
@Suite("The core has no dependencies")
struct CorePurityTests {
    static let core = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Sources/AgentCore")

    @Test("no file in Sources/AgentCore imports a module")
    func noImports() throws {
        let files = try #require(FileManager.default.enumerator(atPath: Self.core.path))
            .compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }
        #expect(files.count > 40, "the core's sources were found at \(Self.core.path)")
        var offenders: [String] = []
        for file in files {
            let text = try String(contentsOf: Self.core.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") {
                let code = line.drop { $0 == " " }
                let words = code.split(separator: " ")
                // `import X`, `@testable import X`, `@_exported import X`, `import struct X.Y`…
                if let position = words.firstIndex(of: "import"), words[..<position].allSatisfy({ $0.hasPrefix("@") }) {
                    offenders.append("\(file): \(code)")
                }
            }
        }
        #expect(offenders.isEmpty, "the core must import nothing (events in, actions out): \(offenders)")
    }
}
