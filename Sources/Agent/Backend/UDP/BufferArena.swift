/// One forwarding thread's buffers, carved from a single allocation that its owner frees at
/// once (`deallocate()`) when the thread ends. Memory comes uninitialized; a buffer that must
/// start zeroed is zeroed by whoever takes it.
struct BufferArena {
    private let start: UnsafeMutableRawPointer
    private let capacity: Int
    private var used = 0

    /// Room for `byteCount` bytes in all, alignment padding included.
    init(byteCount: Int) {
        capacity = byteCount
        start = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 4096)
    }

    func deallocate() { start.deallocate() }

    /// The next `byteCount` bytes, aligned to `alignment` (a power of two).
    mutating func take(_ byteCount: Int, alignment: Int = 64) -> UnsafeMutableRawBufferPointer {
        let offset = (used + alignment - 1) & ~(alignment - 1)
        precondition(offset + byteCount <= capacity, "BufferArena: \(byteCount) bytes do not fit (\(capacity - offset) left)")
        used = offset + byteCount
        return UnsafeMutableRawBufferPointer(start: start + offset, count: byteCount)
    }

    mutating func take<Element>(_ count: Int, of _: Element.Type) -> UnsafeMutablePointer<Element> {
        take(count * MemoryLayout<Element>.stride, alignment: max(MemoryLayout<Element>.alignment, 64))
            .baseAddress!.bindMemory(to: Element.self, capacity: count)
    }
}
