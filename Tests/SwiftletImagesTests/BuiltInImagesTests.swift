import Foundation
import Glibc
import Testing
@testable import SwiftletImages
import SwiftletTestSupport

@Suite(.blockingWork) struct BuiltInImagesTests {
    static let busybox = ImageReference("busybox")!
    static let created = Date(timeIntervalSince1970: 1_700_000_000)

    static func symlinkTarget(_ path: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: path)
    }

    @Test func busyboxIsBuiltFromThisMachinesBusybox() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try ImageStore(root: directory.path + "/store")
        // Busybox needs none of Swiftlet's own programs.
        let builtIn = BuiltInImages(programDirectory: directory.path + "/nowhere")
        #expect(BuiltInImages.serves(Self.busybox))
        let record = try builtIn.ensure(Self.busybox, in: store, now: Self.created)

        #expect(record.name == "docker.io/library/busybox:latest")
        #expect(record.pinned)
        #expect(record.created == Self.created)
        #expect(store.isComplete(record))
        #expect(store.record(named: record.name) == record)
        let lowers = try #require(store.lowerDirectories(record))
        #expect(lowers.count == 1)
        let root = lowers[0]
        #expect(fileType(root + "/bin/busybox") == S_IFREG)
        #expect(access(root + "/bin/busybox", X_OK) == 0)
        #expect(try readFile(root + "/bin/busybox") == readFile(builtIn.busybox))
        #expect(Self.symlinkTarget(root + "/bin/sh") == "/bin/busybox")
        #expect(Self.symlinkTarget(root + "/bin/ls") == "/bin/busybox")
        #expect(contents(root + "/etc/passwd")?.hasPrefix("root:x:0:0:root:/root:/bin/sh\n") == true)
        #expect(fileStatus(root + "/tmp").map { $0.st_mode & 0o7777 } == 0o1777)
        #expect(fileStatus(root + "/root").map { $0.st_mode & 0o7777 } == 0o700)
        let configuration = try store.configuration(of: record)
        #expect(configuration.config?.Cmd == ["sh"])
        #expect(configuration.platform == Platform.current)
        #expect(configuration.rootfs.diff_ids == record.layers.map(\.diffID))

        // Asked again: the same record, not rebuilt.
        let again = try builtIn.ensure(Self.busybox, in: store, now: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(again == record)

        // The same host files make the same image, byte for byte, in another store.
        let other = try ImageStore(root: directory.path + "/other")
        let rebuilt = try builtIn.ensure(Self.busybox, in: other, now: Self.created)
        #expect(rebuilt.target == record.target && rebuilt.layers == record.layers)

        // Another tag is not built in.
        let tagged = try #require(ImageReference("busybox:1.36"))
        #expect(!BuiltInImages.serves(tagged))
        #expect(imageError { () throws(ImageError) in _ = try builtIn.ensure(tagged, in: store) }?.kind == .notFound)
    }

    @Test func aChangedHostProgramRebuildsTheImage() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try ImageStore(root: directory.path + "/store")
        var builtIn = BuiltInImages(programDirectory: directory.path)
        builtIn.busybox = directory.path + "/busybox"
        try shell("cp /bin/busybox '\(builtIn.busybox)'")
        let first = try builtIn.ensure(Self.busybox, in: store, now: Self.created)
        #expect(try builtIn.ensure(Self.busybox, in: store, now: Date()).created == Self.created)

        // A new modification time stands for new content: built again (to the same bytes here).
        var times = [timespec(tv_sec: 1_600_000_000, tv_nsec: 0), timespec(tv_sec: 1_600_000_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, builtIn.busybox, &times, 0) == 0)
        let later = Date(timeIntervalSince1970: 1_750_000_000)
        let second = try builtIn.ensure(Self.busybox, in: store, now: later)
        #expect(second.created == later)
        #expect(second.target == first.target)
        #expect(second.config.annotations != first.config.annotations)
    }

    @Test func theWhoamiImageCarriesTheProgramAndItsLibraries() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try ImageStore(root: directory.path + "/store")
        let programs = directory.directory("bin")
        let builtIn = BuiltInImages(programDirectory: programs)
        let whoami = try #require(ImageReference("kiamol/ch02-whoami"))

        let missing = imageError { () throws(ImageError) in _ = try builtIn.ensure(whoami, in: store) }
        #expect(missing?.kind == .notFound)
        #expect(missing?.message.contains(programs + "/swiftlet-whoami is missing") == true)

        // Any dynamically linked program stands in for the sample app.
        try shell("cp /bin/true '\(programs)/swiftlet-whoami'")
        let record = try builtIn.ensure(whoami, in: store, now: Self.created)
        let root = try #require(store.lowerDirectories(record)?.first)
        #expect(try readFile(root + "/app/whoami") == readFile("/bin/true"))
        // Its libraries, where the host's loader finds them.
        #expect(exists(root + "/lib64") || exists(root + "/lib") || exists(root + "/usr/lib"))
        let libraries = FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String }.filter { $0.contains("libc.so") } ?? []
        #expect(!libraries.isEmpty)
        let configuration = try store.configuration(of: record)
        #expect(configuration.config?.Entrypoint == ["/app/whoami"])
        #expect(configuration.config?.WorkingDir == "/app")
    }

    @Test(.enabled(if: access("/usr/sbin/nginx", X_OK) == 0, "this machine has no nginx"))
    func nginxSharesTheBusyboxLayer() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try ImageStore(root: directory.path + "/store")
        let builtIn = BuiltInImages(programDirectory: directory.path)
        let busybox = try builtIn.ensure(Self.busybox, in: store)
        let nginx = try builtIn.ensure(try #require(ImageReference("nginx:1.17-alpine")), in: store)
        #expect(nginx.layers.count == 2)
        #expect(nginx.layers[0] == busybox.layers[0])
        let top = try #require(store.lowerDirectories(nginx)?.first)
        #expect(access(top + "/usr/sbin/nginx", X_OK) == 0)
        #expect(contents(top + "/etc/nginx/nginx.conf")?.contains("listen       80;") == true)
        #expect(Self.symlinkTarget(top + "/var/log/nginx/access.log") == "/dev/stdout")
        let configuration = try store.configuration(of: nginx)
        #expect(configuration.config?.StopSignal == "SIGQUIT")
        #expect(configuration.config?.Cmd == ["nginx", "-g", "daemon off;"])
    }

    @Test(.enabled(if: access("/usr/bin/curl", X_OK) == 0, "this machine has no curl"))
    func theSleepToolboxHasCurl() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try ImageStore(root: directory.path + "/store")
        let record = try BuiltInImages(programDirectory: directory.path).ensure(try #require(ImageReference("kiamol/ch03-sleep")), in: store)
        #expect(record.layers.count == 2)
        let top = try #require(store.lowerDirectories(record)?.first)
        #expect(try readFile(top + "/usr/bin/curl") == readFile("/usr/bin/curl"))
        #expect(try store.configuration(of: record).config?.Cmd?.first == "/bin/sh")
    }

    @Test func aPullOfABuiltInReferenceNeedsNoRegistry() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try ImageStore(root: directory.path + "/store")
        let puller = ImagePuller(store: store, registries: RegistriesConfig(), builtIn: BuiltInImages(programDirectory: directory.path))
        let record = try await puller.pull(Self.busybox)
        #expect(record.pinned && record.name == "docker.io/library/busybox:latest")
        #expect(store.isComplete(record))
        let again = try await puller.pull(Self.busybox)
        #expect(again.target == record.target && again.layers == record.layers)
    }
}
