import Foundation

/// Linux capability sets for a container, in the `CAP_`-prefixed names OCI uses.
enum Capabilities {
    /// Docker's (and containerd's) default set, which pods get unless they add or drop.
    static let defaults = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ]

    /// Every capability up to CAP_CHECKPOINT_RESTORE (Linux 5.9), in kernel order: a name's
    /// index is its bit.
    static let known = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
        "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
        "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ]

    /// The defaults adjusted as containerd's `TweakCapabilities` does: drop first (`ALL` drops
    /// every default), then add (`ALL` gives every capability). Names may be given with or
    /// without `CAP_`, in any case.
    static func effective(add: [String], drop: [String], privileged: Bool) -> [String] {
        let all = current
        if privileged { return all }
        let adds = add.map(normalize)
        let drops = Set(drop.map(normalize))
        if adds.contains("CAP_ALL") { return all }
        var result = drops.contains("CAP_ALL") ? [] : defaults.filter { !drops.contains($0) }
        for name in adds where !result.contains(name) { result.append(name) }
        return result
    }

    /// What "all" means for a privileged container or `add: ["ALL"]`: the capabilities this
    /// process holds (`CapEff`), as containerd does, never one it lacks, which runc could not
    /// grant ("unable to apply caps").
    static let current: [String] = {
        let status = String(decoding: LinuxCalls.readFile("/proc/self/status") ?? [], as: UTF8.self)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
              let bits = UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16) else { return known }
        return known.enumerated().filter { bits & (1 << UInt64($0.offset)) != 0 }.map(\.element)
    }()

    private static func normalize(_ name: String) -> String {
        let upper = name.uppercased()
        return upper.hasPrefix("CAP_") ? upper : "CAP_" + upper
    }
}
