import AgentCore

/// The lease registry calls a simulated agent makes, step by step as `EtcdRegistry` makes them
/// against a real etcd: each request goes through the world on its own, so each can time out
/// or lose its answer on its own.
struct SimLeaseCalls {
    let world: SimWorld
    let host: SimHost

    /// Grant, then the create-if-absent transaction, then (lost race) revoke.
    func create(_ key: SubnetKey, _ attributes: LeaseAttributes, ttl: Duration,
                completion: @escaping (Result<Int64?, any Error>) -> Void) {
        let world = self.world, host = self.host
        let layout = world.layout, broken = world.options.brokenAllocator
        world.etcdCall(host, { etcd in try etcd.grantLease(ttl: LeaseOperations.ttlSeconds(ttl)) }) { granted in
            let lease: Int64
            switch granted {
            case let .success(value): lease = value
            case let .failure(error): return completion(.failure(error))
            }
            if broken {
                return world.etcdCall(host, { etcd in Optional(try etcd.put(key: layout.leaseKey(key), value: attributes.encoded, lease: lease)) },
                                      completion: completion)
            }
            let request = LeaseOperations.createRequest(key, attributes: attributes, lease: lease, layout: layout)
            world.etcdCall(host, { etcd in try etcd.txn(compare: request.compare, success: request.success, failure: request.failure) }) { answer in
                switch answer {
                case let .failure(error):
                    // The transaction may have committed: the grant is left to expire, as upstream.
                    completion(.failure(error))
                case let .success(result):
                    if let revision = LeaseOperations.interpretCreate(result, lease: lease) { return completion(.success(revision)) }
                    world.etcdCall(host, { etcd in try etcd.revokeLease(lease) }) { _ in completion(.success(nil)) }
                }
            }
        }
    }

    /// (Grant,) the rewrite-only-what-we-wrote transaction, (revoke on failure); a second
    /// round when the key holds our own value at another revision.
    func update(_ key: SubnetKey, _ attributes: LeaseAttributes, ttl: Duration?, expected: Int64, round: Int,
                completion: @escaping (Result<LeaseUpdateOutcome, any Error>) -> Void) {
        let world = self.world, host = self.host
        let layout = world.layout
        let transact = { (lease: Int64) in
            let request = LeaseOperations.updateRequest(key, attributes: attributes, lease: lease, expectedModRevision: expected, layout: layout)
            world.etcdCall(host, { etcd in try etcd.txn(compare: request.compare, success: request.success, failure: request.failure) }) { answer in
                let result: TxnResult
                switch answer {
                case let .success(value): result = value
                case let .failure(error): return completion(.failure(error))
                }
                let outcome = LeaseOperations.interpretUpdate(result, attributes: attributes, lease: lease, layout: layout)
                let finish = {
                    switch outcome {
                    case let .finished(done): completion(.success(done))
                    case let .retry(revision):
                        if round == 0 {
                            update(key, attributes, ttl: ttl, expected: revision, round: 1, completion: completion)
                        } else {
                            completion(.failure(RegistryContention(key: layout.leaseKey(key))))
                        }
                    }
                }
                if case .finished(.updated) = outcome { return finish() }
                guard lease != 0 else { return finish() }
                world.etcdCall(host, { etcd in try etcd.revokeLease(lease) }) { _ in finish() }
            }
        }
        guard let ttl else { return transact(0) }
        world.etcdCall(host, { etcd in try etcd.grantLease(ttl: LeaseOperations.ttlSeconds(ttl)) }) { granted in
            switch granted {
            case let .success(lease): transact(lease)
            case let .failure(error): completion(.failure(error))
            }
        }
    }
}
