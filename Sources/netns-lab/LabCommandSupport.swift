import ArgumentParser
import Foundation
import NetnsLab

/// What the commands share: the root check, finding binaries, Ctrl-C handling, lab lookup.
enum LabCommandSupport {
    static func requireRoot() throws {
        guard getuid() == 0 else {
            throw LabCommandError("netns-lab needs root (network namespaces, etcd, TUN devices): run it with sudo")
        }
    }

    /// The flanneld binary: `--flanneld`, else the one next to netns-lab.
    static func flanneld(_ option: String?) throws -> String {
        let binary = option ?? siblingBinary("flanneld")
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw LabCommandError("flanneld not found at \(binary); build it (swift build) or pass --flanneld")
        }
        return binary
    }

    /// The repository's dist/ folder: `option`, else ../../dist from netns-lab (.build/<config>/),
    /// else ./dist.
    static func dist(_ option: String?) throws -> String {
        let binaryFolder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let candidates = option.map { [$0] } ?? [
            binaryFolder.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("dist").path,
            FileManager.default.currentDirectoryPath + "/dist",
        ]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0 + "/flanneld-start") }) else {
            throw LabCommandError("dist/flanneld-start not found (looked in \(candidates.joined(separator: ", "))); run from the repository or pass --dist")
        }
        return found
    }

    static func siblingBinary(_ name: String) -> String {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// Runs a job that builds the lab `run`. Ctrl-C or SIGTERM raises `LabInterruption` and
    /// kills the run's processes; the job then fails out of its current step and its own
    /// cleanup removes the lab (on this thread, so nothing is created behind the cleanup's
    /// back). Exits 130 after an interruption.
    static func interruptible<T>(run: String, _ job: () throws -> T) throws -> T {
        let sources = [SIGINT, SIGTERM].map { number -> DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                LabInterruption.raise()
                Lab.killProcesses(run: run)
            }
            source.resume()
            return source
        }
        defer {
            sources.forEach { $0.cancel() }
            signal(SIGINT, SIG_DFL)
            signal(SIGTERM, SIG_DFL)
        }
        do {
            return try job()
        } catch {
            guard LabInterruption.isRaised else { throw error }
            Lab.clean(run: run)
            print("interrupted: removed the lab \(run)")
            throw ExitCode(130)
        }
    }

    static func select(_ run: String?) throws -> RunningLab {
        try userFacing { try RunningLab.select(run: run) }
    }

    /// A lab lookup error as a command-line error: its message, no type names.
    static func userFacing<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as RunningLab.SelectionError {
            throw LabCommandError(error.description)
        }
    }
}
