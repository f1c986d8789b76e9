#if canImport(Glibc)
import Glibc
#endif

/// One line in glog's format, `Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg`, the format
/// upstream flanneld writes to standard error and to its log files; and the local-time
/// pieces the file names and headers use.
public enum GlogLine {
    /// A wall-clock instant broken into local time.
    public struct Time: Sendable, Equatable {
        public var year, month, day, hour, minute, second, microsecond: Int

        public init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, microsecond: Int) {
            (self.year, self.month, self.day) = (year, month, day)
            (self.hour, self.minute, self.second, self.microsecond) = (hour, minute, second, microsecond)
        }

        /// Now, in the local time zone (as glog stamps its lines).
        public static func now() -> Time {
            var spec = timespec()
            clock_gettime(CLOCK_REALTIME, &spec)
            var seconds = spec.tv_sec
            var broken = tm()
            localtime_r(&seconds, &broken)
            return Time(year: Int(broken.tm_year) + 1900, month: Int(broken.tm_mon) + 1, day: Int(broken.tm_mday),
                        hour: Int(broken.tm_hour), minute: Int(broken.tm_min), second: Int(broken.tm_sec),
                        microsecond: Int(spec.tv_nsec) / 1000)
        }

        /// `20261206-201352`, as in glog's file names.
        public var fileStamp: String {
            "\(pad(year, 4))\(pad(month, 2))\(pad(day, 2))-\(pad(hour, 2))\(pad(minute, 2))\(pad(second, 2))"
        }

        /// `2026/12/06 20:13:52`, as in glog's file header.
        public var headerStamp: String {
            "\(pad(year, 4))/\(pad(month, 2))/\(pad(day, 2)) \(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))"
        }
    }

    /// The line, newline included. Newlines inside the message are kept as glog keeps them;
    /// `file` is shortened to its last path component.
    public static func format(severity: GlogSeverity, time: Time, threadID: Int, file: String, line: UInt, message: String) -> String {
        let base = file.split(separator: "/").last.map(String.init) ?? file
        let id = String(threadID)
        let paddedID = String(repeating: " ", count: max(0, 7 - id.count)) + id
        return "\(severity.letter)\(pad(time.month, 2))\(pad(time.day, 2)) \(pad(time.hour, 2)):\(pad(time.minute, 2)):\(pad(time.second, 2)).\(pad(time.microsecond, 6)) \(paddedID) \(base):\(line)] \(message)\n"
    }
}

private func pad(_ value: Int, _ width: Int) -> String {
    let text = String(value)
    return String(repeating: "0", count: max(0, width - text.count)) + text
}
