import SwiftletMachinery

/// Everything needed to run one container, as the node agent resolves it from the pod spec and
/// the image. Paths on the host (`logPath`, mount sources) are prepared by the agent.
public struct ContainerSpec: Sendable, Equatable {
    /// Unique on the machine, chosen by the agent; names the bundle and the runc container.
    /// Letters, digits, `_`, `.` and `-`.
    public var id: String
    /// argv, already resolved from the image's entrypoint/cmd and the pod's command/args.
    public var args: [String]
    /// `KEY=value` pairs.
    public var env: [String]
    public var workingDirectory: String
    public var uid: UInt32
    public var gid: UInt32
    public var additionalGids: [UInt32]
    public var hostname: String
    /// The image's layer snapshots, topmost first: the read-only lower directories of the
    /// container's overlay root. The writable upper layer is in the bundle.
    public var rootfsLowerDirectories: [String]
    public var readOnlyRootFilesystem: Bool
    /// Mounted after the standard ones (/proc, /dev, /sys...), in this order. /etc/hosts,
    /// /etc/resolv.conf and /etc/hostname come here as read-only binds, and /tmp as a tmpfs when
    /// the agent wants one.
    public var mounts: [ContainerMount]
    /// The pod's network namespace to join (`/var/run/netns/NAME`); nil gives a new, empty one.
    public var networkNamespacePath: String?
    /// Run in the host's network and UTS namespaces (a `hostNetwork` pod): no namespace of its own for either,
    /// so `networkNamespacePath` and `hostname` are not used.
    public var hostNetwork = false
    /// Absolute cgroup path, the same in every v1 hierarchy, e.g. `/swiftlet/<node>/pod<uid>/<id>`.
    public var cgroupsPath: String
    public var memoryLimitBytes: Int64?
    public var cpuQuota: Int64?
    public var cpuPeriod: UInt64?
    public var cpuShares: UInt64?
    public var pidsLimit: Int64?
    /// Kubernetes capability names (`NET_ADMIN`, `CAP_NET_ADMIN` or `ALL`), applied to Docker's
    /// default set: drops first, then adds, as containerd does.
    public var capabilitiesAdd: [String]
    public var capabilitiesDrop: [String]
    public var privileged: Bool
    /// no_new_privs: set for `allowPrivilegeEscalation: false`.
    public var noNewPrivileges = false
    public var seccomp = Seccomp.unconfined
    /// Run in the host's PID or IPC namespace (`hostPID`, `hostIPC`).
    public var hostPID = false
    public var hostIPC = false
    /// `procMount: Unmasked`: /proc without the masked and read-only paths.
    public var unmaskedProc = false
    /// What `stop` sends first: the image's `StopSignal`, SIGTERM by default.
    public var stopSignal: Int32 = 15
    /// The CRI log file the shim writes; its directory is created if missing.
    public var logPath: String

    public init(
        id: String, args: [String], env: [String] = [], workingDirectory: String = "/",
        uid: UInt32 = 0, gid: UInt32 = 0, additionalGids: [UInt32] = [], hostname: String = "",
        rootfsLowerDirectories: [String], readOnlyRootFilesystem: Bool = false, mounts: [ContainerMount] = [],
        networkNamespacePath: String? = nil, cgroupsPath: String, memoryLimitBytes: Int64? = nil,
        cpuQuota: Int64? = nil, cpuPeriod: UInt64? = nil, cpuShares: UInt64? = nil, pidsLimit: Int64? = nil,
        capabilitiesAdd: [String] = [], capabilitiesDrop: [String] = [], privileged: Bool = false, logPath: String
    ) {
        self.id = id
        self.args = args
        self.env = env
        self.workingDirectory = workingDirectory
        self.uid = uid
        self.gid = gid
        self.additionalGids = additionalGids
        self.hostname = hostname
        self.rootfsLowerDirectories = rootfsLowerDirectories
        self.readOnlyRootFilesystem = readOnlyRootFilesystem
        self.mounts = mounts
        self.networkNamespacePath = networkNamespacePath
        self.cgroupsPath = cgroupsPath
        self.memoryLimitBytes = memoryLimitBytes
        self.cpuQuota = cpuQuota
        self.cpuPeriod = cpuPeriod
        self.cpuShares = cpuShares
        self.pidsLimit = pidsLimit
        self.capabilitiesAdd = capabilitiesAdd
        self.capabilitiesDrop = capabilitiesDrop
        self.privileged = privileged
        self.logPath = logPath
    }
}

/// One OCI mount: `type` is "bind", "tmpfs", ...; `options` as mount(8) takes them
/// (`["rbind", "ro"]`, `["nosuid", "nodev", "mode=1777"]`).
public struct ContainerMount: Sendable, Equatable {
    public var destination: String
    public var source: String
    public var type: String
    public var options: [String]

    public init(destination: String, source: String, type: String, options: [String] = []) {
        self.destination = destination
        self.source = source
        self.type = type
        self.options = options
    }

    /// A bind mount of a host path, read-only unless `readOnly` is false.
    public static func bind(_ source: String, at destination: String, readOnly: Bool = true) -> ContainerMount {
        ContainerMount(destination: destination, source: source, type: "bind", options: ["rbind", readOnly ? "ro" : "rw"])
    }

    /// A tmpfs, world-writable with the sticky bit as /tmp wants.
    public static func tmpfs(at destination: String, options: [String] = ["nosuid", "nodev", "mode=1777"]) -> ContainerMount {
        ContainerMount(destination: destination, source: "tmpfs", type: "tmpfs", options: options)
    }
}

/// The seccomp filter a container runs under.
public enum Seccomp: Sendable, Equatable {
    case unconfined
    /// containerd's default profile (`RuntimeDefault`), adjusted to the container's capabilities.
    case runtimeDefault
    /// An OCI `LinuxSeccomp` object read from a `Localhost` profile file.
    case profile(JSONValue)
}
