import Foundation
import Synchronization
import SwiftletClient
import SwiftletImages
import SwiftletOffload

/// The node's image service: the image store under the agent's data dir, pulls from
/// registries (configured by registries.yaml), the built-in images, airgap archives imported at
/// start, and garbage collection by the kubelet's policy.
final class NodeImages: ImageService {
    let store: ImageStore
    let puller: ImagePuller
    let airgap: AirgapImages
    private let log: LogSink
    private let pulls = SingleFlight<String, ResolvedImage>()
    private let configurations = Mutex<[Digest: ImageConfiguration]>([:])
    /// When each image was last used by a container start, and first seen: the kubelet's
    /// image GC records, kept in memory as the kubelet keeps them.
    private let usage = Mutex<[String: (firstDetected: Date, lastUsed: Date?)]>([:])

    init(config: NodeAgentConfig, log: @escaping LogSink) throws(ImageError) {
        store = try ImageStore(root: config.imageStoreDirectory)
        let builtIn = BuiltInImages(programDirectory: config.programDirectory)
        puller = ImagePuller(store: store, registries: config.registries, builtIn: builtIn)
        airgap = AirgapImages(directory: config.airgapImagesDirectory, importer: ImageArchiveImporter(store: store))
        self.log = log
    }

    func local(_ reference: ImageReference) -> ResolvedImage? {
        guard let record = store.image(for: reference), store.isComplete(record),
              let lowers = store.lowerDirectories(record) else { return nil }
        return try? resolved(record, lowers: lowers)
    }

