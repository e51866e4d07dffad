import ArgumentParser
import Foundation
import SwiftletNodeAgent

struct CleanupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cleanup",
        abstract: "Stop every pod's containers and remove everything Swiftlet set up on this machine.",
        discussion: """
            Containers, their shims, mounts and cgroups, pod network namespaces, veths and bridges, \
            and the agents' pod folders. The datastore, keys and kubeconfig stay: a server started \
            again finds its objects, and its agent starts their pods afresh.
            """
    )

    @Option(help: "A server's or agent's data dir (default: /var/lib/swiftlet and every agent-* beside it).")
    var dataDir: String?

    func run() async throws {
        let roots = dataDir.map { [$0] } ?? Self.defaultRoots()
        var removed = 0
        for root in roots {
            // A server keeps its node's state in DATA_DIR/agent; `swiftlet agent` in its own data dir.
            for agentDirectory in [root + "/agent", root] where NodeAgentCleanup.isAgentDirectory(agentDirectory) {
                removed += await NodeAgentCleanup.removeEverything(dataDirectory: agentDirectory)
            }
        }
        print("swiftlet cleanup: removed \(removed) containers")
    }

    static func defaultRoots() -> [String] {
        let base = "/var/lib/swiftlet"
        let agents = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [])
            .filter { $0.hasPrefix("agent-") }.map { base + "/" + $0 }
        return [base] + agents
    }
}
