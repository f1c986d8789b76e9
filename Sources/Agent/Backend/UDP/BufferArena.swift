/// One forwarding thread's buffers, carved from a single allocation that its owner frees at
/// once (`deallocate()`) when the thread ends. Memory comes uninitialized; a buffer that must
/// start zeroed is zeroed by whoever takes it.
struct BufferArena {
    /// Where every buffer starts: a cache line, so no two buffers share one.
    static let alignment = 64

    private let start: UnsafeMutableRawPointer
    private let capacity: Int
    private var used = 0

    /// Room for `byteCount` bytes in all, alignment padding included.
    private init(byteCount: Int) {
        capacity = byteCount
        start = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 4096)
    }

    /// An arena with exactly the room for buffers of these sizes, taken in this order.
    init(holding sizes: [Int]) {
        self.init(byteCount: Self.byteCount(holding: sizes))
    }

    /// The bytes buffers of these sizes take, in this order, each starting on an
    /// `alignment` boundary.
    static func byteCount(holding sizes: [Int]) -> Int {
        sizes.reduce(0) { total, size in (total + alignment - 1) / alignment * alignment + size }
    }

    /// Bytes not taken yet.
    var unused: Int { capacity - used }

    func deallocate() { start.deallocate() }

    /// The next `byteCount` bytes, on an `alignment` boundary.
    mutating func take(_ byteCount: Int) -> UnsafeMutableRawBufferPointer {
        let offset = (used + Self.alignment - 1) / Self.alignment * Self.alignment
        precondition(offset + byteCount <= capacity, "BufferArena: \(byteCount) bytes do not fit (\(capacity - offset) left)")
        used = offset + byteCount
        return UnsafeMutableRawBufferPointer(start: start + offset, count: byteCount)
    }

    mutating func take<Element>(_ count: Int, of _: Element.Type) -> UnsafeMutablePointer<Element> {
        precondition(MemoryLayout<Element>.alignment <= Self.alignment, "BufferArena: \(Element.self) needs a wider alignment")
        return take(count * MemoryLayout<Element>.stride).baseAddress!.bindMemory(to: Element.self, capacity: count)
    }
}
