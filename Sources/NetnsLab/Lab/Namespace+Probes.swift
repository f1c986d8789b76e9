import Agent

extension Namespace {
    /// A UDP datagram from this namespace to `address` (port 9, where nothing listens):
    /// "errno 111" when the destination answered port unreachable (it is reachable),
    /// "errno 101" when a proxy on the way answered net unreachable (reported to a socket with
    /// IP_RECVERR as ENETUNREACH), "timeout" when nothing came back within 3 s.
    public func udpProbe(to address: IPv4Address) throws -> String {
        try run(["python3", "-c", """
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.IPPROTO_IP, 11, 1)
            s.settimeout(3)
            s.connect(('\(address)', 9))
            s.send(b'anyone?')
            try:
                s.recv(100)
                print('answered')
            except socket.timeout:
                print('timeout')
            except OSError as e:
                print('errno', e.errno)
            """]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
