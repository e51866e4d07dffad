import ArgumentParser
import Foundation
import SwiftletPKI
import SwiftletStorage

/// Where the server's EncryptionConfiguration lives, as k3s keeps it (`server/cred/`).
enum SecretsEncryption {
    static func path(dataDir: String) -> String { dataDir + "/cred/encryption-config.json" }

    /// The configuration in the data dir; with `create`, a new one (an AES-GCM key for
    /// Secrets, then identity so that Secrets written before still read) when there is none.
    static func configuration(dataDir: String, create: Bool) throws -> EncryptionConfiguration? {
        let file = path(dataDir: dataDir)
        if let text = try SecureFiles.readIfExists(file) {
            try SecureFiles.setMode(file, 0o600)
            do { return try EncryptionConfiguration.parse(Data(text.utf8)) } catch {
                throw CommandFailure("swiftlet: \(file): \(error)")
            }
        }
        guard create else { return nil }
        let configuration = EncryptionConfiguration(resources: [
            (["/secrets/"], [.aesgcm([.generate(name: keyName(Date()))]), .identity]),
        ])
        try write(configuration, dataDir: dataDir)
        return configuration
    }

    static func write(_ configuration: EncryptionConfiguration, dataDir: String) throws {
        try SecureFiles.createDirectory(dataDir + "/cred", mode: 0o700)
        try SecureFiles.writeAtomically(path(dataDir: dataDir), bytes: Array(configuration.render()), mode: 0o600)
    }

    static func keyName(_ date: Date) -> String { "aesgcmkey-\(Int(date.timeIntervalSince1970))" }
}

/// `swiftlet secrets-encrypt rotate`: a new key encrypts Secrets from now on, every stored
/// Secret is re-encrypted with it, and then the old keys are dropped.
struct SecretsEncryptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets-encrypt", abstract: "Manage the encryption of Secrets at rest.",
        subcommands: [Rotate.self])

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-encrypt every Secret with a new key (the server must be stopped).")

        @Option(help: "The server's data dir.") var dataDir: String = ServerCommand.defaultDataDir()
        @Option(help: "The server's datastore (default: sqlite://DATA_DIR/state.db).") var datastore: String?

        func run() throws {
            guard try ServerLock.acquireForProcessLifetime(dataDir: dataDir) else {
                throw CommandFailure("swiftlet secrets-encrypt rotate: a server is running on \(dataDir); stop it first")
            }
            guard let current = try SecretsEncryption.configuration(dataDir: dataDir, create: false) else {
                throw CommandFailure("swiftlet secrets-encrypt rotate: Secrets are not encrypted in \(dataDir) (start the server with --secrets-encryption)")
            }
            let newKey = EncryptionConfiguration.Key.generate(name: SecretsEncryption.keyName(Date()) + "-\(Int.random(in: 1000...9999))")
            // First the new key in front of the old ones, so a crash midway leaves every Secret readable.
            var rotating = current
            var kept = current
            for i in rotating.resources.indices {
                let providers = rotating.resources[i].providers
                if case .aesgcm(let oldKeys)? = providers.first {
                    rotating.resources[i].providers = [.aesgcm([newKey] + oldKeys)] + providers.dropFirst()
                } else {
                    rotating.resources[i].providers = [.aesgcm([newKey])] + providers
                }
                kept.resources[i].providers = [.aesgcm([newKey]), .identity]
            }
            try SecretsEncryption.write(rotating, dataDir: dataDir)
            let store = EncryptedStore(base: try openStore(url: datastore ?? "sqlite://\(dataDir)/state.db"), configuration: rotating)
            defer { store.close() }
            let rewritten = try store.reencryptAll()
            try SecretsEncryption.write(kept, dataDir: dataDir)
            print("swiftlet secrets-encrypt rotate: \(rewritten) values re-encrypted with key \(newKey.name)")
        }
    }
}
