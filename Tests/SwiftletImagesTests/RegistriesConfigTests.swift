import Foundation
import Testing
@testable import SwiftletImages
import SwiftletTestSupport

@Suite(.blockingWork) struct RegistriesConfigTests {
    static let yaml = """
        mirrors:
          docker.io:
            endpoint:
              - "https://mirror.example.com"
              - "127.0.0.1:5000"
              - "http://m2.example.com/custom/path/"
              - "ftp://not-a-registry.example.com"
            rewrite:
              "^library/(.*)": "mirrored/$1"
          "*":
            endpoint: ["https://wild.example.com"]
          quay.io:
            endpoint: ["quay-mirror.example.com:8443"]
            rewrite:
              "^org/(.*)$": "mirror/${1}"
        configs:
          mirror.example.com:
            auth:
              username: user
              password: pass
          "127.0.0.1:5000":
            auth:
              auth: dTI6cDI=
          docker.io:
            auth:
              identitytoken: idt
            tls:
              ca_file: /etc/ca.pem
              insecure_skip_verify: true
          "*":
            auth: {username: anyone, password: any}
        """

    @Test func parsesK3sRegistriesYAML() throws {
        let config = try RegistriesConfig.parse(Self.yaml)
        #expect(config.mirrors["docker.io"]?.endpoint?.first == "https://mirror.example.com")
        #expect(config.mirrors["docker.io"]?.rewrite == ["^library/(.*)": "mirrored/$1"])
        #expect(config.mirrors["*"]?.endpoint == ["https://wild.example.com"])
        #expect(config.configs["mirror.example.com"]?.auth?.credential == RegistryCredential(username: "user", password: "pass"))
        // `auth` is base64 of user:password.
        #expect(config.configs["127.0.0.1:5000"]?.auth?.credential == RegistryCredential(username: "u2", password: "p2"))
        // An identity token is a password with no username.
        #expect(config.configs["docker.io"]?.auth?.credential == RegistryCredential(username: "", password: "idt"))
        #expect(config.configs["docker.io"]?.tls == .init(ca_file: "/etc/ca.pem", insecure_skip_verify: true))
    }

    @Test func credentialsPreferUsernameThenIdentityTokenThenAuth() {
        let all = RegistriesConfig.Auth(username: "u", password: "p", auth: "eDp5", identitytoken: "t")
        #expect(all.credential == RegistryCredential(username: "u", password: "p"))
        #expect(RegistriesConfig.Auth(auth: "eDp5", identitytoken: "t").credential == RegistryCredential(username: "", password: "t"))
        #expect(RegistriesConfig.Auth(auth: "eDp5").credential == RegistryCredential(username: "x", password: "y"))
        #expect(RegistriesConfig.Auth().credential == nil)

        // base64 without its padding, a password with colons; text that is no credential.
        #expect(RegistryCredential(base64: "dTI6cDI") == RegistryCredential(username: "u2", password: "p2"))
        #expect(RegistryCredential(base64: Data("a:b:c".utf8).base64EncodedString()) == RegistryCredential(username: "a", password: "b:c"))
        #expect(RegistryCredential(base64: Data("no colon".utf8).base64EncodedString()) == nil)
        #expect(RegistryCredential(base64: "!!!") == nil)
        #expect(RegistryCredential(username: "u", password: "secret").description == "user u")
        #expect(RegistryCredential(username: "u", password: "p").basicAuthorization == "Basic dTpw")
    }

    @Test func emptyAndMissingFilesAreEmptyConfigurations() throws {
        #expect(try RegistriesConfig.parse("") == RegistriesConfig())
        #expect(try RegistriesConfig.parse("  \n\n") == RegistriesConfig())
        #expect(try RegistriesConfig.parse("mirrors: {}\n") == RegistriesConfig())
        #expect(try RegistriesConfig.load(path: "/nonexistent/registries.yaml") == RegistriesConfig())
    }

    @Test func invalidYAMLIsRefusedWithTheFileName() throws {
        for text in ["mirrors: [unclosed", "mirrors: \"a string\"", "mirrors:\n  docker.io:\n    endpoint: 5\n    rewrite: [1, 2]"] {
            let error = imageError { () throws(ImageError) in _ = try RegistriesConfig.parse(text, file: "/etc/swiftlet/registries.yaml") }
            #expect(error?.kind == .invalidContent, "\(text)")
            #expect(error?.message.hasPrefix("/etc/swiftlet/registries.yaml: ") == true, "\(error?.message ?? "")")
        }
    }

    @Test func anInvalidRewritePatternIsRefused() {
        let text = """
            mirrors:
              docker.io:
                endpoint: ["https://mirror.example.com"]
                rewrite:
                  "^(unclosed": "x"
            """
        let error = imageError { () throws(ImageError) in _ = try RegistriesConfig.parse(text) }
        #expect(error?.kind == .invalidContent)
        #expect(error?.message == "registries.yaml: invalid rewrite pattern \"^(unclosed\"")
    }

