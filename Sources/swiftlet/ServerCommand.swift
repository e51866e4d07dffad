import ArgumentParser
import Foundation
import NIOPosix
import NIOSSL
import SwiftletAPI
import SwiftletAPIServer
import SwiftletClient
import SwiftletControllers
import SwiftletNodeAgent
import SwiftletPKI
import SwiftletScheduler
import SwiftletSimulation
import SwiftletStorage

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run the control plane (API server) on an embedded datastore."
    )

    @Option(help: "Where state, keys and the kubeconfig live (default: /var/lib/swiftlet as root, else ~/.local/share/swiftlet).")
    var dataDir: String?

    @Option(help: "The HTTPS port.")
    var port: Int = 6443

    @Option(help: "The address to listen on.")
    var bind: String = "127.0.0.1"

    @Option(help: "The datastore: sqlite://PATH (default: sqlite://DATA_DIR/state.db) or memory://.")
    var datastore: String?

    @Option(help: "Also write the admin kubeconfig here.")
    var writeKubeconfig: String?

    @Option(help: "The Service IP range.")
    var serviceCidr: String = "10.43.0.0/16"

    @Option(help: "Extra names or addresses for the serving certificate (repeatable).")
    var tlsSan: [String] = []

    @Option(help: "Register N simulated nodes that run bound pods at once, without containers (as KWOK does).")
    var simulatedNodes = 0

    @Flag(help: "Run no node agent on this machine: a control plane only (with --simulated-nodes, or for `swiftlet agent` nodes).")
    var disableAgent = false

    @Option(help: "The name of this machine's node (default: the host name).")
    var nodeName: String?

    @Option(help: "How long pods without their own toleration stay on a node that is not ready or unreachable, in seconds.")
    var defaultTolerationSeconds = 300

    @Option(help: "Requests (other than watches and streams) served at once before more get 429.")
    var maxRequestsInflight = 400

    @Option(help: "Creates, updates, patches and deletes served at once before more get 429.")
    var maxMutatingRequestsInflight = 200

    @Option(help: "Seconds a client may take for its TLS handshake.")
    var tlsHandshakeTimeout = 10.0

    @Option(help: "Seconds a connection may take to send a whole request head, or stay idle between requests.")
    var requestHeaderTimeout = 60.0

    @Option(help: "Seconds a client may take to send a request's body.")
    var requestBodyTimeout = 60.0

    @Flag(help: "Start on an empty datastore although DATA_DIR holds a cluster's CA; an existing datastore file is moved aside (to PATH.reset-UNIXTIME), not deleted.")
    var resetDatastore = false

    @Option(help: "How often the server snapshots its SQLite datastore, as a duration (12h, 30m, 90s); 0 turns scheduled snapshots off.")
    var snapshotInterval = "12h"

    @Option(help: "How many scheduled snapshots to keep; older ones are removed.")
    var snapshotRetention = 5

    @Option(help: "Where snapshots are kept (default: DATA_DIR/snapshots).")
    var snapshotDir: String?

    @Flag(help: "Encrypt Secrets in the datastore (AES-GCM, with a key written to DATA_DIR/cred/encryption-config.json, owner-only). Once that file exists, the server always uses it.")
    var secretsEncryption = false

    func validate() throws {
        guard Self.parseDuration(snapshotInterval) != nil else {
            throw ValidationError("invalid --snapshot-interval \(snapshotInterval): use a duration such as 12h, 30m or 90s, or 0")
        }
        guard snapshotRetention >= 1 else { throw ValidationError("--snapshot-retention must be at least 1") }
    }

    func run() async throws {
        let started = ContinuousClock.now
        let dataDir = self.dataDir ?? Self.defaultDataDir()
        try SecureFiles.createDirectory(dataDir, mode: 0o700)
        try SecureFiles.setMode(dataDir, 0o700)
        guard try ServerLock.acquireForProcessLifetime(dataDir: dataDir) else {
            throw CommandFailure("swiftlet server: another swiftlet server is running on \(dataDir) (it holds \(ServerLock.path(dataDir: dataDir)))")
        }
        let datastoreURL = datastore ?? "sqlite://\(dataDir)/state.db"
        let databasePath = datastoreURL.hasPrefix("sqlite://") ? String(datastoreURL.dropFirst("sqlite://".count)) : nil
        if let databasePath { try prepareDatastore(databasePath, dataDir: dataDir) }
        let agent = disableAgent ? nil : try agentConfig(dataDir: dataDir)

        var config = APIServerConfig()
        config.securePort = port
        config.serviceCIDR = serviceCidr
        config.defaultTolerationSeconds = Int64(defaultTolerationSeconds)
        config.maxRequestsInFlight = maxRequestsInflight
        config.maxMutatingRequestsInFlight = maxMutatingRequestsInflight
        Self.raiseOpenFileLimit()
        config.advertiseAddress = bind == "0.0.0.0" || bind == "::" ? (hostAddresses().first ?? "127.0.0.1") : bind

        let serviceIP = try Self.firstServiceIP(serviceCidr)
        let names = try CertificateNames.apiServer(serviceIP: serviceIP, extra: [bind] + tlsSan + hostAddresses())
        let pki = try ClusterPKI.loadOrCreate(dataDirectory: dataDir, servingNames: names)
        let tokens = try ClusterTokens.loadOrCreate(dataDirectory: dataDir, caCertificatePEM: pki.caCertificatePEM)
        config.caCertificatePEM = pki.caCertificatePEM
        config.issueNodeClientCertificate = { [pki] node in
            let issued = try pki.issueCertificate(commonName: "system:node:\(node)", organizations: ["system:nodes"], purposes: .client)
            return (issued.certificatePEM, issued.privateKeyPEM)
        }
        config.issueNodeServingCertificate = { [pki] node, names in
            var sans = CertificateNames()
            for name in names { try sans.insert(name) }
            let issued = try pki.issueCertificate(commonName: "system:node:\(node)", organizations: ["system:nodes"], names: sans,
                                                  purposes: .server)
            return (issued.certificatePEM, issued.privateKeyPEM)
        }
        config.serviceAccountTokens = try ServiceAccountTokens.loadOrCreate(dataDirectory: dataDir)
        config.tokens = [
            tokens.adminToken: UserInfo(name: "system:admin", groups: ["system:masters", "system:authenticated"]),
            // The join token only bootstraps: agents trade it for credentials of their own. The
            // node-token file's whole text works as well as the secret in it.
            tokens.nodeToken: UserInfo(name: "system:node-bootstrap", groups: ["system:bootstrappers", "system:authenticated"]),
            tokens.joinToken.text: UserInfo(name: "system:node-bootstrap", groups: ["system:bootstrappers", "system:authenticated"]),
        ]

        var store = try Self.openDatastore(datastoreURL, dataDir: dataDir)
        if let encryption = try SecretsEncryption.configuration(dataDir: dataDir, create: secretsEncryption) {
            store = EncryptedStore(base: store, configuration: encryption)
        }
        // Loading the watch caches reads every live row, and so checks each one's checksum.
        let server: APIServer
        do {
            server = try APIServer(config: config, store: store)
        } catch let error as StoreError {
            store.close()
            throw Self.refusal(error, dataDir: dataDir)
        }
        server.nodeStreaming.remoteToken = tokens.nodeToken
        server.nodeStreaming.remoteTLS = try Self.nodeClientTLS(pki)

        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(pki.servingCertificatePEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(pki.servingKeyPEM.utf8), format: .pem)))
        tls.applicationProtocols = ["http/1.1"]
        // Client certificates signed by the cluster CA authenticate users (`swiftlet kubeconfig`);
        // clients without one use a bearer token.
        tls.certificateVerification = .optionalVerification
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(pki.caCertificatePEM.utf8)))
        let sslContext = try NIOSSLContext(configuration: tls)

        let timeouts = ConnectionTimeouts(tlsHandshake: .milliseconds(Int64(tlsHandshakeTimeout * 1000)),
                                          requestHead: .milliseconds(Int64(requestHeaderTimeout * 1000)),
                                          requestBody: .milliseconds(Int64(requestBodyTimeout * 1000)))
        let http = HTTPServer(host: bind, port: port, tls: sslContext, group: .singletonMultiThreadedEventLoopGroup,
                              timeouts: timeouts, checkHead: { server.checkHead($0) },
                              webSocket: { await server.webSocketUpgrade($0) }, handler: { await server.handle($0) })
        let bound = try await http.bind()

        let clientHost = bind == "0.0.0.0" ? "127.0.0.1" : (bind == "::" ? "::1" : bind)
        let kubeconfig = Kubeconfig(server: Kubeconfig.serverURL(host: clientHost, port: bound.port),
                                    certificateAuthorityPEM: pki.caCertificatePEM, token: tokens.adminToken)
        let kubeconfigPath = dataDir + "/kubeconfig.yaml"
        try kubeconfig.write(to: kubeconfigPath)
        if let extra = writeKubeconfig { try kubeconfig.write(to: extra) }

        let elapsed = ContinuousClock.now - started
        // Written unbuffered: scripts wait for this text on a pipe.
        FileHandle.standardOutput.write(Data("""
            swiftlet server ready on https://\(clientHost):\(bound.port) in \(elapsed.formatted(.units(allowed: [.milliseconds])))
              datastore:  \(datastoreURL)
              kubeconfig: \(kubeconfigPath)
            use it with:  export KUBECONFIG=\(kubeconfigPath); kubectl get nodes

            """.utf8))

        let compaction = Task.detached {
            // Keep a window of history for watches that resume, and let the rest go.
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(300))
                _ = try? store.compactIfNeeded(keepRevisions: 1000)
            }
        }
        let snapshots = databasePath.flatMap { database in
            scheduleSnapshots(database: database, dataDir: dataDir, node: agent?.nodeName ?? nodeName ?? NodeAgentConfig.machineHostName())
        }
        let memoryReturn = ReturnFreedMemory.every(.seconds(10))
        let serving = Task { try await http.serve(bound) }
        let controlPlane = Task {
            await Self.runControlPlane(server: server, token: tokens.adminToken, caCertificatePEM: pki.caCertificatePEM,
                                          simulatedNodes: simulatedNodes, agent: agent)
        }
        await Self.waitForTerminationSignal()
        print("swiftlet server shutting down")
        controlPlane.cancel()
        // The node agent takes its Service rules down as it stops; the store must still be open.
        await Self.waitForEnd(of: controlPlane, atMost: .seconds(5))
        serving.cancel()
        compaction.cancel()
        snapshots?.cancel()
        memoryReturn?.cancel()
        server.shutdown()
        store.close()
    }

    /// Opens the datastore; a damaged one is refused with the ways to recover.
    static func openDatastore(_ url: String, dataDir: String) throws -> any Store {
        let result = Result { () throws(StoreError) -> any Store in try openStore(url: url) }
        guard case .failure(let error) = result else { return try result.get() }
        throw refusal(error, dataDir: dataDir)
    }

    /// A datastore error at start, as the operator should read it: damage comes with the ways
    /// to recover.
    static func refusal(_ error: StoreError, dataDir: String) -> any Error {
        guard case .corrupt(let problem) = error else { return error }
        return CommandFailure("""
            swiftlet server: the datastore \(problem)
            It is left as it is. To recover, either restore a snapshot (list them with `swiftlet datastore snapshot ls --data-dir \(dataDir)`, \
            then `swiftlet datastore snapshot restore NAME --data-dir \(dataDir)`), or start an empty cluster that keeps this CA with --reset-datastore, \
            which moves the damaged file aside.
            """)
    }

    /// Refuses to start a new, empty cluster in a data dir that already holds one's CA: a
    /// missing or empty datastore there means the cluster's objects were lost, and the
    /// operator should restore a snapshot rather than find an empty cluster with the old
    /// credentials. `--reset-datastore` is the way to say an empty one is wanted.
    func prepareDatastore(_ database: String, dataDir: String) throws {
        let size = (try? FileManager.default.attributesOfItem(atPath: database))?[.size] as? Int
        if resetDatastore {
            guard FileManager.default.fileExists(atPath: database) else { return }
            let aside = database + ".reset-\(Int64(Date().timeIntervalSince1970))"
            for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: database + suffix) {
                try FileManager.default.moveItem(atPath: database + suffix, toPath: aside + suffix)
            }
            FileHandle.standardError.write(Data("swiftlet server: --reset-datastore: moved \(database) to \(aside); starting on an empty datastore\n".utf8))
            return
        }
        let ca = PKILayout(dataDirectory: dataDir).caCertificatePath
        guard (size ?? 0) == 0, FileManager.default.fileExists(atPath: ca) else { return }
        throw CommandFailure("""
            swiftlet server: \(database) is \(size == nil ? "missing" : "empty"), but \(dataDir) holds a cluster's CA (\(ca)): \
            the cluster's objects are gone, and starting would make an empty cluster with the old credentials. \
            Restore a snapshot (`swiftlet datastore snapshot ls --data-dir \(dataDir)`, then `swiftlet datastore snapshot restore NAME --data-dir \(dataDir)`), \
            or pass --reset-datastore to start an empty cluster that keeps this CA.
            """)
    }

    /// Snapshots the datastore every `--snapshot-interval` as `scheduled-NODE-UNIXTIME`,
    /// keeping the newest `--snapshot-retention` (k3s: every 12 hours, 5 kept).
    func scheduleSnapshots(database: String, dataDir: String, node: String) -> Task<Void, Never>? {
        guard let interval = Self.parseDuration(snapshotInterval), interval > .zero else { return nil }
        let directory = SnapshotDirectory(path: snapshotDir ?? Self.defaultSnapshotDir(dataDir: dataDir))
        let retention = snapshotRetention
        return Task.detached {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { break }
                do {
                    let saved = try directory.save(database: database, name: "scheduled", node: node)
                    directory.prune(prefix: "scheduled-\(node)-", keep: retention)
                    ClientLog.standardError("swiftlet server: saved snapshot \(saved.path)")
                } catch {
                    ClientLog.standardError("swiftlet server: scheduled snapshot failed: \(error)")
                }
            }
        }
    }

    static func defaultSnapshotDir(dataDir: String) -> String { dataDir + "/snapshots" }

    /// A duration as Go writes them (`12h`, `1h30m`, `90s`, `500ms`), or `0`.
    static func parseDuration(_ text: String) -> Duration? {
        if text == "0" { return .zero }
        let units: [(suffix: String, nanoseconds: Double)] = [("ms", 1e6), ("h", 3.6e12), ("m", 6e10), ("s", 1e9)]
        var rest = Substring(text)
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            guard let unit = units.first(where: { rest.hasPrefix($0.suffix) }) else { return nil }
            rest = rest.dropFirst(unit.suffix.count)
            total += value * unit.nanoseconds
        }
        guard total > 0, total < 1e18 else { return nil }
        return .nanoseconds(Int64(total))
    }

    /// This machine's node: its pods and containers under DATA_DIR/agent, its images,
    /// registries.yaml and airgap archives in DATA_DIR itself.
    func agentConfig(dataDir: String) throws -> NodeAgentConfig {
        let name = nodeName ?? NodeAgentConfig.machineHostName()
        let address = bind == "0.0.0.0" || bind == "::" || bind.hasPrefix("127.") ? hostAddresses().first : bind
        var config = NodeAgentConfig.forNode(name, dataDirectory: dataDir + "/agent", podCIDR: nil, bridgeName: nil, nodeIP: address)
        try config.placeImageFiles(in: dataDir)
        try Self.requireShim(config, command: "server", orElse: "or run with --disable-agent")
        return config
    }

    /// How the API server dials joined agents: trusting the cluster CA, and showing a client
    /// certificate for `kube-apiserver-kubelet-client` issued at each start (agents serve only it).
    static func nodeClientTLS(_ pki: ClusterPKI) throws -> NIOSSLContext {
        let client = try pki.issueCertificate(commonName: NodeStreamingRegistry.clientCommonName, organizations: ["system:masters"],
                                              purposes: .client)
        return try NIOSSLContext(configuration: .clusterClient(caCertificatePEM: pki.caCertificatePEM, certificatePEM: client.certificatePEM,
                                                               keyPEM: client.privateKeyPEM))
    }

    /// A node agent runs its containers through swiftlet-shim, installed beside `swiftlet`:
    /// without it no pod could start, so the command refuses to, and says what to do.
    static func requireShim(_ config: NodeAgentConfig, command: String, orElse alternative: String = "") throws {
        let shim = config.programDirectory + "/swiftlet-shim"
        guard access(shim, X_OK) == 0 else {
            throw CommandFailure("swiftlet \(command): \(shim) is missing: build every product (`swift build -c release`, or `make build`) so the shim is installed beside swiftlet\(alternative.isEmpty ? "" : ", " + alternative)")
        }
    }

    /// The controllers, the scheduler, simulated nodes and this machine's node agent, as in-process
    /// clients of the API server: they go through the same validation and admission as kubectl, without HTTP.
    static func runControlPlane(server: APIServer, token: String, caCertificatePEM: String, simulatedNodes: Int,
                                agent agentConfig: NodeAgentConfig?) async {
        // Each component is its own user, with only the roles upstream gives it, and writes under
        // its upstream name, which managedFields show. The shared informers list and watch as the
        // controller manager; each controller writes as its ServiceAccount in kube-system.
        let admin = APIClient(transport: LocalTransport(server: server, token: token))
        @Sendable func client(_ user: UserInfo, writingAs component: String) -> APIClient {
            APIClient(transport: LocalTransport(server: server, user: user)).writing(as: component)
        }
        let manager = client(UserInfo(name: "system:kube-controller-manager", groups: ["system:authenticated"]),
                             writingAs: "kube-controller-manager")
        await ensureControllerServiceAccounts(admin)
        let informers = SharedInformerFactory(client: manager)
        let context = ControllerContext(client: manager, informers: informers, controllerClient: { account in
            client(UserInfo(name: "system:serviceaccount:\(BootstrapPolicy.controllerNamespace):\(account)",
                            groups: ["system:serviceaccounts", "system:serviceaccounts:\(BootstrapPolicy.controllerNamespace)",
                                     "system:authenticated"]),
                   writingAs: "kube-controller-manager")
        })
        // Everything registers its informer handlers when made, before the informers start.
        let controllers: [any Controller] = [
            ReplicaSetController(context: context),
            ReplicaSetController(context: context, kind: .replicationController),
            DeploymentController(context: context),
            DaemonSetController(context: context),
            EndpointsController(context: context),
            EndpointSliceController(context: context),
            GarbageCollector(context: context),
            ClusterRoleAggregationController(context: context),
            NamespaceController(context: context),
            NodeLifecycleController(context: context),
            NodeIPAMController(context: context),
            ServiceLoadBalancerController(context: context),
            DisruptionController(context: context),
            ServiceAccountsController(context: context),
            RootCACertificatePublisher(context: context, caCertificatePEM: caCertificatePEM),
        ]
        let controllerManager = ControllerManager(context: context, controllers: controllers)
        let scheduler = Scheduler(client: client(UserInfo(name: "system:kube-scheduler", groups: ["system:authenticated"]),
                                                 writingAs: "kube-scheduler"),
                                  informers: informers, log: ClientLog.standardError)
        // Simulated nodes stand for many nodes at once, as KWOK does with its own privileged client.
        let simulation = simulatedNodes > 0
            ? SimulatedNodes(client: admin.writing(as: "swiftlet-simulated-node"), informers: informers, count: simulatedNodes, log: ClientLog.standardError)
            : nil
        var agent: NodeAgent?
        if let agentConfig {
            do {
                let node = UserInfo(name: RBAC.nodeUserPrefix + agentConfig.nodeName, groups: [RBAC.nodesGroup, "system:authenticated"])
                agent = try NodeAgent(config: agentConfig, client: client(node, writingAs: "kubelet"), informers: informers)
            } catch {
                ClientLog.standardError("swiftlet server: the node agent cannot start: \(error)")
            }
        }
        if let agent { server.nodeStreaming.register(nodeName: agent.config.nodeName, agent.streaming) }
        await withDiscardingTaskGroup { group in
            group.addTask { await controllerManager.run() }
            group.addTask { await scheduler.run(workers: 4) }
            if let agent { group.addTask { await agent.run() } }
            if let simulation { group.addTask { await simulation.run() } }
        }
    }

    /// Each controller's ServiceAccount in kube-system, as kube-controller-manager's client
    /// builder makes them; the controllers act as these users (bound to their roles).
    static func ensureControllerServiceAccounts(_ admin: APIClient) async {
        for (name, _) in BootstrapPolicy.controllerRoles {
            do {
                _ = try await admin.create(Resources.serviceaccounts, namespace: BootstrapPolicy.controllerNamespace, [
                    "apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": ["name": .string(name), "namespace": .string(BootstrapPolicy.controllerNamespace)],
                ])
            } catch {
                if error.code != 409 { ClientLog.standardError("swiftlet server: creating the ServiceAccount of \(name): \(error.message)") }
            }
        }
    }

    /// Every connection is a file: the soft limit (often 1,024) goes up to the hard one, as Go
    /// programs such as kube-apiserver do at start.
    static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    static func defaultDataDir() -> String {
        if getuid() == 0 { return "/var/lib/swiftlet" }
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSTemporaryDirectory()
        return home + "/.local/share/swiftlet"
    }

    static func firstServiceIP(_ cidr: String) throws -> String {
        guard let parsed = IPv4CIDR(cidr) else { throw ValidationError("invalid --service-cidr \(cidr)") }
        return parsed.address(1)
    }

    /// Waits for a cancelled task to wind down, but never longer than `limit`: a stuck
    /// request must not keep the process from exiting.
    static func waitForEnd(of task: Task<Void, Never>, atMost limit: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await task.value }
            group.addTask { try? await Task.sleep(for: limit) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Returns on SIGINT or SIGTERM, so the datastore is closed cleanly.
    static func waitForTerminationSignal() async {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let once = SignalOnce(continuation)
            for sig in [SIGINT, SIGTERM] {
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                source.setEventHandler { once.fire() }
                source.resume()
                SignalOnce.sources.append(source)
            }
        }
    }
}

/// Resumes a continuation once, whichever signal comes first.
private final class SignalOnce: @unchecked Sendable {
    nonisolated(unsafe) static var sources: [DispatchSourceSignal] = []
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Void, Never>?
    init(_ c: CheckedContinuation<Void, Never>) { continuation = c }
    func fire() {
        lock.lock()
        let c = continuation
        continuation = nil
        lock.unlock()
        c?.resume()
    }
}

/// A command that cannot go on: ArgumentParser prints its one line and exits with 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
