/// What the runtime needs from an image to start a container from it (the parts of the OCI
/// image config a kubelet uses), and where its root filesystem comes from.
public struct ImageConfig: Sendable, Equatable {
    /// The normalised reference the pod asked for, e.g. `docker.io/kiamol/ch02-whoami:latest`.
    public var reference: String
    /// Reported as the container's `imageID` (`name@sha256:…`).
    public var id: String
    public var entrypoint: [String]
    public var cmd: [String]
    public var env: [String]
    public var workingDir: String
    /// The lower layer of the container's overlay root: `/` (the host's root, read-only) for the
    /// built-in catalog, an unpacked root filesystem for a locally stored image.
    public var rootfs: String
    /// Files that the image adds on top of its root: bound read-only into the container.
    public var files: [File]
    /// Accounts the image's programs expect (nginx's `user nginx;`), added to the container's
    /// own copies of /etc/passwd and /etc/group.
    public var users: [User]
    /// Symbolic links the image's root has, keyed by path: the official nginx image links its
    /// log files to the container's stdout and stderr, so `kubectl logs` shows its requests.
    public var symlinks: [String: String]

    public struct File: Sendable, Equatable {
        public var source: String
        public var destination: String
        public init(source: String, destination: String) {
            self.source = source
            self.destination = destination
        }
    }

    public struct User: Sendable, Equatable {
        public var name: String
        public var uid: UInt32
        public var gid: UInt32
        public init(name: String, uid: UInt32, gid: UInt32) {
            self.name = name
            self.uid = uid
            self.gid = gid
        }
    }

    public init(reference: String, id: String, entrypoint: [String] = [], cmd: [String] = [], env: [String] = [],
                workingDir: String = "/", rootfs: String = "/", files: [File] = [], users: [User] = [],
                symlinks: [String: String] = [:]) {
        self.reference = reference
        self.id = id
        self.entrypoint = entrypoint
        self.cmd = cmd
        self.env = env
        self.workingDir = workingDir
        self.rootfs = rootfs
        self.files = files
        self.users = users
        self.symlinks = symlinks
    }

    /// The process a container runs, as the kubelet decides it: `command` replaces the
    /// entrypoint (and then the image's cmd is dropped), `args` replaces cmd.
    public func argv(command: [String]?, args: [String]?) -> [String] {
        if let command, !command.isEmpty { return command + (args ?? []) }
        if let args, !args.isEmpty { return entrypoint + args }
        return entrypoint + cmd
    }
}
