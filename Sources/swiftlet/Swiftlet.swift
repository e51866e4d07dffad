import ArgumentParser

@main
struct Swiftlet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftlet",
        abstract: "A Kubernetes-compatible cluster in one binary.",
        subcommands: [ServerCommand.self, AgentCommand.self, ImagesCommand.self, DatastoreCommand.self, CleanupCommand.self, KubeconfigCommand.self, SecretsEncryptCommand.self, BenchCommand.self]
    )
}
