import Testing
@testable import SwiftletImages

struct ImageReferenceTests {
    static let digest = "sha256:" + String(repeating: "ab", count: 32)

    @Test(arguments: [
        ("nginx", "docker.io/library/nginx:latest"),
        ("nginx:1.17-alpine", "docker.io/library/nginx:1.17-alpine"),
        ("library/nginx", "docker.io/library/nginx:latest"),
        ("docker.io/nginx", "docker.io/library/nginx:latest"),
        ("index.docker.io/library/nginx:1.17", "docker.io/library/nginx:1.17"),
        ("index.docker.io/kiamol/ch02-whoami", "docker.io/kiamol/ch02-whoami:latest"),
        ("kiamol/ch05-pi", "docker.io/kiamol/ch05-pi:latest"),
        ("registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"),
        ("ghcr.io/org/team/app:v1.2.3_rc-1", "ghcr.io/org/team/app:v1.2.3_rc-1"),
        ("localhost/app", "localhost/app:latest"),
        ("localhost:5000/a/b:v1", "localhost:5000/a/b:v1"),
        ("127.0.0.1:5000/test/app:1.0", "127.0.0.1:5000/test/app:1.0"),
        ("[::1]:5000/app", "[::1]:5000/app:latest"),
        ("Registry.Example.com/app", "Registry.Example.com/app:latest"),
        ("my-registry-1.example.com/a__b/c.d/e--f", "my-registry-1.example.com/a__b/c.d/e--f:latest"),
        ("nginx@" + digest, "docker.io/library/nginx@" + digest),
        ("quay.io/app:v1@" + digest, "quay.io/app:v1@" + digest),
    ])
    func normalises(_ text: String, _ expected: String) throws {
        let reference = try #require(ImageReference(text))
        #expect(reference.description == expected)
        // Normalising is idempotent.
        #expect(ImageReference(reference.description) == reference)
    }

    @Test func partsOfAReference() throws {
        let tagged = try #require(ImageReference("127.0.0.1:5000/test/app:1.0"))
        #expect(tagged.registry == "127.0.0.1:5000")
        #expect(tagged.repository == "test/app")
        #expect(tagged.tag == "1.0" && tagged.digest == nil)
        #expect(tagged.name == "127.0.0.1:5000/test/app")
        #expect(tagged.manifestReference == "1.0")

        let both = try #require(ImageReference("nginx:1.17@" + Self.digest))
        #expect(both.tag == "1.17")
        #expect(both.digest?.description == Self.digest)
        // A digest wins over a tag when pulling.
        #expect(both.manifestReference == Self.digest)

        let digested = try #require(ImageReference("nginx@" + Self.digest))
        #expect(digested.tag == nil)
        let pinned = tagged.pinned(to: try #require(Digest(Self.digest)))
        #expect(pinned.description == "127.0.0.1:5000/test/app@" + Self.digest)
        #expect(pinned.tag == nil)
    }

    @Test(arguments: [
        "", "Nginx", "library/NGINX", "nginx:", "nginx:-bad", "nginx:bad tag", "nginx:" + String(repeating: "t", count: 129),
        "nginx@sha256:abc", "nginx@md5:" + String(repeating: "a", count: 32), "nginx@", "nginx@" + digest.uppercased(),
        "a//b", "my_registry.example.com/app", "/nginx", "nginx/", "app_", "-app", "a...b", "a.-b", "-host.example.com/app", "host.example.com:port/app",
        "host.example.com:123456/app", "[::1/app", "exa mple.com/app", "docker.io/",
        String(repeating: "a", count: 513),
    ])
    func refuses(_ text: String) {
        #expect(ImageReference(text) == nil)
    }
}

struct PlatformTests {
    static let amd64 = Platform(os: "linux", architecture: "amd64")
    static let arm64 = Platform(os: "linux", architecture: "arm64", variant: "v8")
    static let armV7 = Platform(os: "linux", architecture: "arm", variant: "v7")

