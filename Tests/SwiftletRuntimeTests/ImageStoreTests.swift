import Foundation
import Testing
import SwiftletRuntime

@Suite struct ImageStoreTests {
    @Test(arguments: [
        ("nginx", "docker.io/library/nginx:latest"),
        ("nginx:1.17-alpine", "docker.io/library/nginx:1.17-alpine"),
        ("kiamol/ch02-whoami", "docker.io/kiamol/ch02-whoami:latest"),
        ("registry.example.com:5000/team/app:v1", "registry.example.com:5000/team/app:v1"),
        ("localhost/app", "localhost/app:latest"),
        ("busybox@sha256:abcd", "docker.io/library/busybox@sha256:abcd"),
    ])
    func referencesAreNormalisedAsDockerDoes(text: String, normalised: String) {
        #expect(ImageReference(text)?.description == normalised)
    }

    @Test(arguments: ["", "Nginx", "a b", "foo:", "//x"])
    func invalidReferences(text: String) {
        #expect(ImageReference(text) == nil)
    }

    @Test func catalogProvidesTheChaptersImagesWhateverTheTag() throws {
        let store = ImageStore(directory: "/nonexistent", builtIn: BuiltInImages(programDirectory: "/opt/swiftlet"))
        let pi = try store.resolve("kiamol/ch05-pi:v2").get()
        #expect(pi.files == [.init(source: "/opt/swiftlet/swiftlet-pi", destination: "/usr/bin/dotnet")])
        #expect(pi.argv(command: ["dotnet", "Pi.Web.dll", "-m", "web"], args: nil) == ["dotnet", "Pi.Web.dll", "-m", "web"])
        let nginx = try store.resolve("nginx:1.17-alpine").get()
        #expect(nginx.users.map(\.name) == ["nginx"])
        #expect(nginx.symlinks["/var/log/nginx/access.log"] == "/dev/stdout")
        #expect(nginx.argv(command: nil, args: nil) == ["nginx", "-g", "daemon off;"])
        #expect(try store.resolve("kiamol/ch02-whoami").get().id.hasPrefix("docker.io/kiamol/ch02-whoami@sha256:"))
    }

    @Test func unknownAndInvalidImagesSayWhy() {
        let store = ImageStore(directory: "/nonexistent", builtIn: BuiltInImages(programDirectory: "/opt"))
        guard case .failure(let missing) = store.resolve("example.invalid/nothing:1.0") else { Issue.record("resolved"); return }
        #expect(missing.message.contains("\"example.invalid/nothing:1.0\""))
        guard case .failure(let invalid) = store.resolve("Bad Name") else { Issue.record("resolved"); return }
        #expect(invalid.message.contains("invalid reference format"))
    }

    @Test func commandAndArgsFollowTheKubeletsRules() {
        let image = ImageConfig(reference: "r", id: "i", entrypoint: ["/ep"], cmd: ["default"])
        #expect(image.argv(command: nil, args: nil) == ["/ep", "default"])
        #expect(image.argv(command: nil, args: ["x"]) == ["/ep", "x"])
        #expect(image.argv(command: ["/bin/sh"], args: nil) == ["/bin/sh"])
        #expect(image.argv(command: ["/bin/sh"], args: ["-c", "true"]) == ["/bin/sh", "-c", "true"])
    }

    @Test func aLocallyStoredImageWins() throws {
        let dir = NSTemporaryDirectory() + "swiftlet-images-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let folder = dir + "/docker.io_library_nginx_latest"
        try FileManager.default.createDirectory(atPath: folder + "/rootfs", withIntermediateDirectories: true)
        try Data(#"{"config":{"Cmd":["/bin/true"],"WorkingDir":"/srv"}}"#.utf8).write(to: URL(fileURLWithPath: folder + "/config.json"))
        let image = try ImageStore(directory: dir, builtIn: BuiltInImages(programDirectory: "/opt")).resolve("nginx").get()
        #expect(image.cmd == ["/bin/true"])
        #expect(image.workingDir == "/srv")
        #expect(image.rootfs == folder + "/rootfs")
    }
}
