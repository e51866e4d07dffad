import Foundation
import Glibc
import SwiftletMachinery
import SwiftletAPI
import SwiftletImages
import SwiftletRuntime

/// Turns a pod's container into what the runtime runs: the process (image entrypoint and
/// cmd under the pod's command and args, with the environment), its root (the image's
/// layers), its mounts (the pod's files and volumes), its user, limits and security settings,
/// as the kubelet and containerd decide them.
struct ContainerLauncher {
    let nodeName: String
    let pod: JSONValue
    let uid: String
    let directory: PodDirectory
    let netnsPath: String?
    let volumePaths: [String: String]
    let environment: ContainerEnvironment
    /// Where `Localhost` seccomp profiles are.
    let seccompProfileDirectory: String

    /// runc container ids: pod uid, container name and run number, so an agent that restarts
    /// can tell from the id alone what a container is.
    static func runtimeID(uid: String, container: String, attempt: Int) -> String { "\(uid)_\(container)_\(attempt)" }

    static func parse(runtimeID: String) -> (uid: String, container: String, attempt: Int)? {
        let parts = runtimeID.split(separator: "_").map(String.init)
        guard parts.count == 3, let attempt = Int(parts[2]) else { return nil }
        return (parts[0], parts[1], attempt)
    }

    func spec(container: JSONValue, image: ResolvedImage, attempt: Int) throws(ContainerEnvironment.ConfigError) -> ContainerSpec {
        let name = container["name"]?.stringValue ?? ""
        let variables = try environment.variables(for: container)
        let command = container["command"]?.arrayValue?.compactMap(\.stringValue).map { ContainerEnvironment.expand($0, with: variables) }
        let args = container["args"]?.arrayValue?.compactMap(\.stringValue).map { ContainerEnvironment.expand($0, with: variables) }
        let argv = Self.argv(command: command, args: args, image: image.config)
        guard !argv.isEmpty else { throw .init(description: "no command specified", reason: "CreateContainerError") }

        // The image's variables first, then the pod's, which win (PATH among them).
        var env = image.config.Env ?? []
        for variable in variables {
            env.removeAll { $0.hasPrefix(variable.name + "=") }
            env.append("\(variable.name)=\(variable.value)")
        }
        if !env.contains(where: { $0.hasPrefix("HOSTNAME=") }) { env.append("HOSTNAME=\(PodFiles.hostName(pod))") }

        let security = SecurityContext(pod: pod, container: container)
        // The pod's files are read-only with the root filesystem, as containerd mounts them.
        let podFileMode = security.readOnlyRootFilesystem ? "ro" : "rw"
        var mounts: [ContainerMount] = [
            ContainerMount(destination: "/etc/hosts", source: directory.etcHosts, type: "bind", options: ["rbind", podFileMode]),
            ContainerMount(destination: "/etc/hostname", source: directory.etcHostname, type: "bind", options: ["rbind", podFileMode]),
            ContainerMount(destination: "/etc/resolv.conf", source: directory.resolvConf, type: "bind", options: ["rbind", podFileMode]),
        ]
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

        let user = try self.user(security: security, image: image, container: name)
        var groups = user.additionalGids + security.supplementalGroups
        if let fsGroup = security.fsGroup { groups.append(fsGroup) }

        let limits = container[path: "resources", "limits"] ?? [:]
        let requests = container[path: "resources", "requests"] ?? [:]
        let cpuPeriod: UInt64 = 100_000
        var spec = ContainerSpec(
            id: Self.runtimeID(uid: uid, container: name, attempt: attempt),
            args: argv, env: env,
            workingDirectory: container["workingDir"]?.stringValue ?? image.config.WorkingDir.flatMap { $0.isEmpty ? nil : $0 } ?? "/",
            uid: user.uid, gid: user.gid,
            hostname: PodFiles.hostName(pod),
            rootfsLowerDirectories: image.lowerDirectories,
            cgroupsPath: "/swiftlet/\(nodeName)/pod\(uid)/\(name)_\(attempt)",
            logPath: directory.logFile(container: name, attempt: attempt))
        spec.additionalGids = groups
        spec.readOnlyRootFilesystem = security.readOnlyRootFilesystem
        spec.mounts = mounts
        spec.networkNamespacePath = netnsPath
        spec.hostNetwork = pod[path: "spec", "hostNetwork"]?.boolValue ?? false
        spec.hostPID = pod[path: "spec", "hostPID"]?.boolValue ?? false
        spec.hostIPC = pod[path: "spec", "hostIPC"]?.boolValue ?? false
        spec.privileged = security.privileged
        spec.capabilitiesAdd = security.capabilitiesAdd
        spec.capabilitiesDrop = security.capabilitiesDrop
        spec.noNewPrivileges = security.allowPrivilegeEscalation == false
        spec.unmaskedProc = security.procMount == "Unmasked"
        spec.seccomp = try seccomp(security.seccompProfile)
        spec.stopSignal = Self.signalNumber(image.config.StopSignal) ?? SIGTERM
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

    /// The process a container runs, as the kubelet decides it: `command` replaces the
    /// entrypoint (and then the image's cmd is dropped), `args` replaces cmd.
    static func argv(command: [String]?, args: [String]?, image: ImageConfiguration.RunConfig) -> [String] {
        if let command, !command.isEmpty { return command + (args ?? []) }
        if let args, !args.isEmpty { return (image.Entrypoint ?? []) + args }
        return (image.Entrypoint ?? []) + (image.Cmd ?? [])
    }

    /// Who the process runs as: `runAsUser`/`runAsGroup`, else the image's `User` resolved in
    /// its own /etc/passwd and /etc/group, checked against `runAsNonRoot` with the kubelet's words.
    private func user(security: SecurityContext, image: ResolvedImage, container name: String) throws(ContainerEnvironment.ConfigError) -> ImageUser {
        let podName = "\(pod[path: "metadata", "name"]?.stringValue ?? "")_\(pod[path: "metadata", "namespace"]?.stringValue ?? "")(\(uid))"
        if security.runAsNonRoot == true {
            if let runAsUser = security.runAsUser {
                if runAsUser == 0 {
                    throw .init(description: "container's runAsUser breaks non-root policy (pod: \"\(podName)\", container: \(name))")
                }
            } else {
                let imageUser = (image.config.User ?? "").split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
                if !imageUser.isEmpty, UInt32(imageUser) == nil {
                    throw .init(description: "container has runAsNonRoot and image has non-numeric user (\(imageUser)), cannot verify user is non-root (pod: \"\(podName)\", container: \(name))")
                }
                if imageUser.isEmpty || UInt32(imageUser) == 0 {
                    throw .init(description: "container has runAsNonRoot and image will run as root (pod: \"\(podName)\", container: \(name))")
                }
            }
        }
        var resolved: ImageUser
        do {
            if let runAsUser = security.runAsUser {
                resolved = try ImageUser.resolve(String(runAsUser), lowerDirectories: image.lowerDirectories)
            } else {
                resolved = try ImageUser.resolve(image.config.User ?? "", lowerDirectories: image.lowerDirectories)
            }
        } catch {
            throw .init(description: "failed to create containerd container: mount callback failed: \(error.message)", reason: "CreateContainerError")
        }
        if let runAsGroup = security.runAsGroup { resolved.gid = runAsGroup }
        return resolved
    }

    /// The container's seccomp filter; a Localhost profile is read from the node's profile directory.
    private func seccomp(_ profile: JSONValue?) throws(ContainerEnvironment.ConfigError) -> Seccomp {
        switch profile?["type"]?.stringValue {
        case "RuntimeDefault":
            return .runtimeDefault
        case "Localhost":
            guard let relative = profile?["localhostProfile"]?.stringValue, !relative.isEmpty else {
                throw .init(description: "localhostProfile must be set if seccompProfile type is Localhost.")
            }
            let path = seccompProfileDirectory + "/" + relative
            let resolved = (path as NSString).standardizingPath
            guard resolved.hasPrefix(seccompProfileDirectory + "/"), let data = FileManager.default.contents(atPath: resolved) else {
                throw .init(description: "failed to create containerd container: cannot load seccomp profile \"\(path)\": open \(path): no such file or directory",
                            reason: "CreateContainerError")
            }
            guard let parsed = try? JSONParser.parse(Array(data)).value, parsed["defaultAction"]?.stringValue != nil else {
                throw .init(description: "failed to create containerd container: decoding seccomp profile failed \"\(path)\"",
                            reason: "CreateContainerError")
            }
            return .profile(parsed)
        default:
            return .unconfined
        }
    }

    /// `SIGQUIT`, `QUIT` or `3`, as an image's StopSignal may say it.
    static func signalNumber(_ name: String?) -> Int32? {
        guard let name, !name.isEmpty else { return nil }
        if let number = Int32(name) { return number }
        let bare = name.uppercased().hasPrefix("SIG") ? String(name.uppercased().dropFirst(3)) : name.uppercased()
        let names: [String: Int32] = ["HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "KILL": SIGKILL, "USR1": SIGUSR1,
                                      "USR2": SIGUSR2, "TERM": SIGTERM, "STOP": SIGSTOP, "WINCH": 28, "PWR": 30]
        return names[bare]
    }
}

/// A container's effective security settings: the container's own fields over the pod's, as
/// the kubelet's DetermineEffectiveSecurityContext merges them (seccompProfile is replaced whole).
struct SecurityContext {
    var runAsUser: UInt32?
    var runAsGroup: UInt32?
    var runAsNonRoot: Bool?
    var supplementalGroups: [UInt32]
    var fsGroup: UInt32?
    var readOnlyRootFilesystem: Bool
    var privileged: Bool
    var allowPrivilegeEscalation: Bool?
    var procMount: String?
    var capabilitiesAdd: [String]
    var capabilitiesDrop: [String]
    var seccompProfile: JSONValue?

