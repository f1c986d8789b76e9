import Agent
import Foundation
import Synchronization

/// Debian's docker engine (`docker.io`) running inside one lab host, as on the walkthrough's
/// hosts: in the host's network namespace (docker0, its veths and its iptables rules are the
/// host's) and a private mount namespace whose `/run` and `/etc/docker` are its own, so two
/// engines on one machine share no socket, pid file, containerd state or key, and nothing of
/// theirs lands in the root namespace's files. Started with `nsenter --net` rather than
/// `ip netns exec`, which remounts /sys and so hides the cgroup mounts dockerd needs. vfs
/// storage under the host's folder; containers' cgroups under `/<run>-h<N>`, where cleanup
/// finds them even after a crash. One effect reaches beyond the lab: where the kernel has
/// br_netfilter as a module that is not loaded, dockerd loads it (machine-wide, and it stays).
public final class DockerEngine: Sendable {
    public static let dockerd = "/usr/sbin/dockerd"
    /// Debian's client of the same release (a newer one may sit earlier on PATH).
    public static let client = "/usr/bin/docker"
    public static let busybox = "/bin/busybox"
    /// The image every lab container runs: busybox-static's one binary and its applets.
    public static let image = "lab-busybox:latest"

    public let namespace: Namespace
    public let directory: URL
    /// The containers' cgroup parent (no leading slash), named after the lab host.
    public let cgroupParent: String
    private let process: BackgroundProcess
    private let containers = Mutex<[String]>([])

    public var socket: String { directory.appendingPathComponent("docker.sock").path }

    /// What the lab needs from the machine to run docker, each with the package that has it.
    public static var missingTools: [String] {
        [(dockerd, "docker.io"), (client, "docker.io"), (busybox, "busybox-static")]
            .filter { !FileManager.default.isExecutableFile(atPath: $0.0) }
            .map { "\($0.0) (apt-get install \($0.1), or run lab/setup)" }
    }

    public struct Unavailable: Error, CustomStringConvertible {
        public var what: String
        public var description: String { what }
    }

