import Foundation
import SwiftletMachinery
import SwiftletAPI
import SwiftletRuntime

/// Turns a pod's container into what the runtime runs: the process (image entrypoint and
/// cmd under the pod's command and args, with the environment), its mounts (the pod's
/// files, volumes, the image's own files), its user, limits and security settings.
struct ContainerLauncher {
    let nodeName: String
    let pod: JSONValue
    let uid: String
    let directory: PodDirectory
    let netnsPath: String?
    let volumePaths: [String: String]
    let environment: ContainerEnvironment

    /// runc container ids: pod uid, container name and run number, so an agent that restarts
    /// can tell from the id alone what a container is.
    static func runtimeID(uid: String, container: String, attempt: Int) -> String { "\(uid)_\(container)_\(attempt)" }

    static func parse(runtimeID: String) -> (uid: String, container: String, attempt: Int)? {
        let parts = runtimeID.split(separator: "_").map(String.init)
        guard parts.count == 3, let attempt = Int(parts[2]) else { return nil }
        return (parts[0], parts[1], attempt)
    }

    func spec(container: JSONValue, image: ImageConfig, attempt: Int) throws(ContainerEnvironment.ConfigError) -> ContainerSpec {
        let name = container["name"]?.stringValue ?? ""
        let variables = try environment.variables(for: container)
        let command = container["command"]?.arrayValue?.compactMap(\.stringValue).map { ContainerEnvironment.expand($0, with: variables) }
        let args = container["args"]?.arrayValue?.compactMap(\.stringValue).map { ContainerEnvironment.expand($0, with: variables) }
        let argv = image.argv(command: command, args: args)
        guard !argv.isEmpty else { throw .init(description: "no command specified") }

        // The image's variables first, then the pod's, which win (PATH among them).
        var env = image.env
        for variable in variables {
            env.removeAll { $0.hasPrefix(variable.name + "=") }
            env.append("\(variable.name)=\(variable.value)")
        }
        if !env.contains(where: { $0.hasPrefix("HOSTNAME=") }) { env.append("HOSTNAME=\(PodFiles.hostName(pod))") }

        var mounts: [ContainerMount] = [
            ContainerMount(destination: "/etc/hosts", source: directory.etcHosts, type: "bind", options: ["rbind", "rw"]),
            ContainerMount(destination: "/etc/hostname", source: directory.etcHostname, type: "bind", options: ["rbind", "rw"]),
            ContainerMount(destination: "/etc/resolv.conf", source: directory.resolvConf, type: "bind", options: ["rbind", "rw"]),
        ]
        if !image.users.isEmpty {
            mounts.append(ContainerMount(destination: "/etc/passwd", source: directory.passwd, type: "bind", options: ["rbind", "ro"]))
            mounts.append(ContainerMount(destination: "/etc/group", source: directory.group, type: "bind", options: ["rbind", "ro"]))
        }
        for file in image.files {
            mounts.append(ContainerMount(destination: file.destination, source: file.source, type: "bind", options: ["rbind", "ro"]))
        }
        let terminationPath = container["terminationMessagePath"]?.stringValue ?? "/dev/termination-log"
        mounts.append(ContainerMount(destination: terminationPath, source: directory.terminationLog(container: name, attempt: attempt),
                                     type: "bind", options: ["rbind", "rw"]))
        for volumeMount in container["volumeMounts"]?.arrayValue ?? [] {
            guard let volume = volumeMount["name"]?.stringValue, let destination = volumeMount["mountPath"]?.stringValue,
                  var source = volumePaths[volume] else { continue }
            let subPath = volumeMount["subPath"]?.stringValue
                ?? volumeMount["subPathExpr"]?.stringValue.map { ContainerEnvironment.expand($0, with: variables) }
            if let subPath, !subPath.isEmpty {
                source += "/" + subPath
                // As the kubelet does: a missing subPath of a writable volume is made a folder.
                if !FileManager.default.fileExists(atPath: source) {
                    try? FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
                }
            }
            let readOnly = volumeMount["readOnly"]?.boolValue ?? false
            mounts.append(ContainerMount(destination: destination, source: source, type: "bind",
                                         options: ["rbind", readOnly ? "ro" : "rw"]))
        }

        let security = container["securityContext"] ?? [:]
        let podSecurity = pod[path: "spec", "securityContext"] ?? [:]
        let uidValue = security["runAsUser"]?.intValue ?? podSecurity["runAsUser"]?.intValue ?? 0
        let gidValue = security["runAsGroup"]?.intValue ?? podSecurity["runAsGroup"]?.intValue ?? (uidValue == 0 ? 0 : uidValue)
        var groups = (podSecurity["supplementalGroups"]?.arrayValue ?? []).compactMap { $0.intValue.map(UInt32.init) }
        if let fsGroup = podSecurity["fsGroup"]?.intValue { groups.append(UInt32(fsGroup)) }

        let limits = container[path: "resources", "limits"] ?? [:]
        let requests = container[path: "resources", "requests"] ?? [:]
        let cpuPeriod: UInt64 = 100_000
        var spec = ContainerSpec(
            id: Self.runtimeID(uid: uid, container: name, attempt: attempt),
            args: argv, env: env,
            workingDirectory: container["workingDir"]?.stringValue ?? image.workingDir,
            uid: UInt32(uidValue), gid: UInt32(gidValue),
            hostname: PodFiles.hostName(pod),
            cgroupsPath: "/swiftlet/\(nodeName)/pod\(uid)/\(name)_\(attempt)",
            logPath: directory.logFile(container: name, attempt: attempt))
        spec.additionalGids = groups
        spec.rootfsLowerDirectory = image.rootfs
        spec.rootfsSymlinks = image.symlinks
        spec.readOnlyRootFilesystem = security["readOnlyRootFilesystem"]?.boolValue ?? false
        spec.mounts = mounts
        spec.networkNamespacePath = netnsPath
        spec.hostNetwork = pod[path: "spec", "hostNetwork"]?.boolValue ?? false
        spec.privileged = security["privileged"]?.boolValue ?? false
        spec.capabilitiesAdd = (security[path: "capabilities", "add"]?.arrayValue ?? []).compactMap(\.stringValue)
        spec.capabilitiesDrop = (security[path: "capabilities", "drop"]?.arrayValue ?? []).compactMap(\.stringValue)
        if let memory = limits["memory"].flatMap({ Quantity(json: $0) }) { spec.memoryLimitBytes = memory.value }
        if let cpu = limits["cpu"].flatMap({ Quantity(json: $0) }) {
            spec.cpuPeriod = cpuPeriod
            spec.cpuQuota = max(1000, cpu.milliValue * Int64(cpuPeriod) / 1000)
        }
        if let cpu = (requests["cpu"] ?? limits["cpu"]).flatMap({ Quantity(json: $0) }) {
            spec.cpuShares = UInt64(max(2, cpu.milliValue * 1024 / 1000))
        }
        return spec
    }
}
