import Glibc

/// A detached OS thread running a closure: the udp proxy's two forwarding loops, which block
/// in poll(2) and must never sit on Swift's cooperative pool. (Foundation's `Thread` does the
/// same, at the price of linking all of Foundation.)
enum OSThread {
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

    static func detach(_ body: @escaping @Sendable () -> Void) throws(Refused) {
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
        pthread_detach(thread)
    }
}
