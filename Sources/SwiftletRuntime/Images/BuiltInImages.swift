/// Images Swiftlet provides without a registry, so the tutorial's pods run offline. Their lower
/// layer is the host's root filesystem, read-only under each container's own overlay: the
/// toolbox and nginx are the host's Debian packages (installed by the setup script), and the
/// two sample apps are small Swift programs shipped beside the `swiftlet` binary.
public struct BuiltInImages: Sendable {
    /// Where `swiftlet-whoami` and `swiftlet-pi` are installed (the `swiftlet` binary's folder).
    public let programDirectory: String

    public init(programDirectory: String) {
        self.programDirectory = programDirectory
    }

    /// The catalog's image for a reference, whatever its tag: the catalog has one version of each.
    public func image(for reference: ImageReference) -> ImageConfig? {
        guard reference.registry == "docker.io" else { return nil }
        let path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        switch reference.repository {
        case "kiamol/ch02-whoami":
            return ImageConfig(
                reference: reference.description, id: Self.id(reference, "whoami"),
                entrypoint: ["/app/whoami"], env: ["PATH=\(path)"], workingDir: "/app",
                files: [.init(source: programDirectory + "/swiftlet-whoami", destination: "/app/whoami")])
        case "kiamol/ch05-pi":
            // Its pods run `dotnet Pi.Web.dll -m web`: the program stands in for the .NET runtime.
            return ImageConfig(
                reference: reference.description, id: Self.id(reference, "pi"),
                entrypoint: ["dotnet", "Pi.Web.dll"], cmd: ["-m", "web"], env: ["PATH=\(path)"], workingDir: "/app",
                files: [.init(source: programDirectory + "/swiftlet-pi", destination: "/usr/bin/dotnet")])
        case "kiamol/ch03-sleep":
            // As the image's `sleep` would, but ending at once on SIGTERM (as PID 1 a plain sleep
            // ignores it and every delete would wait out the grace period).
            return ImageConfig(
                reference: reference.description, id: Self.id(reference, "sleep"),
                cmd: ["/bin/sh", "-c", "trap 'exit 0' TERM INT; sleep infinity & wait"], env: ["PATH=\(path)"])
        case "library/nginx":
            return ImageConfig(
                reference: reference.description, id: Self.id(reference, "nginx"),
                cmd: ["nginx", "-g", "daemon off;"], env: ["PATH=\(path)"],
                users: [.init(name: "nginx", uid: 30101, gid: 30101)],
                symlinks: ["/var/log/nginx/access.log": "/dev/stdout", "/var/log/nginx/error.log": "/dev/stderr"])
        case "library/busybox":
            return ImageConfig(reference: reference.description, id: Self.id(reference, "busybox"),
                               cmd: ["sh"], env: ["PATH=\(path)"])
        default:
            return nil
        }
    }

    /// A stable digest-shaped id per catalog entry, as `kubectl get pod -o yaml` shows imageID.
    static func id(_ reference: ImageReference, _ entry: String) -> String {
        var hex = ""
        var seed: UInt64 = 0xcbf2_9ce4_8422_2325
        for round in 0..<4 {
            for byte in "swiftlet-catalog/\(entry)/\(round)".utf8 { seed = (seed ^ UInt64(byte)) &* 0x100_0000_01b3 }
            let digits = String(seed, radix: 16)
            hex += String(repeating: "0", count: 16 - digits.count) + digits
        }
        return "\(reference.name)@sha256:\(hex)"
    }
}
