import Foundation
import SwiftletMachinery

/// What this machine offers pods, read as the kubelet reads it (cAdvisor's machine info).
enum MachineResources {
    static func capacity(dataDirectory: String, maxPods: Int) -> JSONValue {
        var resources: JSONValue = ["cpu": .string(String(max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))))),
                                    "pods": .string(String(maxPods))]
        if let memory = memoryKiB() { resources["memory"] = .string("\(memory)Ki") }
        var fs = statvfs()
        if statvfs(dataDirectory, &fs) == 0 {
            resources["ephemeral-storage"] = .string("\(UInt64(fs.f_blocks) * UInt64(fs.f_frsize) / 1024)Ki")
        }
        resources["hugepages-2Mi"] = "0"
        return resources
    }

    private static func memoryKiB() -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            return line.split(separator: " ").dropFirst().first.flatMap { UInt64($0) }
        }
        return nil
    }
}
