import Foundation
import Synchronization
import Testing
@testable import SwiftletImages
import SwiftletTestSupport

/// A store and a puller for one test, pulling for linux/amd64 whatever this machine is.
private struct PullFixture {
    static let amd64 = Platform(os: "linux", architecture: "amd64")

    let directory = TemporaryDirectory("swiftlet-pull")
    let store: ImageStore
    let puller: ImagePuller

    init(registries: RegistriesConfig = RegistriesConfig(), platform: Platform = amd64, maxAttempts: Int = 5) throws {
        store = try ImageStore(root: directory.path + "/store")
        puller = ImagePuller(store: store, registries: registries, builtIn: nil,
                             client: RegistryClient(maxAttempts: maxAttempts, retryDelay: .milliseconds(5)), platform: platform)
    }

    func remove() { directory.remove() }

    func pull(_ reference: String, credentials: [RegistryCredential] = []) async throws(ImageError) -> ImageRecord {
        try await puller.pull(ImageReference(reference)!, credentials: credentials)
    }

    func pullError(_ reference: String, credentials: [RegistryCredential] = []) async -> ImageError? {
        await imageError { () async throws(ImageError) in _ = try await pull(reference, credentials: credentials) }
    }

    func listing(_ subdirectory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: store.root + "/" + subdirectory)) ?? []).sorted()
    }
}

/// Runs `body` with a fake registry, stopped afterwards.
private func withRegistry(auth: FakeRegistry.Auth = .none, _ body: (FakeRegistry) async throws -> Void) async throws {
    let registry = try await FakeRegistry.start(auth: auth)
    do {
        try await body(registry)
    } catch {
        await registry.stop()
        throw error
    }
    await registry.stop()
}

private func blobPath(_ repository: String, _ digest: Digest) -> String { "/v2/\(repository)/blobs/\(digest)" }

/// A two-layer image: an application on a base.
private func twoLayerImage(app: String = "app v1") throws -> TestImage {
    try TestImage(layers: [["etc/os-release": "base\n", "bin/sh": "shell"], ["app/run": app]])
}

@Suite(.blockingWork) struct ImagePullerTests {
    @Test func anonymousTokenFlowPullsAndUnpacksAnImage() async throws {
        try await withRegistry(auth: .anonymousBearer) { registry in
            let fixture = try PullFixture()
            defer { fixture.remove() }
            let image = try twoLayerImage()
            registry.add(image, repository: "test/app", tag: "1.0")
            let reference = try #require(ImageReference("\(registry.host)/test/app:1.0"))
            let events = Mutex<[String]>([])
            let record = try await fixture.puller.pull(reference) { event in
                let text: String? = switch event {
                case .resolved(let name, let digest): "resolved \(name) \(digest)"
                case .layerDone(let digest, _): "done \(digest)"
                case .layerPresent(let digest, _): "present \(digest)"
                case .layerProgress: nil
                }
                if let text { events.withLock { $0.append(text) } }
            }

            #expect(record.name == "\(registry.host)/test/app:1.0")
            #expect(record.target == image.manifestDescriptor)
            #expect(record.manifest == image.manifestDescriptor.digest)
            #expect(record.config == image.configDescriptor)
            #expect(record.layers.map(\.blob) == image.layers.map(\.descriptor))
            #expect(record.layers.map(\.diffID) == image.layers.map(\.diffID))
            #expect(!record.pinned)
            #expect(fixture.store.record(named: record.name)?.target == record.target)
            #expect(fixture.store.isComplete(record))
            #expect(try fixture.store.configuration(of: record).config?.Cmd == ["/bin/app"])

            // Topmost layer first, each unpacked in its snapshot.
            let lowers = try #require(fixture.store.lowerDirectories(record))
            #expect(lowers == [try #require(fixture.store.snapshot(image.layers[1].diffID)),
                               try #require(fixture.store.snapshot(image.layers[0].diffID))])
            #expect(contents(lowers[0] + "/app/run") == "app v1")
            #expect(contents(lowers[1] + "/etc/os-release") == "base\n")
            #expect(contents(lowers[1] + "/bin/sh") == "shell")
            #expect(fixture.listing("ingest").isEmpty)

            let seen = events.withLock { $0 }
            #expect(seen.first == "resolved \(reference) \(image.manifestDescriptor.digest)")
            #expect(Set(seen.dropFirst()) == Set(image.layers.map { "done \($0.descriptor.digest)" }))

            // The token: asked for once, anonymously, for this repository; sent with every request after the first 401.
            let tokenRequests = registry.requests(for: "/token")
            #expect(tokenRequests.count == 1)
            #expect(tokenRequests.first?.query("scope") == ["repository:test/app:pull"])
            #expect(tokenRequests.first?.query("service") == ["fake"])
            #expect(tokenRequests.first?.authorization == nil)
            let registryRequests = registry.requests.filter { $0.path.hasPrefix("/v2/") }
            #expect(registryRequests.first?.authorization == nil)
            #expect(registryRequests.count > 4)
            #expect(registryRequests.dropFirst().allSatisfy { $0.authorization == "Bearer token-1" })
            #expect(registryRequests.first?.method == .HEAD)

            // Pulled again: resolved, and nothing else fetched.
            let before = registry.requests.count
            let again = try await fixture.pull(reference.description)
            #expect(again.target == record.target && again.layers == record.layers)
            #expect(registry.requests.dropFirst(before).allSatisfy { $0.path == "/v2/test/app/manifests/1.0" })
        }
    }

