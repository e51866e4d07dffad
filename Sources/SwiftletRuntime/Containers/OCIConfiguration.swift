import SwiftletMachinery

/// The OCI runtime config (config.json) for a container, as containerd's CRI plugin builds it
/// for a Kubernetes container: Docker's standard mounts, the kubelet's masked and read-only
/// /proc paths, containerd's default capabilities and (for RuntimeDefault) seccomp profile,
/// pid/ipc/uts/mount namespaces of its own and the pod's network namespace (or the host's, for
/// hostNetwork, hostPID and hostIPC). A privileged container gets every capability the agent
/// itself holds, the host's devices, writable /sys and no seccomp filter.
enum OCIConfiguration {
    static func make(_ spec: ContainerSpec) -> JSONValue {
        let names = Capabilities.effective(add: spec.capabilitiesAdd, drop: spec.capabilitiesDrop, privileged: spec.privileged)
        let capabilities = JSONValue.array(names.map { .string($0) })
        let process: JSONValue = [
            "terminal": false,
            "user": [
                "uid": .int(Int64(spec.uid)), "gid": .int(Int64(spec.gid)),
                "additionalGids": .array(spec.additionalGids.map { .int(Int64($0)) }),
            ],
            "args": .array(spec.args.map { .string($0) }),
            "env": .array(spec.env.map { .string($0) }),
            "cwd": .string(spec.workingDirectory.isEmpty ? "/" : spec.workingDirectory),
            "capabilities": ["bounding": capabilities, "effective": capabilities, "permitted": capabilities],
            "noNewPrivileges": .bool(spec.noNewPrivileges),
        ]
        var namespaces: [JSONValue] = [["type": "mount"]]
        if !spec.hostPID { namespaces.append(["type": "pid"]) }
        if !spec.hostIPC { namespaces.append(["type": "ipc"]) }
        if !spec.hostNetwork {
            var network: JSONValue = ["type": "network"]
            if let path = spec.networkNamespacePath { network["path"] = .string(path) }
            namespaces += [["type": "uts"], network]
        }
        var linux: JSONValue = [
            "namespaces": .array(namespaces),
            "cgroupsPath": .string(spec.cgroupsPath),
            "resources": resources(spec),
        ]
        if !spec.privileged && !spec.unmaskedProc {
            linux["maskedPaths"] = .array(maskedPaths.map { .string($0) })
            linux["readonlyPaths"] = .array(readonlyPaths.map { .string($0) })
        }
        if spec.privileged {
            linux["devices"] = .array(HostDevices.list())
        } else {
            switch spec.seccomp {
            case .unconfined: break
            case .runtimeDefault: linux["seccomp"] = DefaultSeccompProfile.make(capabilities: names)
            case .profile(let profile): linux["seccomp"] = profile
            }
        }
        var config: JSONValue = [
            "ociVersion": "1.0.2",
            "process": process,
            "root": ["path": "rootfs", "readonly": .bool(spec.readOnlyRootFilesystem)],
            "mounts": .array((standardMounts(privileged: spec.privileged) + spec.mounts).map(json)),
            "linux": linux,
            "annotations": [stopSignalAnnotation: .string(String(spec.stopSignal))],
        ]
        // runc refuses a host name without a UTS namespace of the container's own.
        if !spec.hostNetwork { config["hostname"] = .string(spec.hostname) }
        return config
    }

    /// Where the bundle records the signal `stop` sends first.
    static let stopSignalAnnotation = "io.swiftlet.stop-signal"

    /// Paths the kubelet has hidden from containers (they leak host information or allow host changes).
    static let maskedPaths = [
        "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
    ]
    static let readonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

    static func standardMounts(privileged: Bool) -> [ContainerMount] {
        let sysOptions = privileged ? ["nosuid", "noexec", "nodev"] : ["nosuid", "noexec", "nodev", "ro"]
        return [
            ContainerMount(destination: "/proc", source: "proc", type: "proc", options: ["nosuid", "noexec", "nodev"]),
            ContainerMount(destination: "/dev", source: "tmpfs", type: "tmpfs",
                           options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
            ContainerMount(destination: "/dev/pts", source: "devpts", type: "devpts",
                           options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
            ContainerMount(destination: "/dev/shm", source: "shm", type: "tmpfs",
                           options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
            ContainerMount(destination: "/dev/mqueue", source: "mqueue", type: "mqueue", options: ["nosuid", "noexec", "nodev"]),
            ContainerMount(destination: "/sys", source: "sysfs", type: "sysfs", options: sysOptions),
            ContainerMount(destination: "/sys/fs/cgroup", source: "cgroup", type: "cgroup",
                           options: sysOptions + ["relatime"]),
        ]
    }

    private static func resources(_ spec: ContainerSpec) -> JSONValue {
        // runc adds the standard character devices (null, zero, tty, ptmx...) after these rules.
        var resources: JSONValue = ["devices": [["allow": .bool(spec.privileged), "access": "rwm"]]]
        if let limit = spec.memoryLimitBytes { resources["memory"] = ["limit": .int(limit)] }
        var cpu = JSONObject()
        if let shares = spec.cpuShares { cpu["shares"] = .int(Int64(clamping: shares)) }
        if let quota = spec.cpuQuota { cpu["quota"] = .int(quota) }
        if let period = spec.cpuPeriod { cpu["period"] = .int(Int64(clamping: period)) }
        if !cpu.isEmpty { resources["cpu"] = .object(cpu) }
        if let limit = spec.pidsLimit { resources["pids"] = ["limit": .int(limit)] }
        return resources
    }

    private static func json(_ mount: ContainerMount) -> JSONValue {
        [
            "destination": .string(mount.destination), "type": .string(mount.type), "source": .string(mount.source),
            "options": .array(mount.options.map { .string($0) }),
        ]
    }
}
