import ArgumentParser
import Foundation
import SwiftletNodeAgent
import SwiftletStorage

/// `swiftlet datastore snapshot save|ls|restore|delete`: snapshots of the embedded SQLite
/// datastore, as `k3s etcd-snapshot` offers them for k3s' etcd.
struct DatastoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "datastore",
        abstract: "Snapshots of the server's embedded datastore.",
        subcommands: [Snapshot.self])

    struct Location: ParsableArguments {
        @Option(help: "The --data-dir that `swiftlet server` was given (default: the server's).")
        var dataDir: String = ServerCommand.defaultDataDir()

        @Option(help: "The --datastore that `swiftlet server` was given, if not the default sqlite://DATA_DIR/state.db.")
        var datastore: String?

        @Option(help: "Where snapshots are kept (default: DATA_DIR/snapshots).")
        var snapshotDir: String?

        var directory: SnapshotDirectory {
            SnapshotDirectory(path: snapshotDir ?? ServerCommand.defaultSnapshotDir(dataDir: dataDir))
        }

        func database() throws -> String {
            let url = datastore ?? "sqlite://\(dataDir)/state.db"
            guard url.hasPrefix("sqlite://"), url.count > "sqlite://".count else {
                throw CommandFailure("snapshots are taken of SQLite datastores (sqlite://PATH); \(url) is not one")
            }
            return String(url.dropFirst("sqlite://".count))
        }
    }

    struct Snapshot: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "snapshot",
            abstract: "Save, list, restore and delete datastore snapshots.",
            subcommands: [Save.self, List.self, Restore.self, Delete.self])
    }

    struct Save: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "save", abstract: "Save a snapshot of the datastore, while the server runs or not.")
        @OptionGroup var location: Location
        @Option(help: "The snapshot's name; the file is NAME-NODE-UNIXTIME.")
        var name = "on-demand"
        @Option(help: "The node name in the file name (default: the host name).")
        var nodeName: String?

        func run() throws {
            let database = try location.database()
            guard FileManager.default.fileExists(atPath: database) else { throw CommandFailure("no datastore at \(database)") }
            let saved = try location.directory.save(database: database, name: name, node: nodeName ?? NodeAgentConfig.machineHostName())
            print("Snapshot \(saved.name) saved to \(saved.path) (\(ByteCount.human(Int64(saved.size)))).")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the snapshots, as k3s etcd-snapshot ls does.",
                                                        aliases: ["list"])
        @OptionGroup var location: Location

        func run() throws {
            var rows = [["Name", "Location", "Size", "Created"]]
            for snapshot in location.directory.list() {
                rows.append([snapshot.name, "file://" + snapshot.path, String(snapshot.size),
                             snapshot.created.formatted(.iso8601)])
            }
            print(Table.render(rows), terminator: "")
        }
    }

    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "restore",
            abstract: "Replace the datastore with a snapshot; the server must be stopped. The replaced file is moved aside.")
        @OptionGroup var location: Location
        @Argument(help: "The snapshot: a name from `snapshot ls`, or a path.")
        var snapshot: String

        func run() throws {
            let database = try location.database()
            let source = location.directory.resolve(snapshot)
            guard FileManager.default.fileExists(atPath: source) else { throw CommandFailure("no snapshot at \(source)") }
            let dataDir = location.dataDir
            guard FileManager.default.fileExists(atPath: dataDir) else { throw CommandFailure("no data dir at \(dataDir)") }
            guard let restored = try ServerLock.whileHeld(dataDir: dataDir, { try SQLiteSnapshots.restore(from: source, database: database) }) else {
                throw CommandFailure("a swiftlet server is running on \(dataDir) (it holds \(ServerLock.path(dataDir: dataDir))): stop it, then restore")
            }
            print("Restored \(source) into \(database); the datastore continues from revision \(restored.revision).")
            if let aside = restored.replacedStoreMovedTo { print("The replaced datastore is now \(aside).") }
            print("Start the server: clients resume with a fresh list, as after an etcd restore.")
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete snapshots by name.")
        @OptionGroup var location: Location
        @Argument(help: "Snapshot names, from `snapshot ls`.")
        var names: [String]

        func run() throws {
            let known = Set(location.directory.list().map(\.name))
            for name in names {
                guard known.contains(name) else { throw CommandFailure("no snapshot named \(name) in \(location.directory.path)") }
                try FileManager.default.removeItem(atPath: location.directory.resolve(name))
                print("Snapshot \(name) deleted.")
            }
        }
    }
}