    @Test func credentialedTokenFlow() async throws {
        let credential = RegistryCredential(username: "puller", password: "s3cret")
        try await withRegistry(auth: .bearer(credential)) { registry in
            let image = try twoLayerImage()
            registry.add(image, repository: "private/app", tag: "1.0")
            let reference = "\(registry.host)/private/app:1.0"

            let anonymous = try PullFixture()
            defer { anonymous.remove() }
            let refused = await anonymous.pullError(reference)
            #expect(refused?.kind == .unauthorized)
            #expect(refused?.message.hasPrefix("failed to pull and unpack image \"\(reference)\": ") == true)
            #expect(anonymous.store.records().isEmpty)

            // A wrong credential is refused, and the next one tried.
            let fixture = try PullFixture()
            defer { fixture.remove() }
            let wrong = RegistryCredential(username: "puller", password: "wrong")
            #expect(await fixture.pullError(reference, credentials: [wrong])?.kind == .unauthorized)
            let record = try await fixture.pull(reference, credentials: [wrong, credential])
            #expect(fixture.store.isComplete(record))

            let accepted = registry.requests(for: "/token").filter { $0.authorization == credential.basicAuthorization }
            #expect(!accepted.isEmpty)
            #expect(accepted.allSatisfy { $0.query("scope") == ["repository:private/app:pull"] })
        }
    }

    @Test func anIdentityTokenIsExchangedWithTheRefreshTokenGrant() async throws {
        try await withRegistry(auth: .identityToken("refresh-me")) { registry in
            registry.add(try twoLayerImage(), repository: "test/app", tag: "1.0")
            let config = RegistriesConfig(configs: [registry.host: .init(auth: .init(identitytoken: "refresh-me"))])
            let fixture = try PullFixture(registries: config)
            defer { fixture.remove() }
            let record = try await fixture.pull("\(registry.host)/test/app:1.0")
            #expect(fixture.store.isComplete(record))
            let tokenRequests = registry.requests(for: "/token")
            #expect(tokenRequests.count == 1)
            #expect(tokenRequests.first?.method == .POST)
            let form = URLComponents(string: "?" + String(decoding: tokenRequests.first?.body ?? [], as: UTF8.self))?.queryItems ?? []
            #expect(form.contains(URLQueryItem(name: "scope", value: "repository:test/app:pull")))
            #expect(form.contains(URLQueryItem(name: "service", value: "fake")))

            let wrong = try PullFixture(registries: RegistriesConfig(configs: [registry.host: .init(auth: .init(identitytoken: "stale"))]))
            defer { wrong.remove() }
            #expect(await wrong.pullError("\(registry.host)/test/app:1.0")?.kind == .unauthorized)
        }
    }

