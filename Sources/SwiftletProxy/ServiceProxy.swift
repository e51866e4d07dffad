import Synchronization

/// A node's Services in nftables, as kube-proxy's nftables mode does it: one table per node, which every apply
/// changes in one atomic `nft -f -` transaction, so that there is never a moment without rules or with a mix of
/// old and new. A proxy's first apply replaces the whole table (whatever an earlier run left); later ones rewrite
/// the fixed chains and the maps, only the Service chains that changed, and delete what is gone.
/// Calls are serialised; they block on `nft`, `ip` and `conntrack`, so call them off the cooperative threads.
public final class ServiceProxy: Sendable {
    public let config: ServiceProxyConfig
    private let validated: Result<ServiceProxyConfig, ServiceProxyError>
    /// What the last successful apply wrote; nil before the first and after a failure, when the next apply
    /// replaces the whole table.
    private let applied = Mutex<AppliedState?>(nil)

    private struct AppliedState {
        var model: ServiceProxyModel
        var contents: TableContents
    }

    public init(config: ServiceProxyConfig) {
        self.config = config
        validated = Result { () throws(ServiceProxyError) in try config.validated() }
    }

    /// Makes the node serve exactly `model`: prepares the host (the bridge's route_localnet, the service CIDR
    /// route), writes the table, then deletes the UDP conntrack entries the change left stale. When only that last
    /// step fails, the rules are in place and the error is `.conntrackCleanupFailed`.
    public func apply(_ model: ServiceProxyModel) throws(ServiceProxyError) {
        let config = try validated.get()
        let host = HostNetwork(config: config)
        let writer = RulesetWriter(config: config)
        try applied.withLock { applied throws(ServiceProxyError) in
            let previous = applied
            applied = nil
            try host.prepare()
            let ruleset = writer.write(model)
            try writeTable(ruleset, replacing: previous?.contents, writer: writer, host: host)
            applied = AppliedState(model: model, contents: ruleset.contents)
            try deleteStaleConntrackEntries(ConntrackCleanup.deletions(from: previous?.model, to: model), host: host)
        }
    }

    /// Removes the table and the service CIDR route if it is ours; the bridge's sysctls stay with the bridge.
    public func remove() throws(ServiceProxyError) {
        let config = try validated.get()
        let host = HostNetwork(config: config)
        try applied.withLock { applied throws(ServiceProxyError) in
            applied = nil
            let table = "ip \(config.tableName)"
            try host.check([config.nftPath, "-f", "-"], input: "add table \(table)\ndelete table \(table)\n")
            try host.removeServiceRoute()
        }
    }

    /// The transaction the first apply of `model` runs (`nft -f -` input); pure.
    public static func ruleset(_ model: ServiceProxyModel, config: ServiceProxyConfig) throws(ServiceProxyError) -> String {
        let writer = RulesetWriter(config: try config.validated())
        return writer.fullReplacement(writer.write(model))
    }

    private func writeTable(_ ruleset: Ruleset, replacing previous: TableContents?, writer: RulesetWriter, host: HostNetwork) throws(ServiceProxyError) {
        let nft = [writer.config.nftPath, "-f", "-"]
        if let previous {
            let output = try host.run(nft, input: writer.incremental(ruleset, replacing: previous))
            if output.status == 0 { return }
            // Someone changed our table, or a kernel before 6.2 still counts a map element removed a moment ago as
            // a reference to the chain being deleted: start over from an empty table (affinities are lost).
        }
        try host.check(nft, input: writer.fullReplacement(ruleset))
    }

    private func deleteStaleConntrackEntries(_ deletions: [[String]], host: HostNetwork) throws(ServiceProxyError) {
        var firstFailure: ServiceProxyError?
        for arguments in deletions {
            let argv = [host.config.conntrackPath] + arguments
            do {
                let output = try host.run(argv)
                // conntrack exits 1 when nothing matched.
                if output.status != 0 && !output.stderr.contains("0 flow entries") {
                    firstFailure = firstFailure ?? host.failure(argv, output)
                }
            } catch {
                firstFailure = firstFailure ?? error
            }
        }
        if let firstFailure { throw .conntrackCleanupFailed(firstFailure) }
    }
}
