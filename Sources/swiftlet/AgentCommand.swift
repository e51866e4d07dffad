import ArgumentParser
import Foundation
import NIOSSL
import SwiftletAPIServer
import SwiftletMachinery
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

    @Option(help: "The join token, the server's DATA_DIR/node-token (K10<CA hash>::node:<secret>). Prefer --token-file or SWIFTLET_TOKEN: a command line is visible to every user of the machine.")
    var token: String?

    @Option(help: "A file holding the join token.")
    var tokenFile: String?

    @Option(help: "The cluster CA certificate. Without it, the agent fetches the server's CA and checks it against the hash in the token.")
    var caFile: String?

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
        let join = try joinToken()
        let caPEM = try await clusterCA(join, host: host, port: url.port ?? 6443)
        let token = join.secret
        let name = nodeName ?? NodeAgentConfig.machineHostName()
        let directory = dataDir ?? "/var/lib/swiftlet/agent-\(name)"
        try SecureFiles.createDirectory(directory, mode: 0o700)
        // As k3s's /etc/rancher/node/password: the server holds this node name for this password.
        let password = try Tokens.loadOrCreate(at: directory + "/node-password")
        let credentials = try await nodeCredentials(node: name, password: password, directory: directory, join: join, caPEM: caPEM,
                                                    host: host, port: url.port ?? 6443)
        let transport = try HTTPSTransport(host: host, port: url.port ?? 6443, caCertificatePEM: caPEM,
                                           clientCertificatePEM: credentials.certificate, clientKeyPEM: credentials.key)
        let client = APIClient(transport: transport).writing(as: "kubelet")
        var config = NodeAgentConfig.forNode(name, dataDirectory: directory, podCIDR: podCidr, bridgeName: bridge,
                                             nodeIP: nodeIp ?? hostAddresses().first)
        try config.placeImageFiles(in: directory)
        try ServerCommand.requireShim(config, command: "agent")
        let agent = try NodeAgent(config: config, client: client, informers: SharedInformerFactory(client: client))
        // The API server dials the node's address, and shows the join token it handed out.
        let tls = try await streamingTLS(transport: transport, node: name, password: password, address: config.nodeIP, caPEM: caPEM)
        let streaming = try await agent.serveStreaming(host: "0.0.0.0", port: streamingPort, token: token, tls: tls)
        print("swiftlet agent: node \(name) joining \(server), streaming on port \(streaming.port)")
        let running = Task { await agent.run() }
        await ServerCommand.waitForTerminationSignal()
        print("swiftlet agent shutting down (pods keep running)")
        running.cancel()
        await ServerCommand.waitForEnd(of: running, atMost: .seconds(5))
        await streaming.close()
    }

    /// The node's own credentials (`system:node:NAME`, group `system:nodes`), kept owner-only in
    /// `DIR/tls/node.crt` and `node.key`: traded for the join token on first start, as k3s's
    /// agents trade theirs, and renewed (with themselves) when less than 30 days are left.
    func nodeCredentials(node: String, password: String, directory: String, join: JoinToken, caPEM: String, host: String, port: Int) async throws
        -> (certificate: String, key: String) {
        let tlsDirectory = directory + "/tls"
        let certificatePath = tlsDirectory + "/node.crt", keyPath = tlsDirectory + "/node.key"
        var current: (certificate: String, key: String)?
        if let certificate = try SecureFiles.readIfExists(certificatePath), let key = try SecureFiles.readIfExists(keyPath),
           let identity = ClientCertificates.identity(pem: certificate), identity.name == "system:node:\(node)" {
            current = (certificate, key)
            if identity.notValidAfter.timeIntervalSinceNow > 30 * 24 * 60 * 60 { return (certificate, key) }
        }
        let transport = try current.map { try HTTPSTransport(host: host, port: port, caCertificatePEM: caPEM,
                                                            clientCertificatePEM: $0.certificate, clientKeyPEM: $0.key) }
            ?? HTTPSTransport(host: host, port: port, caCertificatePEM: caPEM, token: join.secret)
        let certificate: String, key: String
        do {
            (certificate, key) = try await requestCertificate(transport, APIServer.nodeClientCertificatePath,
                                                              ["nodeName": .string(node), "nodePassword": .string(password)])
        } catch {
            if let current { return current }  // still valid for a while: keep going, try again at the next start
            throw CommandFailure("swiftlet agent: the server gave this node no credentials: \(error)")
        }
        try SecureFiles.createDirectory(tlsDirectory, mode: 0o700)
        try SecureFiles.writeAtomically(keyPath, contents: key, mode: 0o600)
        try SecureFiles.writeAtomically(certificatePath, contents: certificate, mode: 0o600)
        return (certificate, key)
    }

    /// The TLS the streaming port serves: a certificate the server issues for this node's
    /// address, and the cluster CA, against which the API server's client certificate must verify.
    func streamingTLS(transport: HTTPSTransport, node: String, password: String, address: String?, caPEM: String) async throws -> NIOSSLContext {
        let names = [address, node].compactMap { $0 }.filter { !$0.isEmpty }
        let certificate: String, key: String
        do {
            (certificate, key) = try await requestCertificate(transport, APIServer.nodeServingCertificatePath,
                                                              ["nodeName": .string(node), "nodePassword": .string(password),
                                                               "names": .array(names.map { .string($0) })])
        } catch {
            throw CommandFailure("swiftlet agent: the server issued no certificate for the streaming port: \(error)")
        }
        return try NIOSSLContext(configuration: .clusterServerRequiringClientCertificates(
            caCertificatePEM: caPEM, certificatePEM: certificate, keyPEM: key))
    }

    /// A certificate and key the server issues at `path` for `body`.
    func requestCertificate(_ transport: HTTPSTransport, _ path: String, _ body: JSONValue) async throws -> (certificate: String, key: String) {
        let response = await transport.send(HTTPRequest(method: .POST, uri: path, headers: ["Content-Type": "application/json"],
                                                        body: JSONWriter.write(body)))
        let bytes: [UInt8]
        if case .bytes(let b) = response.body { bytes = b } else { bytes = [] }
        let answer = try? JSONParser.parse(bytes).value
        guard response.status == .created, let certificate = answer?["certificate"]?.stringValue, let key = answer?["key"]?.stringValue else {
            // A refusal is a Status: its message is what the operator needs to read.
            throw TransportFailure("\(response.status.code): \(answer?["message"]?.stringValue ?? String(decoding: bytes, as: UTF8.self))")
        }
        return (certificate, key)
    }

    /// The token from --token, --token-file or SWIFTLET_TOKEN, in that order.
    func joinToken() throws -> JoinToken {
        let text: String
        if let token {
            text = token
        } else if let tokenFile {
            do { text = try String(contentsOfFile: tokenFile, encoding: .utf8) } catch {
                throw CommandFailure("swiftlet agent: cannot read the token file \(tokenFile): \(error.localizedDescription)")
            }
        } else if let environment = ProcessInfo.processInfo.environment["SWIFTLET_TOKEN"] {
            text = environment
        } else {
            throw CommandFailure("swiftlet agent: a join token is needed: --token-file FILE, the SWIFTLET_TOKEN environment variable, or --token (the server's DATA_DIR/node-token)")
        }
        guard let join = JoinToken(text) else {
            throw CommandFailure("swiftlet agent: the join token is malformed: expected K10<sha256>::node:<secret> as the server's DATA_DIR/node-token holds it")
        }
        return join
    }

    /// The cluster CA: --ca-file, or the server's own, fetched and checked against the token's
    /// hash as k3s agents check it, so that a machine with no copy of it can join safely.
    func clusterCA(_ join: JoinToken, host: String, port: Int) async throws -> String {
        if let caFile {
            do { return try String(contentsOfFile: caFile, encoding: .utf8) } catch {
                throw CommandFailure("swiftlet agent: cannot read the CA certificate \(caFile): \(error.localizedDescription)")
            }
        }
        guard let expected = join.caHash else {
            throw CommandFailure("swiftlet agent: the token carries no CA hash; pass --ca-file with the cluster CA (the server's DATA_DIR/tls/ca.crt), or use the K10 token in the server's DATA_DIR/node-token")
        }
        let served: [UInt8]
        do { served = try await HTTPSTransport.unverifiedCACertificate(host: host, port: port) } catch {
            throw CommandFailure("swiftlet agent: cannot fetch the cluster CA from \(host):\(port): \(error)")
        }
        let actual = JoinToken.hash(served)
        guard actual == expected else {
            throw CommandFailure("swiftlet agent: the server's CA certificate does not match the join token (its sha256 is \(actual), the token expects \(expected)); refusing to join")
        }
        return String(decoding: served, as: UTF8.self)
    }
}
