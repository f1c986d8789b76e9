import Foundation

/// Writes subnet.env atomically (a temporary file in the same folder, then rename), mode 0644,
/// creating the folder if needed, so a reader never sees half a file.
public enum SubnetFileWriter {
    public static func write(_ file: SubnetFile, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
        try Data(file.rendered.utf8).write(to: temporary)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: temporary.path)
        guard rename(temporary.path, url.path) == 0 else {
            let error = SystemError(call: "rename", object: "\(temporary.path) → \(path)", errno: errno)
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    /// The subnet a previous run wrote, if the file exists and names one.
    public static func previousSubnet(at path: String) -> IPv4Network? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return SubnetFile.previousSubnet(in: text)
    }
}
