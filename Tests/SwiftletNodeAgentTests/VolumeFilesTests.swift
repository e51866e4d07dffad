import Foundation
import Testing
@testable import SwiftletNodeAgent
import SwiftletMachinery

@Suite struct VolumeFilesTests {
    func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "swiftlet-volumes-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func atomicWriterSwitchesContentsAtOnceAndDropsRemovedKeys() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let writer = AtomicWriter(directory: dir + "/vol")
        #expect(try writer.write([.init(path: "a", data: Array("1".utf8), mode: 0o644),
                                  .init(path: "sub/b", data: Array("2".utf8), mode: 0o600)]))
        #expect(try String(contentsOfFile: dir + "/vol/a", encoding: .utf8) == "1")
        #expect(try String(contentsOfFile: dir + "/vol/sub/b", encoding: .utf8) == "2")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/vol/a") == "..data/a")
        #expect(try writer.write([.init(path: "a", data: Array("1".utf8), mode: 0o644),
                                  .init(path: "sub/b", data: Array("2".utf8), mode: 0o600)]) == false)
        #expect(try writer.write([.init(path: "a", data: Array("changed".utf8), mode: 0o644)]))
        #expect(try String(contentsOfFile: dir + "/vol/a", encoding: .utf8) == "changed")
        #expect(!FileManager.default.fileExists(atPath: dir + "/vol/sub"))
        // Only the current generation is left.
        let hidden = try FileManager.default.contentsOfDirectory(atPath: dir + "/vol").filter { $0.hasPrefix("..") }
        #expect(hidden.count == 2)
    }

    @Test func configMapItemsModesAndMissingKeys() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let manager = VolumeManager(lookup: { kind, _, name in
            kind == "configmap" && name == "conf" ? ["data": ["nginx.conf": "user nginx;", "other": "x"]] : nil
        })
        let pod: JSONValue = ["metadata": ["namespace": "default", "name": "p"], "spec": ["volumes": [
            ["name": "config", "configMap": ["name": "conf", "defaultMode": 0o400, "items": [["key": "nginx.conf", "path": "nginx.conf"]]]],
            ["name": "cache", "emptyDir": [:]],
        ]]]
        let paths = try manager.setUp(pod: pod, podDirectory: dir, hostIP: "192.0.2.2", podIP: nil, allocatable: [:])
        let config = try #require(paths["config"])
        #expect(try String(contentsOfFile: config + "/nginx.conf", encoding: .utf8) == "user nginx;")
        #expect(!FileManager.default.fileExists(atPath: config + "/other"))
        var info = stat()
        #expect(stat(config + "/nginx.conf", &info) == 0)  // through the ..data symlink
        #expect(info.st_mode & 0o777 == 0o400)
        #expect(FileManager.default.fileExists(atPath: try #require(paths["cache"])))

        let missing: JSONValue = ["metadata": ["namespace": "default"], "spec": ["volumes": [
            ["name": "config", "configMap": ["name": "absent"]]]]]
        do {
            _ = try manager.setUp(pod: missing, podDirectory: dir, hostIP: "", podIP: nil, allocatable: [:])
            Issue.record("a missing configMap must fail")
        } catch {
            #expect(error.description == "MountVolume.SetUp failed for volume \"config\" : configmap \"absent\" not found")
        }
    }

    @Test func hostPathTypesAreChecked() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try HostPathCheck.check(path: dir + "/made/here", type: "DirectoryOrCreate")
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: dir + "/made/here", isDirectory: &isDirectory) && isDirectory.boolValue)
        try HostPathCheck.check(path: dir + "/file", type: "FileOrCreate")
        #expect(throws: VolumeManager.SetUpError.self) { try HostPathCheck.check(path: dir + "/file", type: "Directory") }
        #expect(throws: VolumeManager.SetUpError.self) { try HostPathCheck.check(path: dir + "/absent", type: "File") }
        try HostPathCheck.check(path: dir + "/absent", type: "")
    }
}