    @Test func loadsAFile() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.write("registries.yaml", Array(Self.yaml.utf8))
        #expect(try RegistriesConfig.load(path: path) == RegistriesConfig.parse(Self.yaml))
    }
}

struct RegistryHostsTests {
    static let hosts = RegistryHosts(config: try! RegistriesConfig.parse(RegistriesConfigTests.yaml))

    static func endpoints(_ reference: String, _ hosts: RegistryHosts = hosts) -> [RegistryEndpoint] {
        hosts.endpoints(for: ImageReference(reference)!)
    }

    @Test func dockerHubWithoutMirrorsIsRegistry1() {
        let endpoints = Self.endpoints("nginx", RegistryHosts(config: RegistriesConfig()))
        #expect(endpoints.map(\.description) == ["https://registry-1.docker.io/v2"])
        #expect(endpoints[0].namespace == nil && !endpoints[0].plainHTTPFirst && endpoints[0].config == nil)
        #expect(endpoints[0].url(repository: "library/nginx", kind: "manifests", reference: "latest")
                    == "https://registry-1.docker.io/v2/library/nginx/manifests/latest")
    }

    @Test func mirrorsInOrderThenTheRegistry() throws {
        let endpoints = Self.endpoints("nginx:1.17")
        #expect(endpoints.map(\.description) == [
            "https://mirror.example.com/v2",
            // A loopback mirror with a port and no scheme is plain HTTP.
            "http://127.0.0.1:5000/v2",
            "http://m2.example.com/custom/path",
            "https://registry-1.docker.io/v2",
        ])
        // Mirrors are told what they stand in for, and rewrite; the registry itself does neither.
        #expect(endpoints.map(\.namespace) == ["docker.io", "docker.io", "docker.io", nil])
        #expect(endpoints[0].url(repository: "library/nginx", kind: "manifests", reference: "1.17")
                    == "https://mirror.example.com/v2/mirrored/nginx/manifests/1.17?ns=docker.io")
        #expect(endpoints[2].url(repository: "library/nginx", kind: "blobs", reference: "sha256:x")
                    == "http://m2.example.com/custom/path/mirrored/nginx/blobs/sha256:x?ns=docker.io")
        #expect(endpoints[3].url(repository: "library/nginx", kind: "manifests", reference: "1.17")
                    == "https://registry-1.docker.io/v2/library/nginx/manifests/1.17")
        // Each endpoint's own settings: by host, docker.io's for registry-1, else "*"'s.
        #expect(endpoints[0].config?.auth?.credential == RegistryCredential(username: "user", password: "pass"))
        #expect(endpoints[1].config?.auth?.credential == RegistryCredential(username: "u2", password: "p2"))
        #expect(endpoints[2].config?.auth?.credential == RegistryCredential(username: "anyone", password: "any"))
        #expect(endpoints[3].config?.auth?.credential == RegistryCredential(username: "", password: "idt"))
        #expect(endpoints[3].config?.tls?.insecure_skip_verify == true)
    }

    @Test func theWildcardServesRegistriesWithoutMirrorsOfTheirOwn() {
        let endpoints = Self.endpoints("ghcr.io/org/app:v1")
        #expect(endpoints.map(\.description) == ["https://wild.example.com/v2", "https://ghcr.io/v2"])
        #expect(endpoints.map(\.namespace) == ["ghcr.io", nil])
        #expect(endpoints[1].config?.auth?.credential == RegistryCredential(username: "anyone", password: "any"))
    }

    @Test func rewritesTakeBothGoAndICUGroupReferences() {
        let endpoints = Self.endpoints("quay.io/org/app")
        #expect(endpoints.map(\.description) == ["https://quay-mirror.example.com:8443/v2", "https://quay.io/v2"])
        #expect(endpoints[0].repository("org/app") == "mirror/app")
        #expect(endpoints[0].repository("other/app") == "other/app")
        #expect(endpoints[1].repository("org/app") == "org/app")
        #expect(Self.endpoints("nginx")[0].repository("library/nginx") == "mirrored/nginx")
        #expect(Self.endpoints("nginx")[0].repository("kiamol/ch05-pi") == "kiamol/ch05-pi")
    }

    @Test(arguments: [
        ("localhost:5000", "http://localhost:5000/v2"),
        ("127.0.0.1", "https://127.0.0.1/v2"),
        ("127.0.0.1:443", "https://127.0.0.1:443/v2"),
        ("127.1.2.3:8080/v2/", "http://127.1.2.3:8080/v2"),
        ("[::1]:5000", "http://[::1]:5000/v2"),
        ("mirror.example.com:5000", "https://mirror.example.com:5000/v2"),
        ("https://docker.io", "https://registry-1.docker.io/v2"),
        ("http://10.0.0.1:5000/", "http://10.0.0.1:5000/v2"),
    ])
    func mirrorEndpointsAreNormalisedAsK3sDoes(_ text: String, _ expected: String) {
        #expect(RegistryHosts.endpoint(text)?.description == expected)
    }

    @Test func unusableEndpointsAreSkipped() {
        #expect(RegistryHosts.endpoint("ftp://mirror.example.com") == nil)
        #expect(RegistryHosts.endpoint("") == nil)
    }

    @Test func aMirrorThatIsTheRegistryItselfIsListedOnce() throws {
        let config = try RegistriesConfig.parse("""
            mirrors:
              docker.io:
                endpoint: ["https://a.example.com", "https://a.example.com/", "docker.io"]
            """)
        let endpoints = Self.endpoints("nginx", RegistryHosts(config: config))
        #expect(endpoints.map(\.description) == ["https://a.example.com/v2", "https://registry-1.docker.io/v2"])
        #expect(endpoints.map(\.namespace) == ["docker.io", nil])
    }

    @Test func loopbackRegistriesTryPlainHTTPFirstUnlessGivenTLS() throws {
        let plain = Self.endpoints("127.0.0.1:5000/test/app:1.0", RegistryHosts(config: RegistriesConfig()))
        #expect(plain.map(\.description) == ["https://127.0.0.1:5000/v2"])
        #expect(plain[0].plainHTTPFirst)
        #expect(Self.endpoints("localhost/app", RegistryHosts(config: RegistriesConfig()))[0].plainHTTPFirst)
        #expect(!Self.endpoints("registry.example.com/app", RegistryHosts(config: RegistriesConfig()))[0].plainHTTPFirst)

        let withTLS = RegistriesConfig(configs: ["127.0.0.1:5000": .init(tls: .init(ca_file: "/ca.pem"))])
        #expect(!Self.endpoints("127.0.0.1:5000/test/app", RegistryHosts(config: withTLS))[0].plainHTTPFirst)

        #expect(RegistryHosts.isLoopback("127.0.0.1:5000") && RegistryHosts.isLoopback("127.255.0.9"))
        #expect(RegistryHosts.isLoopback("localhost") && RegistryHosts.isLoopback("[::1]:80"))
        #expect(!RegistryHosts.isLoopback("128.0.0.1") && !RegistryHosts.isLoopback("127.0.0.1.example.com"))
        #expect(!RegistryHosts.isLoopback("127.0.0.256"))
    }
}

