import ArgumentParser
import Foundation
import SwiftletPKI

/// `swiftlet kubeconfig --user NAME [--group G]…`: a kubeconfig for a person or program of
/// their own, authenticated by a client certificate the cluster CA signs (CN the user, O the
/// groups, as upstream's x509 authenticator reads them). What they may do is then RBAC's to say.
struct KubeconfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kubeconfig",
        abstract: "Write a kubeconfig for a user of their own, with a client certificate signed by the cluster CA.",
        discussion: """
            Run where the server's data dir is (its CA key signs the certificate). The user has no \
            rights until a RoleBinding or ClusterRoleBinding grants some; a group of system:masters \
            makes them an administrator.
            """
    )

    @Option(help: "The user name (the certificate's common name).") var user: String
    @Option(help: "A group the user is in (repeatable; the certificate's organizations).") var group: [String] = []
    @Option(help: "The server's data dir.") var dataDir: String = ServerCommand.defaultDataDir()
    @Option(help: "Where to write the kubeconfig (default: standard output).") var output: String?
    @Option(help: "How long the certificate is valid, in days.") var days: Int = 365

    func validate() throws {
        guard !user.isEmpty, !user.contains("\n") else { throw ValidationError("--user must be a non-empty name on one line") }
        guard days > 0 else { throw ValidationError("--days must be at least 1") }
    }

    func run() throws {
        let authority = try ClusterPKI.loadAuthority(dataDirectory: dataDir)
        let admin = dataDir + "/kubeconfig.yaml"
        guard let adminConfig = try SecureFiles.readIfExists(admin),
              let serverLine = adminConfig.split(separator: "\n").first(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix("server:") }) else {
            throw CommandFailure("swiftlet kubeconfig: no server address in \(admin); start `swiftlet server` with this data dir first")
        }
        let server = serverLine.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: CharacterSet(charactersIn: " \""))
        let issued = try authority.issue(commonName: user, organizations: group, purposes: .client,
                                         validity: TimeInterval(days) * 24 * 60 * 60)
        var kubeconfig = Kubeconfig(server: server, certificateAuthorityPEM: authority.certificatePEM,
                                    credential: .clientCertificate(certificatePEM: issued.certificatePEM, keyPEM: issued.privateKeyPEM))
        kubeconfig.userName = user
        kubeconfig.contextName = "swiftlet-\(user)"
        if let output {
            try kubeconfig.write(to: output)
        } else {
            print(kubeconfig.render(), terminator: "")
        }
    }
}
