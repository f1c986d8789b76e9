/// Folders made invisible to a command: each gets an empty read-only tmpfs mounted over it in
/// a private mount namespace of the command's own, so a packaged flanneld can be shown to run
/// without the Swift toolchain (`/opt/swift`) while the rest of the machine keeps it.
public struct HiddenPaths: Sendable, Equatable {
    public var paths: [String]

    public init(_ paths: [String]) { self.paths = paths }

    public static let none = HiddenPaths([])

    /// `command`, run with the paths hidden (unchanged when there are none). A path that
    /// cannot be covered stops the command with exit 125 rather than running it unhidden.
    public func wrap(_ command: [String]) -> [String] {
        guard !paths.isEmpty else { return command }
        let mounts = paths.map { "mount -t tmpfs -o ro,size=4k flannel-hidden \($0.shellQuoted) || exit 125" }.joined(separator: "; ")
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", "\(mounts); exec \"$@\"", "hide"] + command
    }
}
