#if canImport(Glibc)
import Glibc
#endif

/// One thread's buffers carved from a single region the kernel is asked to back with 2 MB
/// pages (`MADV_HUGEPAGE`), so an idle thread's wake-up touches one TLB entry for all of them
/// rather than one per 4 KB page (each miss costs most on a VM, whose page walks are nested).
/// Where transparent huge pages are off, it is ordinary memory. Not thread-safe: one owner.
final class HugePageArena {
    static let hugePage = 2 << 20

    private let mapping: UnsafeMutableRawPointer?
    private let mappedBytes: Int
    private let start: UnsafeMutableRawPointer
    private let capacity: Int
    private var used = 0

    /// Room for `byteCount` bytes in all (each `take` may add up to its alignment in padding).
    init(byteCount: Int) {
        capacity = (byteCount + Self.hugePage - 1) / Self.hugePage * Self.hugePage
        // One huge page more than needed, so the region can start on a 2 MB boundary; the
        // part before it is never touched and costs no memory.
        mappedBytes = capacity + Self.hugePage
        let region = mmap(nil, mappedBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        if let region, region != MAP_FAILED {
            mapping = region
            let aligned = (Int(bitPattern: region) + Self.hugePage - 1) / Self.hugePage * Self.hugePage
            start = UnsafeMutableRawPointer(bitPattern: aligned)!
            _ = madvise(start, capacity, MADV_HUGEPAGE)
        } else {
            mapping = nil
            start = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 4096)
            start.initializeMemory(as: UInt8.self, repeating: 0, count: capacity)
        }
    }

    deinit {
        if let mapping {
            _ = munmap(mapping, mappedBytes)
        } else {
            start.deallocate()
        }
    }

    /// The next `byteCount` bytes, aligned to `alignment` (a power of two), zeroed.
    func take(_ byteCount: Int, alignment: Int = 64) -> UnsafeMutableRawBufferPointer {
        let offset = (used + alignment - 1) & ~(alignment - 1)
        precondition(offset + byteCount <= capacity, "HugePageArena: \(byteCount) bytes do not fit (\(capacity - offset) left)")
        used = offset + byteCount
        return UnsafeMutableRawBufferPointer(start: start + offset, count: byteCount)
    }

    func take<Element>(_ count: Int, of _: Element.Type) -> UnsafeMutablePointer<Element> {
        take(count * MemoryLayout<Element>.stride, alignment: max(MemoryLayout<Element>.alignment, 64))
            .baseAddress!.bindMemory(to: Element.self, capacity: count)
    }
}
