import Foundation
import Glibc
import SwiftletSpawn
import Synchronization

/// The images Swiftlet assembles offline, so the tutorial's pods run on a machine without a
/// registry: `kiamol/ch02-whoami`, `kiamol/ch05-pi`, `kiamol/ch03-sleep`, `nginx:1.17-alpine`
/// and `busybox`. Each is a real OCI image (uncompressed tar layers, a config, a manifest, all
/// in the content store by digest) made from this machine's programs and the libraries they
/// load, and nothing else of the host:
/// - a busybox layer (Debian's static busybox with its applet links, `/etc/passwd`, `/tmp`),
///   the base of all five, as Alpine is of the images they stand for;
/// - the sample programs `swiftlet-whoami` and `swiftlet-pi` (built with Swiftlet, installed
///   beside it) for the chapter's web apps;
/// - Debian's curl and nginx for the toolbox and the proxy.
///
/// They are pinned (never garbage-collected) and answer for their names as a node-local
/// mirror would (ADR 0006): a pull of one of these exact references is served from here,
/// whatever the pull policy, so the chapter runs offline; other tags of the same repositories
/// go to their registries.
public struct BuiltInImages: Sendable {
    /// Where `swiftlet-whoami` and `swiftlet-pi` are (the `swiftlet` binary's folder).
    public let programDirectory: String
    /// The host's programs; tests point them elsewhere.
    public var busybox = "/bin/busybox"
    public var curl = "/usr/bin/curl"
    public var nginx = "/usr/sbin/nginx"

    public init(programDirectory: String) {
        self.programDirectory = programDirectory
    }

    /// The references served, normalised.
    public static let names = [
        "docker.io/kiamol/ch02-whoami:latest", "docker.io/kiamol/ch05-pi:latest", "docker.io/kiamol/ch03-sleep:latest",
        "docker.io/library/nginx:1.17-alpine", "docker.io/library/busybox:latest",
    ]

    public static func serves(_ reference: ImageReference) -> Bool {
        reference.digest == nil && names.contains(reference.description)
    }

    /// Builds the image for `reference` into the store, unless the store has it built from the
    /// same host files already; returns its record.
    public func ensure(_ reference: ImageReference, in store: ImageStore, now: Date = Date()) throws(ImageError) -> ImageRecord {
        guard Self.serves(reference) else { throw ImageError(.notFound, "\(reference) is not a built-in image") }
        let definition = try cachedDefinition(reference)
        let fingerprint = Self.fingerprint(definition)
        if let existing = store.record(named: reference.description), existing.pinned,
           existing.config.annotations?[Self.fingerprintAnnotation] == fingerprint, store.isComplete(existing) {
            return existing
        }
        return try store.withContentLock { () throws(ImageError) -> ImageRecord in
            var layers: [ImageRecord.Layer] = []
            for content in definition.layers {
                layers.append(try Self.buildLayer(content, store: store))
            }
            let configuration = ImageConfiguration(platform: .current, config: definition.config, diffIDs: layers.map(\.diffID))
            let configBytes = CanonicalJSON.encode(configuration)
            var config = Descriptor(mediaType: MediaType.ociConfig, digest: try store.content.write(configBytes), size: Int64(configBytes.count))
            let manifest = ImageManifest(config: config, layers: layers.map(\.blob))
            let manifestBytes = CanonicalJSON.encode(manifest)
            let target = Descriptor(mediaType: MediaType.ociManifest, digest: try store.content.write(manifestBytes),
                                    size: Int64(manifestBytes.count))
            // The fingerprint rides on the record's copy of the config descriptor: not part of any digest.
            config.annotations = [Self.fingerprintAnnotation: fingerprint]
            let record = ImageRecord(name: reference.description, target: target, manifest: target.digest, config: config,
                                     layers: layers, created: now, pinned: true)
            try store.save([record])
            return record
        }
    }

    static let fingerprintAnnotation = "io.swiftlet.built-in.fingerprint"

