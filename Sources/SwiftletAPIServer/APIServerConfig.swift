import Foundation
import SwiftletAPI
import SwiftletPKI

/// How an API server is set up. Everything has the defaults `swiftlet server` uses.
public struct APIServerConfig: Sendable {
    /// The address clients use to reach the server, published in the `kubernetes` Endpoints.
    public var advertiseAddress: String = "127.0.0.1"
    public var securePort: Int = 6443
    public var serviceCIDR: String = "10.43.0.0/16"
    public var nodePortRange: ClosedRange<Int> = 30000...32767
    /// Bearer tokens and who they authenticate.
    public var tokens: [String: UserInfo] = [:]
    /// The cluster CA, served to anyone at `/cacerts` as k3s serves it: a joining agent checks
    /// it against the hash its token carries before trusting the server.
    public var caCertificatePEM: String?
    /// Issues a node agent's serving certificate for its streaming port (node name, its
    /// addresses and names) from the cluster CA: `POST /v1-swiftlet/node-serving-certificate`,
    /// as k3s's supervisor hands kubelets theirs. Nil issues none.
    public var issueNodeServingCertificate: (@Sendable (_ node: String, _ names: [String]) throws -> (certificatePEM: String, keyPEM: String))?
    /// Issues a node's own client certificate (`system:node:NAME`, group `system:nodes`):
    /// `POST /v1-swiftlet/node-client-certificate`. Nil issues none.
    public var issueNodeClientCertificate: (@Sendable (_ node: String) throws -> (certificatePEM: String, keyPEM: String))?
    /// Signs and verifies ServiceAccount tokens (TokenRequest, `kubectl create token`); nil
    /// serves none.
    public var serviceAccountTokens: ServiceAccountTokens?
    /// Upstream's ServiceAccount admission on pod creation (`ServiceAccountAdmission`): a pod's
    /// ServiceAccount must exist, and it gets a projected token volume. Tests of a bare API
    /// server, where no controller makes each namespace's `default` ServiceAccount, turn it off
    /// as kube-apiserver's `--disable-admission-plugins=ServiceAccount` does.
    public var serviceAccountAdmission = true
    /// The tolerationSeconds of the not-ready and unreachable NoExecute tolerations the
    /// DefaultTolerationSeconds admission gives pods that have none of their own.
    public var defaultTolerationSeconds: Int64 = 300
    /// Requests served at once before more get 429 (kube-apiserver's --max-requests-inflight and
    /// --max-mutating-requests-inflight); watches and other long-running requests do not count.
    public var maxRequestsInFlight = 400
    public var maxMutatingRequestsInFlight = 200
    /// Bookmarks go to watchers that asked for them this often.
    public var bookmarkInterval: Duration = .seconds(60)
    /// The time source; tests inject their own.
    public var clock: @Sendable () -> Date = { Date() }
    /// The random end of generated names (`generateName`); tests inject their own.
    public var nameSuffix: @Sendable () -> String = { ResourceStorage.randomNameSuffix() }

    public init() {}
}