    @Test func whatRunsWhere() {
        #expect(Self.amd64.runs(Platform(os: "linux", architecture: "amd64")))
        #expect(Self.amd64.runs(Platform(os: "linux", architecture: "x86_64")))
        #expect(Self.amd64.runs(Platform(os: "linux", architecture: "amd64", variant: "v1")))
        #expect(!Self.amd64.runs(Platform(os: "linux", architecture: "arm64")))
        #expect(!Self.amd64.runs(Platform(os: "windows", architecture: "amd64")))
        #expect(!Self.amd64.runs(Platform(os: "linux", architecture: "386")))

        // arm64's variant is v8 when unset, on either side.
        #expect(Self.arm64.runs(Platform(os: "linux", architecture: "arm64")))
        #expect(Self.arm64.runs(Platform(os: "linux", architecture: "aarch64", variant: "v8")))
        #expect(Platform(os: "linux", architecture: "arm64").runs(Platform(os: "linux", architecture: "arm64", variant: "v8")))
        #expect(!Self.arm64.runs(Platform(os: "linux", architecture: "arm", variant: "v7")))
        #expect(!Self.arm64.runs(Self.amd64))

        // An arm v7 machine runs v7, v6, v5 and unspecified arm images, not v8.
        for variant in ["v7", "v6", "v5", nil] {
            #expect(Self.armV7.runs(Platform(os: "linux", architecture: "arm", variant: variant)), "\(variant ?? "none")")
        }
        #expect(!Self.armV7.runs(Platform(os: "linux", architecture: "arm", variant: "v8")))
        #expect(!Platform(os: "linux", architecture: "arm", variant: "v6").runs(Self.armV7))
    }

    @Test func platformDescriptions() {
        #expect(Self.amd64.description == "linux/amd64")
        #expect(Self.armV7.description == "linux/arm/v7")
        #expect(Platform.current.os == "linux")
        #expect(Platform.current.runs(Platform.current))
    }

    static func entry(_ name: String, _ platform: Platform?, mediaType: String = MediaType.ociManifest) -> Descriptor {
        Descriptor(mediaType: mediaType, digest: Digest(hashing: Array(name.utf8)), size: 100, platform: platform)
    }

    static let index = ImageIndex(manifests: [
        entry("no platform", nil),
        entry("windows", Platform(os: "windows", architecture: "amd64")),
        entry("nested index", Platform(os: "linux", architecture: "amd64"), mediaType: MediaType.ociIndex),
        entry("arm v6", Platform(os: "linux", architecture: "arm", variant: "v6")),
        entry("arm64", Platform(os: "linux", architecture: "arm64", variant: "v8")),
        entry("arm v7", Platform(os: "linux", architecture: "arm", variant: "v7")),
        entry("amd64", Platform(os: "linux", architecture: "amd64")),
        entry("amd64 again", Platform(os: "linux", architecture: "amd64")),
        entry("attestation", Platform(os: "unknown", architecture: "unknown")),
    ])

    @Test func anIndexGivesThisPlatformsManifest() {
        #expect(Self.index.manifest(for: Self.amd64)?.digest == Self.entry("amd64", nil).digest)
        #expect(Self.index.manifest(for: Self.arm64)?.digest == Self.entry("arm64", nil).digest)
        // The exact variant before an older one listed first.
        #expect(Self.index.manifest(for: Self.armV7)?.digest == Self.entry("arm v7", nil).digest)
        #expect(Self.index.manifest(for: Platform(os: "linux", architecture: "arm", variant: "v6"))?.digest
                    == Self.entry("arm v6", nil).digest)
        #expect(Self.index.manifest(for: Platform(os: "linux", architecture: "riscv64")) == nil)

        // Without a platform an entry is never chosen; a v7 machine takes a v6-only image.
        let unlabelled = ImageIndex(manifests: [Self.entry("a", nil), Self.entry("b", nil)])
        #expect(unlabelled.manifest(for: Self.amd64) == nil)
        let v6Only = ImageIndex(mediaType: MediaType.dockerManifestList, manifests: [
            Self.entry("v6", Platform(os: "linux", architecture: "arm", variant: "v6"), mediaType: MediaType.dockerManifest),
        ])
        #expect(v6Only.manifest(for: Self.armV7)?.digest == Self.entry("v6", nil).digest)
    }
}
