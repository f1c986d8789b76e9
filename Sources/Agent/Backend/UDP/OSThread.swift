import Glibc

/// An OS thread running a closure: the udp proxy's two forwarding loops, which block
/// in poll(2) and must never sit on Swift's cooperative pool. (Foundation's `Thread` does the
/// same, at the price of linking all of Foundation.)
struct OSThread {
    private let thread: pthread_t

    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// pthread_create's refusal (EAGAIN: the thread limit, or memory).
    struct Refused: Error, CustomStringConvertible {
        var code: Int32
        var description: String {
            "cannot start a forwarding thread (pthread_create: \(String(cString: strerror(code)))); raise the process's thread or memory limit"
        }
    }

    /// Starts `body` on a new thread; `detach()` or `join()` it.
    static func start(_ body: @escaping @Sendable () -> Void) throws(Refused) -> OSThread {
        let box = Unmanaged.passRetained(Body(body)).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { raw in
            Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, box)
        guard created == 0 else {
            Unmanaged<Body>.fromOpaque(box).release()
            throw Refused(code: created)
        }
        return OSThread(thread: thread)
    }

    /// Lets the thread end on its own.
    func detach() {
        pthread_detach(thread)
    }

    /// Waits for the thread to end.
    func join() {
        pthread_join(thread, nil)
    }
}