    /// Definitions made once per process: finding a program's libraries runs ldd, too slow to
    /// repeat for every container that starts from a built-in image. The fingerprint still
    /// notices a program that changed.
    private static let definitions = Mutex<[String: Definition]>([:])

    private func cachedDefinition(_ reference: ImageReference) throws(ImageError) -> Definition {
        let key = programDirectory + " " + busybox + " " + curl + " " + nginx + " " + reference.description
        if let cached = Self.definitions.withLock({ $0[key] }) { return cached }
        let made = try definition(reference)
        Self.definitions.withLock { $0[key] = made }
        return made
    }

    struct Definition {
        var layers: [LayerContent]
        var config: ImageConfiguration.RunConfig
    }

    static let path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    func definition(_ reference: ImageReference) throws(ImageError) -> Definition {
        let env = ["PATH=\(Self.path)"]
        switch reference.repository {
        case "kiamol/ch02-whoami":
            var app = LayerContent()
            try app.program("/app/whoami", host: try program("swiftlet-whoami"))
            return Definition(layers: [try busyboxLayer(), app], config: .init(Env: env, Entrypoint: ["/app/whoami"], WorkingDir: "/app"))
        case "kiamol/ch05-pi":
            // Its pods run `dotnet Pi.Web.dll -m web`: the program stands in for the .NET runtime.
            var app = LayerContent()
            try app.program("/usr/bin/dotnet", host: try program("swiftlet-pi"))
            app.directory("/app")
            return Definition(layers: [try busyboxLayer(), app],
                              config: .init(Env: env, Entrypoint: ["dotnet", "Pi.Web.dll"], Cmd: ["-m", "web"], WorkingDir: "/app"))
        case "kiamol/ch03-sleep":
            var tools = LayerContent()
            try tools.program("/usr/bin/curl", host: try hostProgram(curl))
            if access("/etc/ssl/certs/ca-certificates.crt", R_OK) == 0 {
                tools.file("/etc/ssl/certs/ca-certificates.crt", host: "/etc/ssl/certs/ca-certificates.crt")
            }
            // As the image's `sleep` would, but ending at once on SIGTERM (as PID 1 a plain sleep
            // ignores it and every delete would wait out the grace period).
            return Definition(layers: [try busyboxLayer(), tools],
                              config: .init(Env: env, Cmd: ["/bin/sh", "-c", "trap 'exit 0' TERM INT; sleep infinity & wait"]))
        case "library/nginx":
            return Definition(layers: [try busyboxLayer(), try nginxLayer()],
                              config: .init(Env: env, Cmd: ["nginx", "-g", "daemon off;"], StopSignal: "SIGQUIT"))
        default:
            return Definition(layers: [try busyboxLayer()], config: .init(Env: env, Cmd: ["sh"]))
        }
    }

    private func program(_ name: String) throws(ImageError) -> String {
        try hostProgram(programDirectory + "/" + name)
    }

    private func hostProgram(_ path: String) throws(ImageError) -> String {
        guard access(path, X_OK) == 0 else {
            throw ImageError(.notFound, "cannot build the built-in image: \(path) is missing (install it, or build every product with `swift build`)")
        }
        return path
    }

