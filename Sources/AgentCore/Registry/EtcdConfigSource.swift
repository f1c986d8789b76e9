/// Which store's config to use, from what the first API (and, when it has no config, the
/// second) answered: pure, so every case is unit-tested.
public enum EtcdConfigSource: Equatable, Sendable {
    case use(EtcdAPI, text: String)
    case wait(problem: String)
    case fail(String)

    /// `first`: the first candidate's answer (v3, or the only API); `second`: v2's answer, asked
    /// only when `first` is `.success(nil)` under `--etcd-api=auto`.
    public static func decide(api: EtcdAPI, first: (EtcdAPI, Result<String?, EtcdError>), second: (EtcdAPI, Result<String?, EtcdError>)?,
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
        case let .failure(.badResponse(_, reason)) where reason.hasPrefix(EtcdError.v2Off):
            return .wait(problem: waiting + " (etcd serves no v2 API)")
        case let .failure(error) where error.isRefusal:
            return .fail("\(error) (--etcd-api=auto asked the v2 store because v3 has no \(layout.configKey); if the config is meant for v3, use --etcd-api=v3)")
        case let .failure(error):
            return .wait(problem: "etcd v3 API: no network config at \(layout.configKey); etcd v2 API: \(error); retrying")
        }
    }
}

extension EtcdError {
    /// How a `badResponse` says that the endpoint serves no v2 API (etcd without --enable-v2).
    public static let v2Off = "HTTP 404 for /v2/keys: the v2 API is off"

    /// etcd refused our credentials or our access: an operator must act.
    public var isRefusal: Bool {
        switch self {
        case .permissionDenied, .authenticationFailed, .v2AccessRefused: true
        default: false
        }
    }

    /// Worth retrying: etcd may come back; the others need an operator.
    public var isTransient: Bool {
        switch self {
        // Too large an answer needs an operator to delete junk, but the agent must pick up
        // by itself once that is done.
        case .unavailable, .compacted, .leaseNotFound, .answerTooLarge: true
        default: false
        }
    }
}
