import Crypto
import FoundationEssentials
import Glibc

/// The host's WireGuard private key, in a file that outlives restarts so that peers keep
/// their sessions and their entries for us: upstream's `/run/flannel/wgkey` (overridden by
/// `WIREGUARD_KEY_FILE`), base64 of 32 bytes. Made on first use, readable by root only.
struct WireGuardKeyFile {
    static let defaultPath = "/run/flannel/wgkey"

    let path: String

    init(environment: [String: String]) {
        path = environment["WIREGUARD_KEY_FILE"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultPath
    }

    init(path: String) {
        self.path = path
    }

    /// The key in the file, or a new one written to it; `created` says which.
    func loadOrCreate() throws(WireGuardSetupError) -> (privateKey: WireGuardSecret, publicKey: WireGuardKey, created: Bool) {
        if let text = try read() {
            guard let read = WireGuardKey(base64: text.trimmingWhitespace()) else {
                throw WireGuardSetupError("the WireGuard key file \(path) does not hold base64 of 32 bytes; fix it, or delete it to make a new key (peers learn the new one from our lease)")
            }
            // Clamped as the kernel stores it, so that the key read back from the device equals ours.
            let key = Self.clamped(read)
            return (WireGuardSecret(key), try publicKey(of: key), false)
        }
        let key = Self.newPrivateKey()
        try write(key)
        return (WireGuardSecret(key), try publicKey(of: key), true)
    }

    /// A random Curve25519 private key, clamped as `wg genkey` writes it.
    static func newPrivateKey() -> WireGuardKey {
        clamped(WireGuardKey(bytes: Array(Curve25519.KeyAgreement.PrivateKey().rawRepresentation))!)
    }

    /// Curve25519's clamping (RFC 7748 §5): the same key, as every WireGuard stores it.
    static func clamped(_ key: WireGuardKey) -> WireGuardKey {
        var bytes = key.bytes
        bytes[0] &= 248
        bytes[31] = (bytes[31] & 127) | 64
        return WireGuardKey(bytes: bytes)!
    }

    func publicKey(of key: WireGuardKey) throws(WireGuardSetupError) -> WireGuardKey {
        do {
            let privateKey = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: key.bytes)
            return WireGuardKey(bytes: Array(privateKey.publicKey.rawRepresentation))!
        } catch {
            throw WireGuardSetupError("cannot derive a public key from the key in \(path): \(error)")
        }
    }

    private func read() throws(WireGuardSetupError) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw WireGuardSetupError("cannot read the WireGuard key file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw WireGuardSetupError("cannot read the WireGuard key file \(path): \(String(cString: strerror(errno)))") }
            if count == 0 { break }
            bytes += buffer[..<count]
            guard bytes.count <= 4096 else { throw WireGuardSetupError("the WireGuard key file \(path) is over 4 KiB: not a key; delete it to make a new one") }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Written to a temporary file, mode 0600 from the start, then renamed into place.
    private func write(_ key: WireGuardKey) throws(WireGuardSetupError) {
        let folder = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        if !folder.isEmpty {
            do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
                throw WireGuardSetupError("cannot make \(folder) for the WireGuard key file: \(error)")
            }
        }
        var template = Array("\(folder.isEmpty ? "." : folder)/.wgkey.XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else { throw WireGuardSetupError("cannot create a temporary key file in \(folder): \(String(cString: strerror(errno)))") }
        let temporary = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let bytes = Array(key.base64.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let synced = fchmod(fd, 0o600) == 0 && fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw WireGuardSetupError("cannot write the WireGuard key file \(path): \(reason)")
        }
    }
}