    /// An engine for `namespace` keeping its files in `directory`, to be started with
    /// `options` (e.g. `$DOCKER_NETWORK_OPTIONS` split into words).
    init(namespace: Namespace, directory: URL, options: [String]) {
        self.namespace = namespace
        self.directory = directory
        self.cgroupParent = namespace.name
        let socket = directory.appendingPathComponent("docker.sock").path
        // The host's /run stays reachable at $1 for one file: iptables' lock, which dockerd and
        // the agent in the same namespace must share (iptables-legacy loses updates without it).
        let privateMounts = #"""
            mount --bind /run "$1" && mount -t tmpfs lab-run /run && touch "$1/xtables.lock" /run/xtables.lock \
            && mount --bind "$1/xtables.lock" /run/xtables.lock \
            && { [ ! -d /etc/docker ] || mount -t tmpfs lab-etc /etc/docker; } && shift && exec "$@"
            """#
        process = BackgroundProcess(
            command: ["nsenter", "--net=\(namespace.path)", "unshare", "--mount", "--propagation", "private",
                      "sh", "-c", privateMounts, "dockerd-in-\(namespace.name)", directory.appendingPathComponent("host-run").path,
                      Self.dockerd, "--data-root", directory.appendingPathComponent("data").path, "-H", "unix://\(socket)",
                      "--storage-driver", "vfs", "--cgroup-parent", "/\(namespace.name)"] + options,
            logFile: directory.appendingPathComponent("dockerd.log"))
    }

    /// Starts dockerd and waits until it answers.
    func start(timeout: Duration = .seconds(60)) throws {
        let missing = Self.missingTools
        guard missing.isEmpty else { throw Unavailable(what: "docker in the lab needs " + missing.joined(separator: ", ")) }
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("data"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("host-run"), withIntermediateDirectories: true)
        try process.start()
        try Poll.until("dockerd in \(namespace) to answer on \(socket)", timeout: timeout, interval: .milliseconds(200)) {
            guard process.isRunning else {
                throw Unavailable(what: "dockerd in \(namespace) exited (status \(process.exitStatus ?? -1)): \(process.log.suffix(800))")
            }
            return (try? CommandRunner.run(clientCommand(["version", "--format", "{{.Server.Version}}"])))?.succeeded == true
        }
    }

    func clientCommand(_ arguments: [String]) -> [String] {
        [Self.client, "-H", "unix://\(socket)"] + arguments
    }

    /// `docker <arguments>` against this engine; throws when it fails.
    @discardableResult
    public func docker(_ arguments: [String]) throws -> CommandResult {
        try CommandRunner.check(clientCommand(arguments))
    }

    /// `docker import` of an image made from busybox-static (the walkthrough's `busybox`),
    /// with the applets the lab uses linked to it.
    public func importBusybox() throws {
        let root = directory.appendingPathComponent("busybox-rootfs")
        let bin = root.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(at: bin.appendingPathComponent("busybox"))
        try FileManager.default.copyItem(atPath: Self.busybox, toPath: bin.appendingPathComponent("busybox").path)
        for applet in ["sh", "ping", "ip", "ifconfig", "route", "cat", "sleep", "hostname", "wget", "nc"] {
            try? FileManager.default.createSymbolicLink(atPath: bin.appendingPathComponent(applet).path, withDestinationPath: "busybox")
        }
        let tarAndImport = #"tar -C "$1" -c . | "$2" -H "unix://$3" import - "$4""#
        try CommandRunner.check(["sh", "-c", tarAndImport, "import-busybox", root.path, Self.client, socket, Self.image])
    }

    /// A running container (`docker run -d --name NAME lab-busybox sleep …`), its address on
    /// docker0 and the host side of its veth.
    public func runContainer(named name: String) throws -> DockerContainer {
        try docker(["run", "-d", "--name", name, "--hostname", name, Self.image, "sleep", "86400"])
        containers.withLock { $0.append(name) }
        let inspected = try docker(["inspect", "-f", "{{.NetworkSettings.IPAddress}} {{.NetworkSettings.IPPrefixLen}}", name])
            .stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard inspected.count == 2, let address = IPv4Address(inspected[0]), let length = Int(inspected[1]) else {
            throw Unavailable(what: "docker inspect \(name) in \(namespace) gave no IPv4 address: \(inspected)")
        }
        // The container's eth0 names its peer's interface index in the host's namespace.
        let peerIndex = try docker(["exec", name, "cat", "/sys/class/net/eth0/iflink"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let links = try namespace.ip(["-o", "link", "show"]).stdout.split(separator: "\n")
        guard let line = links.first(where: { $0.hasPrefix("\(peerIndex): ") }),
              let veth = line.split(separator: " ").dropFirst().first?.split(separator: "@").first else {
            throw Unavailable(what: "\(name)'s veth (interface \(peerIndex)) is not in \(namespace)")
        }
        return DockerContainer(engine: self, name: name, address: address, prefixLength: length, hostVeth: String(veth))
    }

    /// Removes the containers, stops dockerd (it stops its containerd) and removes the cgroups.
    func stop() {
        let names = containers.withLock { $0 }
        if process.isRunning, !names.isEmpty {
            _ = try? CommandRunner.run(clientCommand(["rm", "-f"] + names), duringCleanup: true)
        }
        process.stop(grace: .seconds(20))
        Self.removeCgroups(matching: cgroupParent)
    }

    /// Kills what is left in the lab's container cgroups (`/<run>-h<N>` in every hierarchy)
    /// and removes them: `prefix` a host's or a run's, or nil for every lab run's.
    @discardableResult
    public static func removeCgroups(matching prefix: String?) -> [String] {
        let root = "/sys/fs/cgroup"
        // cgroup v2 alone: one hierarchy at the root; v1 (or hybrid): one per controller.
        let hierarchies = FileManager.default.fileExists(atPath: "\(root)/cgroup.controllers") ? [root]
            : ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).map { "\(root)/\($0)" }
        var removed: [String] = []
        for hierarchy in hierarchies {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: hierarchy)) ?? []
            for entry in entries where LabNames.isLabNamespace(entry) && prefix.map({ entry == $0 || entry.hasPrefix($0 + "-") }) ?? true {
                if removeCgroup("\(hierarchy)/\(entry)") { removed.append("\(hierarchy)/\(entry)") }
            }
        }
        return removed
    }

    /// Depth first: a cgroup can go only once it has no children and no processes.
    private static func removeCgroup(_ path: String) -> Bool {
        let children = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        for child in children {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: "\(path)/\(child)", isDirectory: &isDirectory), isDirectory.boolValue {
                _ = removeCgroup("\(path)/\(child)")
            }
        }
        // cgroup v2 kills a whole subtree at once; v1 needs its processes one by one.
        if FileManager.default.fileExists(atPath: "\(path)/cgroup.kill") {
            _ = try? "1".write(toFile: "\(path)/cgroup.kill", atomically: false, encoding: .utf8)
        }
        for attempt in 0..<50 {
            let processes = ((try? String(contentsOfFile: "\(path)/cgroup.procs", encoding: .utf8)) ?? "")
                .split(separator: "\n").compactMap { Int32($0) }
            for pid in processes { kill(pid, SIGKILL) }
            if rmdir(path) == 0 || errno == ENOENT { return true }
            if attempt < 49 { Thread.sleep(forTimeInterval: 0.05) }
        }
        return false
    }
}
