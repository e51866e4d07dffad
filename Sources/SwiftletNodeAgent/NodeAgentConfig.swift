import Foundation
import SwiftletImages

/// How a node agent runs: which node it is and where it keeps its pods' files.
public struct NodeAgentConfig: Sendable {
    public var nodeName: String
    /// Pod folders (volumes, logs, etc files), container bundles, network and image state.
    public var dataDirectory: String
    /// runc's state and other things that must not outlive a reboot.
    public var runDirectory: String
    /// Where `swiftlet-shim` and the built-in images' programs are (the `swiftlet` binary's folder).
    public var programDirectory: String
    /// This node's pod address range; nil waits for the control plane to assign one.
    public var podCIDR: String?
    /// The Linux bridge the node's pods are attached to; one per agent on a machine.
    public var bridgeName: String
    /// The address written into the node's status and used as pods' hostIP.
    public var nodeIP: String
    public var clusterDNS: String = "10.43.0.10"
    /// Every node's pods (the node ranges are carved from it) and the Services' virtual IPs.
    public var clusterCIDR: String = "10.42.0.0/16"
    public var serviceCIDR: String = "10.43.0.0/16"
    public var clusterDomain: String = "cluster.local"
    public var maxPods: Int = 110
    public var runcPath: String = "runc"
    /// How many pods are synced at once.
    public var workers: Int = 8
    /// The node's image store (blobs, snapshots, records).
    public var imageStoreDirectory: String
    /// Where airgap image archives are imported from at start (k3s's `agent/images`).
    public var airgapImagesDirectory: String
    /// Mirrors and registry credentials, from registries.yaml.
    public var registries = RegistriesConfig()
    /// Where `Localhost` seccomp profiles are found (the kubelet's `<root-dir>/seccomp`).
    public var seccompProfileDirectory: String

    public init(nodeName: String, dataDirectory: String, runDirectory: String, programDirectory: String,
                podCIDR: String?, bridgeName: String, nodeIP: String) {
        self.nodeName = nodeName
        self.dataDirectory = dataDirectory
        self.runDirectory = runDirectory
        self.programDirectory = programDirectory
        self.podCIDR = podCIDR
        self.bridgeName = bridgeName
        self.nodeIP = nodeIP
        imageStoreDirectory = dataDirectory + "/image-store"
        airgapImagesDirectory = dataDirectory + "/images"
        seccompProfileDirectory = dataDirectory + "/seccomp"
    }

    /// Images, airgap archives, registries.yaml and seccomp profiles under `directory`: the
    /// data dir `swiftlet server` or `swiftlet agent` was given, where `swiftlet images` finds them too.
    public mutating func placeImageFiles(in directory: String) throws(ImageError) {
        imageStoreDirectory = Self.imageStoreDirectory(dataDirectory: directory)
        airgapImagesDirectory = directory + "/images"
        seccompProfileDirectory = directory + "/seccomp"
        registries = try RegistriesConfig.load(path: directory + "/registries.yaml")
    }

    public static func imageStoreDirectory(dataDirectory: String) -> String { dataDirectory + "/image-store" }
}

extension NodeAgentConfig {
    /// The defaults for a node of this name: runtime state under /run/swiftlet/NODE, a bridge
    /// of its own (so that several agents can share a machine), programs beside this binary.
    public static func forNode(_ name: String, dataDirectory: String, podCIDR: String?, bridgeName: String?,
                               nodeIP: String?) -> NodeAgentConfig {
        NodeAgentConfig(nodeName: name, dataDirectory: dataDirectory, runDirectory: "/run/swiftlet/\(name)",
                        programDirectory: executableDirectory(), podCIDR: podCIDR,
                        bridgeName: bridgeName ?? defaultBridgeName(node: name), nodeIP: nodeIP ?? "127.0.0.1")
    }

    /// `swl` and eight hex digits of the node name's hash: within the 15 characters of an
    /// interface name, and the same on every start.
    public static func defaultBridgeName(node: String) -> String {
        var hash: UInt32 = 0x811c_9dc5
        for byte in node.utf8 { hash = (hash ^ UInt32(byte)) &* 0x0100_0193 }
        let hex = String(hash, radix: 16)
        return "swl" + String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// The folder of the running executable, where `swiftlet-shim` and the images' programs are.
    public static func executableDirectory() -> String {
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (path as NSString).deletingLastPathComponent
    }

    public static func machineHostName() -> String {
        ProcessInfo.processInfo.hostName.split(separator: ".").first.map { String($0).lowercased() } ?? "node"
    }
}