    /// Busybox with a link per applet, the accounts and folders a minimal Linux image has.
    private func busyboxLayer() throws(ImageError) -> LayerContent {
        var layer = LayerContent()
        try layer.program("/bin/busybox", host: try hostProgram(busybox))
        guard let listing = try? Command.run([busybox, "--list-full"]), listing.status == 0 else {
            throw ImageError(.storage, "cannot list the applets of \(busybox)")
        }
        for applet in listing.stdout.split(separator: "\n").map(String.init) where !applet.isEmpty && applet != "bin/busybox" {
            layer.symlink(applet, to: "/bin/busybox")
        }
        layer.file("/etc/passwd", text: "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
        layer.file("/etc/group", text: "root:x:0:\nnogroup:x:65534:\n")
        for directory in ["/dev", "/proc", "/sys", "/etc", "/home", "/var", "/usr/local/bin", "/run"] { layer.directory(directory) }
        layer.directory("/root", mode: 0o700)
        layer.directory("/tmp", mode: 0o1777)
        layer.directory("/var/tmp", mode: 0o1777)
        return layer
    }

    /// Debian's nginx where it looks for its files, as the official image sets it up: an
    /// `nginx` account, logs linked to the container's stdout and stderr, a default site.
    private func nginxLayer() throws(ImageError) -> LayerContent {
        var layer = LayerContent()
        try layer.program("/usr/sbin/nginx", host: try hostProgram(nginx))
        layer.file("/etc/passwd", text: "root:x:0:0:root:/root:/bin/sh\nnginx:x:101:101:nginx:/var/cache/nginx:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
        layer.file("/etc/group", text: "root:x:0:\nnginx:x:101:nginx\nnogroup:x:65534:\n")
        if access("/etc/nginx/mime.types", R_OK) == 0 { layer.file("/etc/nginx/mime.types", host: "/etc/nginx/mime.types") }
        layer.file("/etc/nginx/nginx.conf", text: Self.defaultNginxConf)
        layer.file("/usr/share/nginx/html/index.html", text: "<!DOCTYPE html>\n<html><body><h1>Welcome to nginx!</h1></body></html>\n")
        layer.symlink("/var/log/nginx/access.log", to: "/dev/stdout")
        layer.symlink("/var/log/nginx/error.log", to: "/dev/stderr")
        for directory in ["/var/lib/nginx/body", "/var/lib/nginx/proxy", "/var/lib/nginx/fastcgi", "/var/lib/nginx/uwsgi",
                          "/var/lib/nginx/scgi", "/var/cache/nginx", "/var/lock", "/etc/nginx/conf.d"] {
            layer.directory(directory)
        }
        layer.symlink("/var/run", to: "/run")
        return layer
    }

    static let defaultNginxConf = """
        user  nginx;
        worker_processes  auto;
        error_log  /var/log/nginx/error.log notice;
        pid        /var/run/nginx.pid;
        events {
            worker_connections  1024;
        }
        http {
            include       /etc/nginx/mime.types;
            default_type  application/octet-stream;
            access_log  /var/log/nginx/access.log;
            server {
                listen       80;
                location / {
                    root   /usr/share/nginx/html;
                    index  index.html;
                }
            }
        }

        """

    /// The same host files, the same layout: the same image. Sizes and modification times
    /// stand for the files' contents, so checking costs a stat per file.
    static func fingerprint(_ definition: Definition) -> String {
        var text = "swiftlet-built-in-v1\n"
        for layer in definition.layers {
            for path in layer.hostFiles {
                var info = stat()
                stat(path, &info)
                text += "\(path) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) \(info.st_ino)\n"
            }
            text += "\(layer.directories.sorted { $0.key < $1.key }) \(layer.symlinks.sorted { $0.key < $1.key })\n"
            for (path, source) in layer.files.sorted(by: { $0.key < $1.key }) {
                if case .bytes(let bytes, let mode) = source { text += "\(path) \(mode) \(Digest(hashing: bytes))\n" }
            }
        }
        text += String(decoding: CanonicalJSON.encode(definition.config), as: UTF8.self)
        return Digest(hashing: Array(text.utf8)).hex
    }

    /// Writes the layer's tar into the content store, then unpacks it into its snapshot.
    static func buildLayer(_ content: LayerContent, store: ImageStore) throws(ImageError) -> ImageRecord.Layer {
        let writer = try BlobWriter(store: store.content, expected: nil, expectedSize: nil, limit: 8 << 30)
        do throws(ImageError) {
            try content.write(to: TarWriter { (bytes) throws(ImageError) in try writer.write(bytes) })
            let size = writer.bytesWritten
            let digest = try writer.commit()
            let layer = ImageRecord.Layer(blob: Descriptor(mediaType: MediaType.ociLayer, digest: digest, size: size), diffID: digest)
            _ = try LayerUnpack.unpack(store: store, layer: layer, limits: LayerExtractor.Limits())
            return layer
        } catch {
            writer.abort()
            throw error
        }
    }
}
