import ArgumentParser

extension EtcdAPI: ExpressibleByArgument {}

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