    init(pod: JSONValue, container: JSONValue) {
        let podContext = pod[path: "spec", "securityContext"] ?? [:]
        let own = container["securityContext"] ?? [:]
        func id(_ key: String) -> UInt32? {
            (own[key]?.intValue ?? podContext[key]?.intValue).flatMap { UInt32(exactly: $0) }
        }
        runAsUser = id("runAsUser")
        runAsGroup = id("runAsGroup")
        runAsNonRoot = own["runAsNonRoot"]?.boolValue ?? podContext["runAsNonRoot"]?.boolValue
        supplementalGroups = (podContext["supplementalGroups"]?.arrayValue ?? []).compactMap { $0.intValue.flatMap { UInt32(exactly: $0) } }
        fsGroup = podContext["fsGroup"]?.intValue.flatMap { UInt32(exactly: $0) }
        readOnlyRootFilesystem = own["readOnlyRootFilesystem"]?.boolValue ?? false
        privileged = own["privileged"]?.boolValue ?? false
        allowPrivilegeEscalation = own["allowPrivilegeEscalation"]?.boolValue
        procMount = own["procMount"]?.stringValue
        capabilitiesAdd = (own[path: "capabilities", "add"]?.arrayValue ?? []).compactMap(\.stringValue)
        capabilitiesDrop = (own[path: "capabilities", "drop"]?.arrayValue ?? []).compactMap(\.stringValue)
        seccompProfile = own["seccompProfile"] ?? podContext["seccompProfile"]
    }
}
