import GRPCCore

extension CallOptions {
    /// Takes answers up to `limit` bytes. grpc-swift-nio-transport bounds the messages a client
    /// *receives* by `maxRequestMessageBytes` (default 4 MiB); `maxResponseMessageBytes` is set
    /// too in case a later version reads that one.
    mutating func allowAnswers(upTo limit: Int) {
        maxRequestMessageBytes = limit
        maxResponseMessageBytes = limit
    }
}