struct DockerKeyringTests {
    static func keyring(_ json: String, legacy: Bool = false) -> DockerKeyring {
        var keyring = DockerKeyring()
        keyring.add(dockerConfigJSON: Array(json.utf8), legacy: legacy)
        return keyring
    }

    static func auth(_ user: String, _ password: String) -> String {
        Data("\(user):\(password)".utf8).base64EncodedString()
    }

    static func credentials(_ keyring: DockerKeyring, _ image: String) -> [RegistryCredential] {
        keyring.credentials(for: ImageReference(image)!)
    }

    @Test func dockerConfigJSONForDockerHub() {
        let keyring = Self.keyring(#"{"auths": {"https://index.docker.io/v1/": {"auth": "\#(Self.auth("hub", "pw"))"}}}"#)
        #expect(Self.credentials(keyring, "nginx") == [RegistryCredential(username: "hub", password: "pw")])
        #expect(Self.credentials(keyring, "docker.io/kiamol/ch05-pi") == [RegistryCredential(username: "hub", password: "pw")])
        #expect(Self.credentials(keyring, "quay.io/app").isEmpty)
    }

    @Test func legacyDockercfgAndUsernamePasswordEntries() {
        let keyring = Self.keyring(#"{"registry.example.com": {"username": "a", "password": "b"}, "bad": "entry"}"#, legacy: true)
        #expect(Self.credentials(keyring, "registry.example.com/team/app:1") == [RegistryCredential(username: "a", password: "b")])
        // Field names are matched as Go does, whatever their case.
        let upper = Self.keyring(#"{"Auths": {"registry.example.com": {"Auth": "\#(Self.auth("c", "d"))"}}}"#)
        #expect(Self.credentials(upper, "registry.example.com/app") == [RegistryCredential(username: "c", password: "d")])
        #expect(Self.keyring("not json").isEmpty)
        #expect(Self.keyring(#"{"auths": {"registry.example.com": {}}}"#).isEmpty)
    }

    @Test func wildcardsPortsAndPaths() {
        let keyring = Self.keyring(#"""
            {"auths": {
              "*.example.com": {"auth": "\#(Self.auth("wild", "1"))"},
              "registry.example.com:5000": {"auth": "\#(Self.auth("port", "2"))"},
              "https://team.example.org/v2/team": {"auth": "\#(Self.auth("team", "3"))"},
              "team.example.org": {"auth": "\#(Self.auth("host", "4"))"}
            }}
            """#)
        #expect(Self.credentials(keyring, "registry.example.com/app").map(\.username) == ["wild"])
        // `*` is one label: neither the bare domain nor two labels.
        #expect(Self.credentials(keyring, "example.com/app").isEmpty)
        #expect(Self.credentials(keyring, "a.b.example.com/app").isEmpty)
        // Ports must be the same.
        #expect(Self.credentials(keyring, "registry.example.com:5000/app").map(\.username) == ["port"])
        #expect(Self.credentials(keyring, "registry.example.com:5001/app").isEmpty)
        // A path is a prefix of the repository; the more specific key comes first.
        #expect(Self.credentials(keyring, "team.example.org/team/app").map(\.username) == ["team", "host"])
        #expect(Self.credentials(keyring, "team.example.org/other/app").map(\.username) == ["host"])
    }

    @Test func equalCredentialsAreTriedOnce() {
        let keyring = Self.keyring(#"""
            {"auths": {"registry.example.com": {"auth": "\#(Self.auth("same", "pw"))"},
                       "registry.example.com/app": {"username": "same", "password": "pw"}}}
            """#)
        #expect(Self.credentials(keyring, "registry.example.com/app") == [RegistryCredential(username: "same", password: "pw")])
    }

    @Test func globbing() {
        #expect(DockerKeyring.glob("*", "anything"))
        #expect(DockerKeyring.glob("reg*", "registry"))
        #expect(DockerKeyring.glob("r?g", "reg"))
        #expect(!DockerKeyring.glob("r?g", "regg"))
        #expect(DockerKeyring.glob("", ""))
        #expect(!DockerKeyring.glob("", "a"))
        // A pattern full of stars that fails only at its end: quadratic, not exponential.
        let stars = String(repeating: "*a", count: 300) + "b"
        #expect(!DockerKeyring.glob(stars, String(repeating: "a", count: 2000)))
        #expect(DockerKeyring.glob(stars, String(repeating: "a", count: 2000) + "b"))
        #expect(!DockerKeyring.matches(key: stars + ".example.com", image: String(repeating: "a", count: 60) + ".example.com/app"))
    }
}

struct AuthChallengeTests {
    @Test func bearerWithQuotedParameters() {
        let challenges = AuthChallenge.parseHeader(
            #"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#)
        #expect(challenges == [AuthChallenge(scheme: "bearer", parameters: [
            "realm": "https://auth.docker.io/token", "service": "registry.docker.io", "scope": "repository:library/nginx:pull",
        ])])
        #expect(challenges.first?.realm == "https://auth.docker.io/token")
    }

    @Test func escapesSpacesAndCase() {
        let challenges = AuthChallenge.parseHeader(#"BEARER Realm="a \"quoted\" \\ realm", Error="insufficient_scope" ,scope=plain"#)
        #expect(challenges == [AuthChallenge(scheme: "bearer", parameters: [
            "realm": #"a "quoted" \ realm"#, "error": "insufficient_scope", "scope": "plain",
        ])])
        #expect(AuthChallenge.parseHeader(#"Bearer realm="with,comma and space""#).first?.realm == "with,comma and space")
    }

    @Test func basic() {
        #expect(AuthChallenge.parseHeader(#"Basic realm="Registry Realm""#) == [AuthChallenge(scheme: "basic", parameters: ["realm": "Registry Realm"])])
        #expect(AuthChallenge.parseHeader("Basic") == [AuthChallenge(scheme: "basic", parameters: [:])])
    }

    @Test func severalChallengesInOneHeader() {
        let challenges = AuthChallenge.parseHeader(#"Basic realm="basic realm", Bearer realm="https://auth/token",service="svc", Negotiate"#)
        #expect(challenges.map(\.scheme) == ["basic", "bearer", "negotiate"])
        #expect(challenges[0].parameters == ["realm": "basic realm"])
        #expect(challenges[1].parameters == ["realm": "https://auth/token", "service": "svc"])
        #expect(challenges[2].parameters.isEmpty)
        // Across headers and within them, Bearer is preferred, then Basic.
        #expect(AuthChallenge.parse([#"Basic realm="x""#, #"Negotiate, Bearer realm="y""#]).map(\.scheme) == ["bearer", "basic", "negotiate"])
        #expect(AuthChallenge.parse([]).isEmpty)
        #expect(AuthChallenge.parseHeader("").isEmpty)
    }
}