    @Test func anUnreachableRegistryIsUnavailable() async throws {
        // A port nothing listens on: bound, then closed.
        let server = try await FakeHTTPServer.start { _ in FakeResponse(status: .ok) }
        await server.stop()
        let fixture = try PullFixture(maxAttempts: 2)
        defer { fixture.remove() }
        let error = await fixture.pullError("\(server.host)/test/app:1.0")
        #expect(error?.kind == .unavailable)
        #expect(error?.isTransient == true)
        #expect(error?.message.hasPrefix("failed to pull and unpack image \"\(server.host)/test/app:1.0\": failed to resolve image: ") == true,
                "\(error?.message ?? "")")
    }

    @Test func credentialsFromRegistriesYAML() async throws {
        let credential = RegistryCredential(username: "configured", password: "pw")
        try await withRegistry(auth: .basic(credential)) { registry in
            registry.add(try twoLayerImage(), repository: "test/app", tag: "1.0")
            let config = RegistriesConfig(configs: [registry.host: .init(auth: .init(username: "configured", password: "pw"))])
            let fixture = try PullFixture(registries: config)
            defer { fixture.remove() }
            let record = try await fixture.pull("\(registry.host)/test/app:1.0")
            #expect(fixture.store.isComplete(record))
        }
    }

    @Test func basicAuthenticationRegistry() async throws {
        let credential = RegistryCredential(username: "basic", password: "pw")
        try await withRegistry(auth: .basic(credential)) { registry in
            let image = try twoLayerImage()
            registry.add(image, repository: "test/app", tag: "1.0")
            let reference = "\(registry.host)/test/app:1.0"

            let fixture = try PullFixture()
            defer { fixture.remove() }
            let refused = await fixture.pullError(reference)
            #expect(refused?.kind == .unauthorized)
            #expect(refused?.message.contains("401 Unauthorized") == true)

            let before = registry.requests.count
            let record = try await fixture.pull(reference, credentials: [credential])
            #expect(fixture.store.isComplete(record))
            let requests = registry.requests.dropFirst(before)
            #expect(requests.first?.authorization == nil)
            #expect(requests.dropFirst().allSatisfy { $0.authorization == credential.basicAuthorization })
            #expect(registry.requests(for: "/token").isEmpty)
        }
    }

    @Test func redirectedBlobsGetNoCredentials() async throws {
        try await withRegistry(auth: .anonymousBearer) { registry in
            let blobHost = try await startBlobHost(for: registry)
            let image = try twoLayerImage()
            registry.add(image, repository: "test/app", tag: "1.0")
            registry.state.withLock { $0.blobHost = blobHost.host }
            let fixture = try PullFixture()
            defer { fixture.remove() }
            let failure = await imageError { () async throws(ImageError) in
                let record = try await fixture.pull("\(registry.host)/test/app:1.0")
                #expect(fixture.store.isComplete(record))
            }
            await blobHost.stop()
            #expect(failure == nil)

            // The config and both layers came from the second host, without the registry's token.
            let downloads = blobHost.requests
            #expect(Set(downloads.map(\.path)) == Set(([image.configDescriptor] + image.layers.map(\.descriptor)).map { "/data/\($0.digest)" }))
            #expect(downloads.allSatisfy { $0.authorization == nil })
            #expect(downloads.allSatisfy { $0.headers["Authorization"].isEmpty })
            // The registry had it, for the requests that were its own.
            let blobRequests = registry.requests.filter { $0.path.contains("/blobs/") }
            #expect(blobRequests.count == 3)
            #expect(blobRequests.allSatisfy { $0.authorization == "Bearer token-1" })
        }
    }

    @Test func serverErrorsAreRetried() async throws {
        try await withRegistry { registry in
            let image = try twoLayerImage()
            registry.add(image, repository: "test/app", tag: "1.0")
            let layer = blobPath("test/app", image.layers[1].descriptor.digest)
            registry.state.withLock { state in
                state.failures[layer] = 2
                state.failures["/v2/test/app/manifests/1.0"] = 1
            }
            let fixture = try PullFixture(maxAttempts: 3)
            defer { fixture.remove() }
            let record = try await fixture.pull("\(registry.host)/test/app:1.0")
            #expect(fixture.store.isComplete(record))
            #expect(registry.requests(for: layer).count == 3)
            #expect(registry.requests(for: "/v2/test/app/manifests/1.0").count == 2)

            // More failures than attempts: a transient error, after exactly that many tries.
            let config = blobPath("test/app", image.configDescriptor.digest)
            registry.state.withLock { $0.failures[config] = 10 }
            let other = try PullFixture(maxAttempts: 3)
            defer { other.remove() }
            let error = await other.pullError("\(registry.host)/test/app:1.0")
            #expect(error?.kind == .unavailable)
            #expect(error?.isTransient == true)
            #expect(error?.message.contains("503 Service Unavailable") == true)
            #expect(registry.requests(for: config).count == 1 + 3)
            #expect(other.store.records().isEmpty)
        }
    }

    @Test func manifestsByTagAndByDigest() async throws {
        try await withRegistry { registry in
            let image = try twoLayerImage()
            registry.add(image, repository: "test/app", tag: "1.0")
            let digest = image.manifestDescriptor.digest
            let byDigest = "\(registry.host)/test/app@\(digest)"

            let fresh = try PullFixture()
            defer { fresh.remove() }
            let record = try await fresh.pull(byDigest)
            #expect(record.name == byDigest)
            #expect(record.target.digest == digest)
            #expect(fresh.store.isComplete(record))
            // A digest needs no HEAD to resolve it: the manifest is fetched and checked.
            let manifestRequests = registry.requests.filter { $0.path.contains("/manifests/") }
            #expect(manifestRequests.map(\.method) == [.GET])
            #expect(manifestRequests.first?.path == "/v2/test/app/manifests/\(digest)")

            // By tag into the same store: resolved, then found there, nothing downloaded.
            let before = registry.requests.count
            let tagged = try await fresh.pull("\(registry.host)/test/app:1.0")
            #expect(tagged.name == "\(registry.host)/test/app:1.0")
            #expect(tagged.target.digest == digest)
            #expect(registry.requests.dropFirst(before).allSatisfy { $0.path == "/v2/test/app/manifests/1.0" })
            #expect(Set(fresh.store.records().map(\.name)) == [byDigest, tagged.name])
        }
    }

    @Test func aDigestReferenceRefusesADifferentManifest() async throws {
        try await withRegistry { registry in
            let image = try twoLayerImage()
            let other = try twoLayerImage(app: "other")
            registry.add(image, repository: "test/app")
            // The registry answers the digest with another manifest.
            registry.state.withLock { state in
                state.manifests["test/app:\(image.manifestDescriptor.digest)"] = (MediaType.ociManifest, other.manifest)
            }
            let fixture = try PullFixture()
            defer { fixture.remove() }
            let error = await fixture.pullError("\(registry.host)/test/app@\(image.manifestDescriptor.digest)")
            #expect(error?.kind == .invalidContent)
            #expect(error?.message.contains("manifest digest mismatch") == true)
            #expect(fixture.store.records().isEmpty)
        }
    }

    @Test func anIndexGivesOnlyThisPlatformsLayers() async throws {
        try await withRegistry { registry in
            let amd64 = try TestImage(layers: [["arch": "amd64"]])
            let arm64 = try TestImage(layers: [["arch": "arm64"]], platform: Platform(os: "linux", architecture: "arm64"))
            let index = registry.addIndex([(arm64, Platform(os: "linux", architecture: "arm64", variant: "v8")),
                                           (amd64, PullFixture.amd64)], repository: "test/multi", tag: "1.0")
            let fixture = try PullFixture()
            defer { fixture.remove() }
            let record = try await fixture.pull("\(registry.host)/test/multi:1.0")
            #expect(record.target == index)
            #expect(record.manifest == amd64.manifestDescriptor.digest)
            #expect(record.layers.map(\.diffID) == amd64.layers.map(\.diffID))
            #expect(contents(try #require(fixture.store.lowerDirectories(record)?.first) + "/arch") == "amd64")

            // Nothing of the other platform was asked for.
            let armPaths = Set(["/v2/test/multi/manifests/\(arm64.manifestDescriptor.digest)",
                                blobPath("test/multi", arm64.configDescriptor.digest),
                                blobPath("test/multi", arm64.layers[0].descriptor.digest)])
            #expect(registry.requests.filter { armPaths.contains($0.path) }.isEmpty)
            #expect(registry.requests(for: "/v2/test/multi/manifests/\(amd64.manifestDescriptor.digest)").count == 1)

            // An arm64 node gets the other one; a platform the index lacks is not found.
            let arm = try PullFixture(platform: Platform(os: "linux", architecture: "arm64"))
            defer { arm.remove() }
            #expect(try await arm.pull("\(registry.host)/test/multi:1.0").manifest == arm64.manifestDescriptor.digest)
            let riscv = try PullFixture(platform: Platform(os: "linux", architecture: "riscv64"))
            defer { riscv.remove() }
            let error = await riscv.pullError("\(registry.host)/test/multi:1.0")
            #expect(error?.kind == .notFound)
            #expect(error?.message.contains("no match for platform in manifest") == true)
        }
    }

    @Test func aBlobThatIsNotItsDigestIsRefused() async throws {
        try await withRegistry { registry in
            let image = try twoLayerImage()
            registry.add(image, repository: "test/app", tag: "1.0")
            let layer = image.layers[1]
            // gzip readers ignore the header's modification time: the layer still unpacks, to
            // the same diff id, but its bytes are no longer the digest the manifest names.
            registry.state.withLock { $0.blobs[layer.descriptor.digest]![4] ^= 0xff }
            let fixture = try PullFixture()
            defer { fixture.remove() }
            let error = await fixture.pullError("\(registry.host)/test/app:1.0")
            #expect(error?.kind == .invalidContent)
            #expect(error?.message.contains("digest mismatch") == true)
            #expect(!fixture.store.content.contains(layer.descriptor.digest))
            #expect(fixture.store.snapshot(layer.diffID) == nil)
            #expect(fixture.store.records().isEmpty)
            #expect(fixture.listing("ingest").isEmpty)
            #expect(!fixture.listing("snapshots").contains { $0.hasPrefix(".tmp-") })
        }
    }

    @Test func aRepositoryNoTokenOpensIsPullAccessDenied() async throws {
        try await withRegistry(auth: .anonymousBearer) { registry in
            registry.state.withLock { _ = $0.denied.insert("test/secret") }
            let fixture = try PullFixture()
            defer { fixture.remove() }
            let error = await fixture.pullError("\(registry.host)/test/secret:1.0")
            #expect(error?.kind == .unauthorized)
            #expect(error?.message.contains("pull access denied, repository does not exist or may require authorization: "
                                            + "server message: insufficient_scope: authorization failed") == true, "\(error?.message ?? "")")
        }
    }

    @Test func aRegistryWithoutDigestHeadersIsResolvedByItsManifest() async throws {
        try await withRegistry { registry in
            let image = try twoLayerImage()
            registry.add(image, repository: "test/app", tag: "1.0")
            registry.state.withLock { $0.omitsDigestHeader = true }
            let fixture = try PullFixture()
            defer { fixture.remove() }
            let record = try await fixture.pull("\(registry.host)/test/app:1.0")
            #expect(record.target == image.manifestDescriptor)
            #expect(fixture.store.isComplete(record))
            // The HEAD told nothing, so the tag's manifest was fetched, and not again by digest.
            #expect(registry.requests(for: "/v2/test/app/manifests/1.0").map(\.method) == [.HEAD, .GET])
            #expect(registry.requests(for: "/v2/test/app/manifests/\(image.manifestDescriptor.digest)").isEmpty)
        }
    }

    @Test func aBlobLongerThanItsDescriptorIsRefused() async throws {
        try await withRegistry { registry in
            let image = try twoLayerImage()
            registry.add(image, repository: "test/app", tag: "1.0")
            let layer = image.layers[0]
            registry.state.withLock { $0.blobs[layer.descriptor.digest]! += [UInt8](repeating: 0, count: 100) }
            let fixture = try PullFixture()
            defer { fixture.remove() }
            let error = await fixture.pullError("\(registry.host)/test/app:1.0")
            #expect(error?.kind == .invalidContent)
            #expect(error?.message.contains("larger than its descriptor") == true, "\(error?.message ?? "")")
            #expect(!fixture.store.content.contains(layer.descriptor.digest))
            #expect(fixture.store.records().isEmpty)
            #expect(fixture.listing("ingest").isEmpty)
        }
    }

    @Test func aMissingTagIsNotFoundInContainerdsWords() async throws {
        try await withRegistry(auth: .anonymousBearer) { registry in
            registry.add(try twoLayerImage(), repository: "test/app", tag: "1.0")
            let fixture = try PullFixture()
            defer { fixture.remove() }
            let reference = "\(registry.host)/test/app:missing"
            let error = await fixture.pullError(reference)
            #expect(error?.kind == .notFound)
            #expect(error?.message.contains(
                "failed to pull and unpack image \"\(reference)\": failed to resolve image: \(reference): not found") == true,
                "\(error?.message ?? "")")
        }
    }

    @Test func concurrentPullsDownloadASharedLayerOnce() async throws {
        try await withRegistry { registry in
            let first = try TestImage(layers: [["etc/os-release": "shared base"], ["app": "first"]])
            let second = try TestImage(layers: [["etc/os-release": "shared base"], ["app": "second"]])
            let base = first.layers[0].descriptor.digest
            try #require(second.layers[0].descriptor.digest == base)
            registry.add(first, repository: "test/first", tag: "1")
            registry.add(second, repository: "test/second", tag: "1")
            // The base's answer waits until the second image's own layer is asked for, so both
            // pulls want the base at once.
            registry.state.withLock { state in
                state.held = base
                state.releasedBy = second.layers[1].descriptor.digest
            }
            let fixture = try PullFixture()
            defer { fixture.remove() }
            async let pulledFirst = fixture.pull("\(registry.host)/test/first:1")
            async let pulledSecond = fixture.pull("\(registry.host)/test/second:1")
            let (a, b) = try await (pulledFirst, pulledSecond)

            let baseDownloads = registry.requests.filter { $0.path.hasSuffix("/blobs/\(base)") }
            #expect(baseDownloads.count == 1)
            #expect(fixture.store.isComplete(a) && fixture.store.isComplete(b))
            let (lowersA, lowersB) = (fixture.store.lowerDirectories(a) ?? [], fixture.store.lowerDirectories(b) ?? [])
            #expect(lowersA.last == lowersB.last && lowersA.first != lowersB.first)
            #expect(contents(lowersA[0] + "/app") == "first" && contents(lowersB[0] + "/app") == "second")
        }
    }

    @Test func aMirrorIsToldTheRegistryAndRewritesTheRepository() async throws {
        try await withRegistry { registry in
            let image = try twoLayerImage()
            registry.add(image, repository: "mirrored/app", tag: "1.0")
            let config = RegistriesConfig(mirrors: ["docker.io": .init(endpoint: ["http://\(registry.host)"],
                                                                       rewrite: ["^library/(.*)": "mirrored/$1"])])
            let fixture = try PullFixture(registries: config)
            defer { fixture.remove() }
            let record = try await fixture.pull("app:1.0")
            #expect(record.name == "docker.io/library/app:1.0")
            #expect(fixture.store.isComplete(record))
            #expect(!registry.requests.isEmpty)
            #expect(registry.requests.allSatisfy { $0.path.hasPrefix("/v2/mirrored/app/") && $0.query("ns") == ["docker.io"] })
        }
    }
}
