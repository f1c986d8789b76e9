import ArgumentParser

/// `--etcd-api`: which of etcd's APIs holds flannel's keys. `auto` reads the config with v3
/// and falls back to v2 when only v2 has it (etcd 3.x keeps the two stores apart: a config
/// written with `etcdctl set`, as in the walkthrough, is invisible to v3).
public enum EtcdAPI: String, CaseIterable, Sendable, ExpressibleByArgument {
    case auto, v3, v2
}

/// The registries to ask for the config, in order, and the clients behind them.
struct EtcdRegistries {
    let candidates: [(api: EtcdAPI, registry: any Registry)]
    private let v3: EtcdV3Client?
    private let v2: EtcdV2Client?

    init(api: EtcdAPI, configuration: EtcdClientConfiguration, layout: EtcdKeyLayout) throws {
        v3 = api == .v2 ? nil : try EtcdV3Client(configuration: configuration)
        v2 = api == .v3 ? nil : try EtcdV2Client(configuration: configuration)
        var candidates: [(api: EtcdAPI, registry: any Registry)] = []
        if let v3 { candidates.append((.v3, EtcdRegistry(kv: v3, layout: layout))) }
        if let v2 { candidates.append((.v2, EtcdV2Registry(client: v2, layout: layout))) }
        self.candidates = candidates
    }

    func close() async {
        await v3?.close()
        await v2?.close()
    }

    /// Closes the client of the API not chosen.
    func close(except api: EtcdAPI) async {
        if api != .v3 { await v3?.close() }
        if api != .v2 { await v2?.close() }
    }
}

/// Which store's config to use, from what the first API (and, when it has no config, the
/// second) answered: pure, so every case is unit-tested.
enum EtcdConfigSource: Equatable {
    case use(EtcdAPI, text: String)
    case wait(problem: String)
    case fail(String)

    /// `first`: the first candidate's answer (v3, or the only API); `second`: v2's answer, asked
    /// only when `first` is `.success(nil)` under `--etcd-api=auto`.
    static func decide(api: EtcdAPI, first: (EtcdAPI, Result<String?, EtcdError>), second: (EtcdAPI, Result<String?, EtcdError>)?,
                       layout: EtcdKeyLayout) -> EtcdConfigSource {
        let waiting = "waiting for the network config at \(layout.configKey), e.g. etcdctl put \(layout.configKey) '{\"Network\": \"10.1.0.0/16\"}'"
        let v2Hint = " (or, v2: etcdctl set \(layout.configKey) '{ \"Network\": \"10.1.0.0/16\" }')"
        switch first.1 {
        case let .success(text?): return .use(first.0, text: text)
        case let .failure(error): return error.isRefusal ? .fail("\(error)") : .wait(problem: "\(error); retrying")
        case .success(nil): break
        }
        guard let second else { return .wait(problem: waiting + (api == .v2 ? v2Hint : "")) }
        switch second.1 {
        case let .success(text?): return .use(second.0, text: text)
        case .success(nil): return .wait(problem: waiting + v2Hint)
        case let .failure(.badResponse(_, reason)) where reason.hasPrefix(EtcdV2Registry.v2Off):
            return .wait(problem: waiting + " (etcd serves no v2 API)")
        case let .failure(error) where error.isRefusal:
            return .fail("\(error) (--etcd-api=auto asked the v2 store because v3 has no \(layout.configKey); if the config is meant for v3, use --etcd-api=v3)")
        case let .failure(error):
            return .wait(problem: "etcd v3 API: no network config at \(layout.configKey); etcd v2 API: \(error); retrying")
        }
    }
}
