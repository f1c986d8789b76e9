/// A network device as the kernel names it: index (what netlink objects refer to) and name
/// (what people read).
public struct KernelDevice: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var index: Int
    public var name: String

    public init(index: Int, name: String) {
        self.index = index
        self.name = name
    }

    public var description: String { name }

    public static func < (lhs: KernelDevice, rhs: KernelDevice) -> Bool { lhs.index < rhs.index }
}
