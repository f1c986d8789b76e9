// Helpers shared by the fuzz targets: reading structured values from the fuzz bytes, a small
// deterministic generator to expand a few bytes into large inputs, checks that stop the run
// with a message libFuzzer reports as a crash, and exactly-sized copies (ASan's redzones
// start right after the last byte).

#if canImport(Glibc)
import Glibc
#endif

/// Stops the run: libFuzzer records the input as a crash artifact.
func fuzzFailure(_ message: String) -> Never {
    fatalError("fuzz invariant broken: \(message)")
}

/// An invariant of the code under test. `fatalError` (not `precondition`) keeps the message in
/// optimised builds.
@inline(__always)
func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fuzzFailure(message()) }
}

/// An invariant that a known, reported finding breaks. It fails like `check` unless its id is
/// listed in `FLANNEL_FUZZ_TOLERATE` (comma-separated), which lets a run measure the rest of a
/// target while the fix is pending. Every id is listed in Fuzz/README.md.
enum Finding {
    static let tolerated: Set<String> = {
        guard let raw = getenv("FLANNEL_FUZZ_TOLERATE") else { return [] }
        return Set(String(cString: raw).split(separator: ",").map { String($0) })
    }()

    @inline(__always)
    static func check(_ id: String, _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
        if !condition() && !tolerated.contains(id) { fuzzFailure("[\(id)] \(message())") }
    }
}

/// Reads the fuzz bytes front to back; past the end every read gives zeros, so any input
/// decodes to something.
struct FuzzReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var position = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var remaining: Int { bytes.count - position }
    var isEmpty: Bool { position >= bytes.count }

    mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func bool() -> Bool { byte() & 1 == 1 }

    mutating func u16() -> UInt16 { UInt16(byte()) << 8 | UInt16(byte()) }

    mutating func u32() -> UInt32 { UInt32(u16()) << 16 | UInt32(u16()) }

    mutating func u64() -> UInt64 { UInt64(u32()) << 32 | UInt64(u32()) }

    /// A number in `range`, from as many bytes as the range needs.
    mutating func int(in range: ClosedRange<Int>) -> Int {
        let span = UInt64(range.upperBound - range.lowerBound)
        if span == 0 { return range.lowerBound }
        let raw = span < 0x100 ? UInt64(byte()) : span < 0x1_0000 ? UInt64(u16()) : span < 0x1_0000_0000 ? UInt64(u32()) : u64()
        return range.lowerBound + Int(raw % (span &+ 1 == 0 ? UInt64.max : span + 1))
    }

    /// Up to `count` bytes (fewer at the end).
    mutating func take(_ count: Int) -> [UInt8] {
        let end = min(bytes.count, position + max(0, count))
        defer { position = end }
        return Array(bytes[position..<end])
    }

    /// A length-prefixed chunk (one length byte; 255 means "two more length bytes").
    mutating func chunk() -> [UInt8] {
        var length = Int(byte())
        if length == 255 { length = Int(u16()) }
        return take(length)
    }

    mutating func rest() -> [UInt8] { take(remaining) }
}

/// SplitMix64: expands a seed from the fuzz bytes into as many bytes as an input needs (a
/// 60 KB payload from eight bytes), deterministically, so a crash input reproduces.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        let words = (count + 7) / 8
        var out = [UInt8](repeating: 0, count: words * 8)
        out.withUnsafeMutableBytes { raw in
            for index in 0..<words { raw.storeBytes(of: next(), toByteOffset: index * 8, as: UInt64.self) }
        }
        out.removeLast(words * 8 - count)
        return out
    }
}

/// Runs `body` over a fresh heap copy of exactly `bytes.count` bytes (at least one byte is
/// allocated, but the buffer handed over has the exact count): a read or write past the end
/// lands in ASan's redzone.
func withExactCopy<R>(of bytes: [UInt8], _ body: (UnsafeMutableRawBufferPointer) -> R) -> R {
    let count = bytes.count
    let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
    defer { storage.deallocate() }
    let buffer = UnsafeMutableRawBufferPointer(rebasing: storage[0..<count])
    bytes.withUnsafeBytes { source in
        if let base = source.baseAddress, count > 0 { buffer.baseAddress!.copyMemory(from: base, byteCount: count) }
    }
    return body(buffer)
}

/// An exact-size zeroed buffer.
func withExactBuffer<R>(count: Int, _ body: (UnsafeMutableRawBufferPointer) -> R) -> R {
    let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
    defer { storage.deallocate() }
    storage.initializeMemory(as: UInt8.self, repeating: 0)
    return body(UnsafeMutableRawBufferPointer(rebasing: storage[0..<count]))
}

/// The input as text: invalid UTF-8 is repaired (U+FFFD), as `String(decoding:)` does for
/// every body the agent reads.
func text(_ bytes: some Collection<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

/// The big-endian 16-bit word at `offset` from the start.
func word(_ bytes: [UInt8], _ offset: Int) -> UInt16 { UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]) }

func word(_ bytes: ArraySlice<UInt8>, _ offset: Int) -> UInt16 {
    UInt16(bytes[bytes.startIndex + offset]) << 8 | UInt16(bytes[bytes.startIndex + offset + 1])
}

// Byte comparisons through memcmp: a Swift loop over 64 KB would be traced compare by compare
// by the fuzzer's coverage instrumentation, which costs more than the code under test.

func sameBytes(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Bool {
    guard a.count == b.count else { return false }
    guard !a.isEmpty else { return true }
    return a.withUnsafeBytes { x in b.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } }
}

func sameBytes(_ a: [UInt8], _ b: [UInt8]) -> Bool { sameBytes(a[...], b[...]) }

/// Equal but (perhaps) at `offsets` (ascending, relative to the starts).
func sameBytes(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>, except offsets: [Int]) -> Bool {
    guard a.count == b.count else { return false }
    var start = 0
    for offset in offsets where offset >= start && offset < a.count {
        guard sameBytes(a[(a.startIndex + start)..<(a.startIndex + offset)], b[(b.startIndex + start)..<(b.startIndex + offset)]) else { return false }
        start = offset + 1
    }
    return sameBytes(a[(a.startIndex + start)...], b[(b.startIndex + start)...])
}

func sameBytes(_ a: [UInt8], _ b: [UInt8], except offsets: [Int]) -> Bool { sameBytes(a[...], b[...], except: offsets) }

func setWord(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt16) {
    bytes[offset] = UInt8(value >> 8)
    bytes[offset + 1] = UInt8(truncatingIfNeeded: value)
}

func hex(_ bytes: some Sequence<UInt8>, limit: Int = 64) -> String {
    let digits = Array("0123456789abcdef")
    var out = ""
    for (index, byte) in bytes.enumerated() {
        if index == limit { out += "…"; break }
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 15)])
    }
    return out
}
