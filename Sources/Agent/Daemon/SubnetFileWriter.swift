import FoundationEssentials
import Glibc

/// Writes subnet.env so that a reader never sees half a file and nobody can steer the write:
/// a temporary file made by mkstemp in the same folder (an unpredictable name, created
/// exclusively, so a planted link is never followed), mode 0644, flushed to disk, then renamed
/// over the old file (a link at the path itself is replaced, its target left alone) and the
/// folder flushed, so a power cut leaves the old file or the new one.
public enum SubnetFileWriter {
    public static func write(_ file: SubnetFile, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var template = Array("\(folder.path)/.\(url.lastPathComponent).XXXXXX".utf8CString)
        let descriptor = mkstemp(&template)
        guard descriptor >= 0 else { throw SystemError(call: "mkstemp", object: "a temporary file in \(folder.path)", errno: errno) }
        let temporary = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        do {
            defer { close(descriptor) }
            let bytes = Array(file.rendered.utf8)
            var written = 0
            while written < bytes.count {
                let result = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + written, $0.count - written) }
                if result < 0 && errno == EINTR { continue }
                guard result > 0 else { throw SystemError(call: "write", object: temporary, errno: errno) }
                written += result
            }
            guard fchmod(descriptor, 0o644) == 0 else { throw SystemError(call: "fchmod", object: temporary, errno: errno) }
            guard fsync(descriptor) == 0 else { throw SystemError(call: "fsync", object: temporary, errno: errno) }
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, url.path) == 0 else {
            let error = SystemError(call: "rename", object: "\(temporary) → \(path)", errno: errno)
            unlink(temporary)
            throw error
        }
        // The rename itself reaches the disk with the folder's entry.
        let directory = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            _ = fsync(directory)
            close(directory)
        }
    }

    /// The subnet a previous run wrote, if the file exists and names one.
    public static func previousSubnet(at path: String) -> IPv4Network? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return SubnetFile.previousSubnet(in: text)
    }

    /// The IPv6 subnet a previous run wrote (`FLANNEL_IPV6_SUBNET`), if any.
    public static func previousIPv6Subnet(at path: String) -> IPv6Network? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return SubnetFile.previousIPv6Subnet(in: text)
    }
}
