import ArgumentParser
import Foundation
import SwiftletClient
import SwiftletNodeAgent
import SwiftletPKI

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Join this machine (or another node on it) to a cluster as a node that runs pods."
    )

    @Option(help: "The API server, e.g. https://127.0.0.1:6443.")
    var server: String

    @Option(help: "The join token: the server's DATA_DIR/node-token.")
    var token: String

    @Option(help: "The cluster CA certificate (default: /var/lib/swiftlet/tls/ca.crt, the local server's).")
    var caFile: String = "/var/lib/swiftlet/tls/ca.crt"

    @Option(help: "The node's name (default: the host name). Several agents on one machine need distinct names.")
    var nodeName: String?

    @Option(help: "Where the agent keeps pods and containers (default: /var/lib/swiftlet/agent-NODE).")
    var dataDir: String?

    @Option(help: "The node's pod address range (default: assigned by the control plane, 10.42.N.0/24).")
    var podCidr: String?

    @Option(help: "The Linux bridge for the node's pods (default: derived from the node name).")
    var bridge: String?

    @Option(help: "The node's address (default: the machine's first address).")
    var nodeIp: String?

    @Option(help: "The port the API server reaches this node's logs and exec on (default: 0, any free port).")
    var streamingPort: Int = 0

    func run() async throws {
        guard let url = URL(string: server), url.scheme == "https", let host = url.host else {
            throw ValidationError("--server must be an https:// URL")
        }
        let caPEM = try String(contentsOfFile: caFile, encoding: .utf8)
        let transport = try HTTPSTransport(host: host, port: url.port ?? 6443, caCertificatePEM: caPEM, token: token)
        let client = APIClient(transport: transport).writing(as: "kubelet")
        let name = nodeName ?? NodeAgentConfig.machineHostName()
        let directory = dataDir ?? "/var/lib/swiftlet/agent-\(name)"
        var config = NodeAgentConfig.forNode(name, dataDirectory: directory, podCIDR: podCidr, bridgeName: bridge,
                                             nodeIP: nodeIp ?? hostAddresses().first)
        try config.placeImageFiles(in: directory)
        try ServerCommand.requireShim(config, command: "agent")
        let agent = try NodeAgent(config: config, client: client, informers: SharedInformerFactory(client: client))
        // The API server dials the node's address, and shows the join token it handed out.
        let streaming = try await agent.serveStreaming(host: "0.0.0.0", port: streamingPort, token: token)
        print("swiftlet agent: node \(name) joining \(server), streaming on port \(streaming.port)")
        let running = Task { await agent.run() }
        await ServerCommand.waitForTerminationSignal()
        print("swiftlet agent shutting down (pods keep running)")
        running.cancel()
        await ServerCommand.waitForEnd(of: running, atMost: .seconds(5))
        await streaming.close()
    }
}
