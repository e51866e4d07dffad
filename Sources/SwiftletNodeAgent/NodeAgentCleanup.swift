import Foundation
import SwiftletPodNetwork
import SwiftletProxy
import SwiftletRuntime

/// `swiftlet cleanup` for one agent: everything the agent made on the machine goes, found
/// through the record the agent leaves in its data dir (`agent.json`: node, bridge, CIDR).
public enum NodeAgentCleanup {
    static let recordName = "agent.json"

    struct Record: Codable {
        var nodeName: String
        var bridgeName: String
        var podCIDR: String
        var runDirectory: String
    }

    public static func isAgentDirectory(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path + "/" + recordName)
    }

    static func write(_ record: Record, dataDirectory: String) {
        try? FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        if let data = try? JSONEncoder().encode(record) {
            try? data.write(to: URL(fileURLWithPath: dataDirectory + "/" + recordName), options: .atomic)
        }
    }

    /// Stops and removes every container, the pod network (namespaces, veths, bridge), the
    /// Service rules, pod folders with their mounts, and the agent's cgroups. Returns how many containers went.
    public static func removeEverything(dataDirectory: String) async -> Int {
        guard let data = FileManager.default.contents(atPath: dataDirectory + "/" + recordName),
              let record = try? JSONDecoder().decode(Record.self, from: data) else { return 0 }
        let runtime = ContainerRuntime(stateDirectory: dataDirectory + "/containers", runcRoot: record.runDirectory + "/runc",
                                       shimPath: NodeAgentConfig.executableDirectory() + "/swiftlet-shim")
        let ids = runtime.containerIDs()
        await withDiscardingTaskGroup { group in
            for id in ids {
                group.addTask {
                    await runtime.stop(id: id, gracePeriod: .zero)
                    runtime.remove(id: id)
                }
            }
        }
        let network = PodNetwork(config: NodeAgent.networkConfig(bridgeName: record.bridgeName, podCIDR: record.podCIDR,
                                                                 dataDirectory: dataDirectory))
        try? network.removeAll()
        if let gateway = network.gatewayAddress {
            let config = NodeAgentConfig.forNode(record.nodeName, dataDirectory: dataDirectory, podCIDR: record.podCIDR,
                                                 bridgeName: record.bridgeName, nodeIP: gateway)
            try? ServiceProxy(config: NodeServices.proxyConfig(bridgeName: record.bridgeName, bridgeAddress: gateway, config: config)).remove()
        }
        let pods = dataDirectory + "/pods"
        for mountPoint in Mounts.mountPoints(under: pods).sorted(by: >) { _ = umount2(mountPoint, Int32(MNT_DETACH)) }
        for folder in [pods, dataDirectory + "/containers", dataDirectory + "/network", record.runDirectory] {
            try? FileManager.default.removeItem(atPath: folder)
        }
        for hierarchy in (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? [] {
            removeCgroupTree("/sys/fs/cgroup/\(hierarchy)/swiftlet/\(record.nodeName)")
            _ = rmdir("/sys/fs/cgroup/\(hierarchy)/swiftlet")  // only if no other node uses it
        }
        try? FileManager.default.removeItem(atPath: dataDirectory + "/" + recordName)
        return ids.count
    }

    /// cgroup folders can only be removed empty, children first; their files cannot be deleted.
    private static func removeCgroupTree(_ path: String) {
        for child in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
            var info = stat()
            if stat(path + "/" + child, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { removeCgroupTree(path + "/" + child) }
        }
        _ = rmdir(path)
    }
}