    func pull(_ reference: ImageReference, credentials: [RegistryCredential]) async throws(ImageError) -> ResolvedImage {
        // One pull per reference and credentials, however many pods ask at once.
        let key = reference.description + " " + credentials.map(\.username).joined(separator: ",")
            + " " + String(credentials.map(\.password).joined().hashValue)
        let result = await pulls.run(key) { [self] in
            do throws(ImageError) {
                let record = try await puller.pull(reference, credentials: credentials)
                guard let lowers = store.lowerDirectories(record) else {
                    throw ImageError(.storage, "the layers of \(reference) went missing after the pull")
                }
                return .success(try resolved(record, lowers: lowers))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    func holdContent() -> StoreLock? {
        try? store.lock("content", exclusive: false)
    }

    func markUsed(_ image: ResolvedImage) {
        let now = Date()
        usage.withLock { $0[image.name, default: (now, nil)].lastUsed = now }
    }

    /// Up to 50 images, largest first, each with its repo digest then its tag (the kubelet's
    /// `nodeStatusMaxImages` and order).
    func nodeStatusImages() -> [NodeImage] {
        var byTarget: [Digest: (names: [String], size: Int64, id: String)] = [:]
        for record in store.records() {
            var entry = byTarget[record.target.digest] ?? ([], record.size, record.id.description)
            if !entry.names.contains(record.repoDigest) { entry.names.insert(record.repoDigest, at: 0) }
            if ImageReference(record.name)?.digest == nil { entry.names.append(record.name) }
            byTarget[record.target.digest] = entry
        }
        return byTarget.values
            .sorted { $0.size == $1.size ? $0.id > $1.id : $0.size > $1.size }
            .prefix(50)
            .map { NodeImage(names: Array($0.names.prefix(5)), sizeBytes: $0.size) }
    }

    private func resolved(_ record: ImageRecord, lowers: [String]) throws(ImageError) -> ResolvedImage {
        let configuration: ImageConfiguration
        if let cached = configurations.withLock({ $0[record.config.digest] }) {
            configuration = cached
        } else {
            configuration = try store.configuration(of: record)
            configurations.withLock { $0[record.config.digest] = configuration }
        }
        return ResolvedImage(name: record.name, imageID: record.repoDigest, size: record.size,
                             config: configuration.config ?? .init(), lowerDirectories: lowers)
    }

    // MARK: - At start

    /// Imports new airgap archives and builds the built-in images, so the node has them before
    /// a pod asks (a pod that asks meanwhile waits for the same work).
    func preload() async {
        for outcome in await Offload.run({ [airgap] in airgap.importNew() }) {
            switch outcome.result {
            case .success(let records): log("node agent: imported \(records.map(\.name).joined(separator: ", ")) from \(outcome.file)")
            case .failure(let error): log("node agent: importing \(outcome.file) failed: \(error)")
            case nil: break
            }
        }
        for name in BuiltInImages.names {
            guard let reference = ImageReference(name) else { continue }
            do {
                _ = try await pull(reference, credentials: [])
            } catch {
                log("node agent: the built-in image \(name) is not available: \(error)")
            }
        }
    }

    // MARK: - Garbage collection

    /// The kubelet's image garbage collection: when the image filesystem is at least `high` %
    /// used, removes images no container uses, least recently used first and none younger than
    /// `minimumAge`, until usage is down to `low` %. Returns the shortfall message if it could not
    /// free enough (the kubelet's FreeDiskSpaceFailed).
    func collectGarbage(inUse: Set<String>) async -> String? {
        await collectGarbage(inUse: inUse, policy: ImageGCPolicy(), now: Date())
    }

    func collectGarbage(inUse: Set<String>, policy: ImageGCPolicy, now: Date) async -> String? {
        guard let usage = store.filesystemUsage() else { return nil }
        let mounted = store.imagesInUse()
        let records = store.records()
        let candidates = records.map { record -> ImageGCPolicy.Candidate in
            let seen = self.usage.withLock { state -> (Date, Date?) in
                let entry = state[record.name] ?? (now, nil)
                state[record.name] = entry
                return entry
            }
            return .init(name: record.name, size: record.size, firstDetected: seen.0, lastUsed: seen.1,
                         inUse: inUse.contains(record.name) || mounted.contains(record.name), pinned: record.pinned)
        }
        let plan = policy.plan(candidates, capacity: usage.capacity, available: usage.available, now: now)
        guard !plan.remove.isEmpty || plan.shortfall != nil else { return nil }
        if !plan.remove.isEmpty {
            let store = self.store
            let names = Set(plan.remove)
            do {
                let (removed, garbage) = try await Offload.run { () throws(ImageError) in try store.remove(names: names) }
                log("node agent: image garbage collection removed \(removed.map(\.name).joined(separator: ", ")) (\(garbage.bytes) bytes)")
                self.usage.withLock { state in for name in names { state[name] = nil } }
            } catch {
                return "wanted to free \(plan.amountToFree) bytes, but image removal failed: \(error)"
            }
        }
        return plan.shortfall
    }
}

/// The kubelet's image garbage collection policy, with its defaults.
struct ImageGCPolicy: Sendable {
    var highThresholdPercent = 85
    var lowThresholdPercent = 80
    var minimumAge: TimeInterval = 120

    struct Candidate: Sendable, Equatable {
        var name: String
        var size: Int64
        var firstDetected: Date
        var lastUsed: Date?
        var inUse: Bool
        var pinned: Bool
    }

    struct Plan: Sendable, Equatable {
        var remove: [String] = []
        var amountToFree: Int64 = 0
        /// Set when the eligible images are not enough (the FreeDiskSpaceFailed message).
        var shortfall: String?
    }

    func plan(_ candidates: [Candidate], capacity: Int64, available: Int64, now: Date) -> Plan {
        guard capacity > 0 else { return Plan() }
        let available = min(available, capacity)
        let usagePercent = 100 - Int(available * 100 / capacity)
        guard usagePercent >= highThresholdPercent else { return Plan() }
        var plan = Plan(amountToFree: capacity * Int64(100 - lowThresholdPercent) / 100 - available)
        let eligible = candidates.filter { !$0.inUse && !$0.pinned }
            .sorted { ($0.lastUsed ?? .distantPast, $0.firstDetected) < ($1.lastUsed ?? .distantPast, $1.firstDetected) }
        var freed: Int64 = 0
        for candidate in eligible where freed < plan.amountToFree {
            guard now.timeIntervalSince(candidate.firstDetected) >= minimumAge else { continue }
            plan.remove.append(candidate.name)
            freed += candidate.size
        }
        if freed < plan.amountToFree {
            plan.shortfall = "Failed to garbage collect required amount of images. Attempted to free \(plan.amountToFree) bytes, but only found \(freed) bytes eligible to free."
        }
        return plan
    }
}
