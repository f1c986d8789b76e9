import Foundation
import Synchronization

/// Ctrl-C or SIGTERM during a lab job. The signal handler only raises the flag and kills the
/// run's processes (which unblocks whatever the main thread waits for); the main thread then
/// fails out of its current step and its own cleanup (`Lab.destroy`) removes the lab, so
/// nothing is created after the cleanup has looked.
public enum LabInterruption {
    private static let flag = Atomic<Bool>(false)

    public struct Interrupted: Error, CustomStringConvertible {
        public var description: String { "interrupted" }
    }

    public static var isRaised: Bool { flag.load(ordering: .relaxed) }

    public static func raise() { flag.store(true, ordering: .relaxed) }

    /// Throws `Interrupted` once the flag is raised: called before every step that starts
    /// something or waits.
    public static func check() throws {
        if isRaised { throw Interrupted() }
    }
}
