import Foundation
import Synchronization
import Testing
@testable import SwiftletNodeAgent
import SwiftletClient
import SwiftletMachinery

/// The node's ServiceAccount tokens: fetched per pod, shared by equal sources, refreshed 80 %
/// into their life, kept through a failed refresh while they last, and written into the
/// projected volume.
@Suite struct ServiceAccountTokenTests {
    static func pod(sources: [JSONValue]) -> JSONValue {
        ["metadata": ["namespace": "shop", "name": "web", "uid": "uid-1"],
         "spec": ["serviceAccountName": "builder", "volumes": [
            ["name": "kube-api-access-abcde", "projected": ["defaultMode": 420, "sources": .array(sources)]],
         ]]]
    }

    /// A TokenRequest endpoint that counts its calls and can be made to fail.
    final class FakeTokens: Sendable {
        struct State { var calls: [(String, String, String, ServiceAccountTokenSource)] = []; var failing = false }
        let state = Mutex(State())
        let clock: ManualClock
        init(clock: ManualClock) { self.clock = clock }

        func manager() -> ServiceAccountTokenManager {
            ServiceAccountTokenManager(clock: clock) { [self] namespace, account, pod, source throws(APIError) in
                let failing = state.withLock { state in
                    state.calls.append((namespace, account, pod.uid, source))
                    return state.failing
                }
                if failing { throw APIError.forbidden(group: "", resource: "serviceaccounts", name: account, reason: "no") }
                let count = state.withLock { $0.calls.count }
                return ("token-\(count)", clock.now.addingTimeInterval(TimeInterval(source.expirationSeconds)))
            }
        }
    }

    @Test func tokensAreSharedPerSourceAndRefreshedEightyPercentIntoTheirLife() async throws {
        let clock = ManualClock()
        let fake = FakeTokens(clock: clock)
        let manager = fake.manager()
        let pod = Self.pod(sources: [
            ["serviceAccountToken": ["expirationSeconds": 3607, "path": "token"]],
            ["serviceAccountToken": ["expirationSeconds": 3607, "path": "again"]],
            ["serviceAccountToken": ["audience": "vault", "expirationSeconds": 600, "path": "vault"]],
        ])
        let first = try await manager.tokens(for: pod)
        #expect(first.tokens.count == 2)
        let calls = fake.state.withLock { $0.calls }
        #expect(calls.count == 2)
        #expect(calls[0].0 == "shop" && calls[0].1 == "builder" && calls[0].2 == "uid-1")
        #expect(calls.map(\.3) == [ServiceAccountTokenSource(audience: "", expirationSeconds: 3607),
                                   ServiceAccountTokenSource(audience: "vault", expirationSeconds: 600)])
        // The shorter token is due first: at 480 s of its 600.
        #expect(first.refreshAt == clock.now.addingTimeInterval(480))

        clock.advance(by: .seconds(479))
        #expect(try await manager.tokens(for: pod).tokens == first.tokens)
        #expect(fake.state.withLock { $0.calls.count } == 2)
        clock.advance(by: .seconds(1))
        let refreshed = try await manager.tokens(for: pod)
        #expect(fake.state.withLock { $0.calls.count } == 3)
        #expect(refreshed.tokens[ServiceAccountTokenSource(audience: "vault", expirationSeconds: 600)] == "token-3")
        #expect(refreshed.tokens[ServiceAccountTokenSource(audience: "", expirationSeconds: 3607)] == first.tokens[ServiceAccountTokenSource(audience: "", expirationSeconds: 3607)])
    }

    @Test func aFailedRefreshKeepsTheOldTokenUntilItExpires() async throws {
        let clock = ManualClock()
        let fake = FakeTokens(clock: clock)
        let manager = fake.manager()
        let pod = Self.pod(sources: [["serviceAccountToken": ["expirationSeconds": 600, "path": "token"]]])
        let first = try await manager.tokens(for: pod)
        fake.state.withLock { $0.failing = true }
        clock.advance(by: .seconds(500))
        let kept = try await manager.tokens(for: pod)
        #expect(kept.tokens == first.tokens)
        // Tried again soon, not at once in a loop.
        #expect(kept.refreshAt == clock.now.addingTimeInterval(ServiceAccountTokenManager.retryAfterFailure))
        clock.advance(by: .seconds(100))
        do {
            _ = try await manager.tokens(for: pod)
            Issue.record("an expired token must not be served")
        } catch {
            #expect(error.description.hasPrefix(#"MountVolume.SetUp failed for volume "kube-api-access-abcde" : failed to fetch token: "#))
        }
        // A pod that is gone takes its tokens along.
        fake.state.withLock { $0.failing = false }
        manager.forget(podUID: "uid-1")
        _ = try await manager.tokens(for: pod)
        #expect(fake.state.withLock { $0.calls.count } == 4)
    }

    @Test func theProjectedVolumeHoldsTokenCertificateAndNamespace() throws {
        let dir = NSTemporaryDirectory() + "swiftlet-token-volume-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let manager = VolumeManager(lookup: { kind, namespace, name in
            kind == "configmap" && namespace == "shop" && name == "kube-root-ca.crt" ? ["data": ["ca.crt": "PEM"]] : nil
        })
        let pod = Self.pod(sources: [
            ["serviceAccountToken": ["expirationSeconds": 3607, "path": "token"]],
            ["configMap": ["name": "kube-root-ca.crt", "items": [["key": "ca.crt", "path": "ca.crt"]]]],
            ["downwardAPI": ["items": [["path": "namespace", "fieldRef": ["apiVersion": "v1", "fieldPath": "metadata.namespace"]]]]],
        ])
        let paths = try manager.setUp(pod: pod, podDirectory: dir, hostIP: "192.0.2.2", podIP: nil, allocatable: [:],
                                      tokens: [ServiceAccountTokenSource(audience: "", expirationSeconds: 3607): "jwt"])
        let volume = try #require(paths["kube-api-access-abcde"])
        #expect(try String(contentsOfFile: volume + "/token", encoding: .utf8) == "jwt")
        #expect(try String(contentsOfFile: volume + "/ca.crt", encoding: .utf8) == "PEM")
        #expect(try String(contentsOfFile: volume + "/namespace", encoding: .utf8) == "shop")
        var info = stat()
        #expect(stat(volume + "/token", &info) == 0 && info.st_mode & 0o777 == 0o644)
        // Without its token the volume is not set up.
        #expect(throws: VolumeManager.SetUpError.self) {
            try manager.setUp(pod: pod, podDirectory: dir, hostIP: "", podIP: nil, allocatable: [:])
        }
    }
}
