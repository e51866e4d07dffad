import Foundation

/// Pod IPs recorded the way CNI's host-local IPAM does: one file per allocated address, named by the address and
/// holding the pod's id, plus `last_reserved_ip.0` so that allocation goes round the range instead of handing a
/// just-freed address (still in peers' conntrack and endpoints) to the next pod.
/// Callers serialise allocate/release; the exclusive link() still keeps two writers from taking one address.
struct AddressStore: Sendable {
    let directory: String
    let subnet: IPv4Subnet

    private static let lastReservedFile = "last_reserved_ip.0"

    /// Every record in the directory: address → pod id.
    func records() -> [UInt32: String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [:] }
        var records: [UInt32: String] = [:]
        for name in names {
            guard let address = IPv4Subnet.parseAddress(name), subnet.contains(address),
                  let podID = try? String(contentsOfFile: path(address), encoding: .utf8) else { continue }
            records[address] = podID.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return records
    }

    func address(of podID: String) -> UInt32? {
        records().first { $0.value == podID }?.key
    }

    func allocate(podID: String) throws(PodNetworkError) -> UInt32 {
        try createDirectory()
        let range = subnet.podAddresses
        let last = readLastReserved().flatMap { range.contains($0) ? $0 : nil } ?? range.upperBound
        let count = UInt64(range.count)
        for step in 1...count {
            let candidate = range.lowerBound + UInt32((UInt64(last - range.lowerBound) + step) % count)
            if try reserve(candidate, for: podID) {
                writeLastReserved(candidate)
                return candidate
            }
        }
        throw .addressesExhausted(podID: podID, range: "\(IPv4Subnet.format(range.lowerBound))-\(IPv4Subnet.format(range.upperBound))")
    }

    func release(podID: String) {
        for (address, owner) in records() where owner == podID {
            unlink(path(address))
        }
    }

    /// Removes every record and the directory itself when nothing else is left in it.
    func removeAll() {
        for address in records().keys { unlink(path(address)) }
        unlink(directory + "/" + Self.lastReservedFile)
        rmdir(directory)
    }

    private func path(_ address: UInt32) -> String { directory + "/" + IPv4Subnet.format(address) }

    /// Writes the pod id to a temporary file, then links it to the address's name: the record appears whole or not
    /// at all, and link() fails if the address is already taken.
    private func reserve(_ address: UInt32, for podID: String) throws(PodNetworkError) -> Bool {
        let target = path(address)
        let temporary = target + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try writeFile(temporary, podID)
        defer { unlink(temporary) }
        if link(temporary, target) == 0 { return true }
        let code = errno
        guard code == EEXIST else { throw .system(operation: "record address \(IPv4Subnet.format(address)) in \(target)", errno: code) }
        return false
    }

    private func readLastReserved() -> UInt32? {
        (try? String(contentsOfFile: directory + "/" + Self.lastReservedFile, encoding: .utf8))
            .flatMap { IPv4Subnet.parseAddress($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// Only a hint for where to start next time, so failing to write it is not an error.
    private func writeLastReserved(_ address: UInt32) {
        let target = directory + "/" + Self.lastReservedFile
        let temporary = target + ".tmp-\(getpid())"
        guard (try? writeFile(temporary, IPv4Subnet.format(address))) != nil else { return }
        if rename(temporary, target) != 0 { unlink(temporary) }
    }

    private func createDirectory() throws(PodNetworkError) {
        var path = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            path += "/" + component
            guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
                throw .system(operation: "create the IPAM directory \(path)", errno: errno)
            }
        }
    }

    private func writeFile(_ path: String, _ contents: String) throws(PodNetworkError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .system(operation: "create \(path)", errno: errno) }
        defer { close(fd) }
        let bytes = Array(contents.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw .system(operation: "write \(path)", errno: written < 0 ? errno : EIO) }
    }
}
