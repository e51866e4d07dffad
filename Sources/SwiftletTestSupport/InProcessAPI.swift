import SwiftletAPI
import SwiftletAPIServer
import SwiftletClient
import SwiftletStorage

/// A real API server on a memory store, and a client of it as the in-process control plane
/// has one (LocalTransport, the admin's token): what the controller, scheduler and node agent
/// tests run against.
public struct InProcessAPI: Sendable {
    public static let token = "in-process-test-token"

    public let server: APIServer
    public let client: APIClient

    public init(configure: (inout APIServerConfig) -> Void = { _ in }) throws {
        var config = APIServerConfig()
        config.tokens = [Self.token: UserInfo(name: "admin", groups: ["system:masters"])]
        // No controller makes the namespaces' `default` ServiceAccounts here.
        config.serviceAccountAdmission = false
        configure(&config)
        server = try APIServer(config: config, store: MemoryStore())
        client = APIClient(transport: LocalTransport(server: server, token: Self.token))
    }
}
