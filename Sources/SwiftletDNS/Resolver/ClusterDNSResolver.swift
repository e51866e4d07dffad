/// What to do with a query.
enum ClusterDNSResolution: Sendable, Equatable {
    case answer(DNSMessage)
    /// Not ours: send it to the upstreams as it is.
    case forward
    /// An ExternalName's CNAME whose target is outside the cluster: its records are looked up upstream and appended,
    /// as CoreDNS does, because stub resolvers (glibc, musl) do not chase a lone CNAME themselves.
    case answerWithUpstreamRecords(DNSMessage, target: DNSName, type: DNSRecordType)
}

/// Answers queries from the cluster zone the way CoreDNS's `kubernetes` plugin does (with `pods insecure`), without
/// any I/O. The lookup indexes are built once, at init.
struct ClusterDNSResolver: Sendable {
    struct Settings: Sendable, Equatable {
        /// Lowercased.
        var domain: DNSName
        var ttl: UInt32
        var reverseCIDRs: [IPv4CIDR]
    }

    /// Kubernetes DNS specification version, served as the TXT record `dns-version.<domain>`.
    static let schemaVersion = "1.1.0"
    /// CoreDNS stops following CNAMEs inside the zone after 8.
    private static let maxCNAMEChain = 8

    let settings: Settings
    let zone: ClusterZone
    /// The SOA serial: when the records were built, as CoreDNS uses its last API change.
    let serial: UInt32

    init(settings: Settings, records: ClusterDNSRecords, serial: UInt32) {
        self.settings = settings
        self.zone = ClusterZone(records: records, domain: settings.domain)
        self.serial = serial
    }

    func resolve(_ query: DNSMessage) -> ClusterDNSResolution {
        guard query.opcode == DNSOpcode.query else { return .answer(query.reply(code: .notImplemented)) }
        guard query.questions.count == 1, let question = query.questions.first else {
            return .answer(query.reply(code: .formatError))
        }
        if let ednsExtension = query.ednsExtension, ednsExtension.version != 0 {
            return .answer(query.reply(code: .badVersion))
        }
        let isInternet = question.recordClass == DNSClass.internet || question.recordClass == DNSClass.any
        if question.name.hasSuffix(settings.domain) {
            guard isInternet else { return .answer(query.reply(code: .refused)) }
            return answerFromZone(query, question)
        }
        if isInternet, let address = Self.reverseAddress(question.name) {
            return answerReverse(query, question, address: address)
        }
        return .forward
    }

    private func answerFromZone(_ query: DNSMessage, _ question: DNSQuestion) -> ClusterDNSResolution {
        var reply = query.reply()
        reply.isAuthoritative = true
        let relative = question.name.relativeKeys(above: settings.domain)
        guard let entry = lookup(relative) else {
            reply.responseCode = .nameError
            reply.authorities = [startOfAuthority(zone: settings.domain)]
            return .answer(reply)
        }
        switch question.type {
        case .soa where relative.isEmpty:
            reply.answers = [startOfAuthority(zone: settings.domain, owner: question.name)]
        case .txt where relative == ["dns-version"]:
            let text = Array(Self.schemaVersion.utf8)
            reply.answers = [DNSResourceRecord(name: question.name, ttl: 28800, data: .txt([text]))]
        default:
            if let target = addAnswers(for: question.name, entry: entry, type: question.type, to: &reply, chain: 0) {
                return .answerWithUpstreamRecords(reply, target: target, type: question.type)
            }
        }
        if reply.answers.isEmpty {
            reply.authorities = [startOfAuthority(zone: settings.domain)]
        }
        return .answer(reply)
    }

    /// Adds what `entry` answers for `type` under the owner `name`; returns an out-of-zone CNAME target whose records
    /// must come from upstream.
    private func addAnswers(
        for name: DNSName, entry: ZoneEntry, type: DNSRecordType, to reply: inout DNSMessage, chain: Int
    ) -> DNSName? {
        let ttl = settings.ttl
        if let canonical = entry.canonicalName {
            // CoreDNS serves no SRV for ExternalName Services.
            guard type != .srv else { return nil }
            reply.answers.append(DNSResourceRecord(name: name, ttl: ttl, data: .cname(canonical)))
            guard type != .cname else { return nil }
            guard canonical.hasSuffix(settings.domain) else { return canonical }
            guard chain < Self.maxCNAMEChain, let next = lookup(canonical.relativeKeys(above: settings.domain)) else { return nil }
            return addAnswers(for: canonical, entry: next, type: type, to: &reply, chain: chain + 1)
        }
        switch type {
        case .a, .aaaa:
            let length = type == .a ? 4 : 16
            for address in entry.addresses where address.count == length {
                reply.answers.append(DNSResourceRecord(name: name, ttl: ttl, data: length == 4 ? .a(address) : .aaaa(address)))
            }
        case .srv:
            // CoreDNS's weights: one priority, the 100 shared out evenly.
            let weight = UInt16(max(1, 100 / max(1, entry.ports.count)))
            // Two ports of one number (dns/UDP and dns-tcp/TCP) make one SRV; every port of an endpoint, one address.
            var seen: Set<DNSResourceRecord> = []
            for port in entry.ports {
                let location = DNSServiceLocation(priority: 0, weight: weight, port: port.port, target: port.target)
                let service = DNSResourceRecord(name: name, ttl: ttl, data: .srv(location))
                if seen.insert(service).inserted { reply.answers.append(service) }
                let address = DNSResourceRecord(
                    name: port.target, ttl: ttl, data: port.address.count == 4 ? .a(port.address) : .aaaa(port.address))
                if seen.insert(address).inserted { reply.additionals.append(address) }
            }
        default:
            break
        }
        return nil
    }

    /// The entry for a name below the domain given as lowercased labels, or nil when the name does not exist
    /// (NXDOMAIN). Names that exist without records (the apex, `svc`, a namespace) give an empty entry.
    private func lookup(_ relative: [String]) -> ZoneEntry? {
        guard let kind = relative.last else { return ZoneEntry() }
        switch (kind, relative.count) {
        case ("dns-version", 1), ("svc", 1), ("pod", 1), ("pod", 2):
            return ZoneEntry()
        case ("svc", 2):
            return zone.namespaces.contains(relative[0]) ? ZoneEntry() : nil
        case ("svc", 3):
            // A headless Service without ready endpoints does not exist (CoreDNS).
            guard let entry = zone.services[relative[0] + "." + relative[1]],
                !entry.addresses.isEmpty || entry.canonicalName != nil
            else { return nil }
            return entry
        case ("svc", 4):
            return zone.endpoints[relative[0] + "." + relative[1] + "." + relative[2]]
        case ("svc", 5):
            return portEntry(name: relative[0], protocol: relative[1], service: relative[2] + "." + relative[3])
        case ("pod", 3):
            return Self.podAddress(relative[0]).map { ZoneEntry(addresses: [$0]) }
        default:
            return nil
        }
    }

    /// `_<port>._<protocol>.<service>...`: the Service's records narrowed to that port; NXDOMAIN when none matches.
    private func portEntry(name: String, protocol: String, service: String) -> ZoneEntry? {
        guard let entry = zone.services[service], entry.canonicalName == nil else { return nil }
        func stripped(_ label: String) -> String { label.hasPrefix("_") ? String(label.dropFirst()) : label }
        let ports = entry.ports.filter { $0.name == stripped(name) && $0.protocol == stripped(`protocol`) }
        guard !ports.isEmpty else { return nil }
        var narrowed = ZoneEntry(ports: ports)
        for port in ports where !narrowed.addresses.contains(port.address) {
            narrowed.addresses.append(port.address)
        }
        return narrowed
    }

    /// "10-42-0-5" → 10.42.0.5; with other than three dashes, an IPv6 address with colons as dashes (CoreDNS).
    private static func podAddress(_ label: String) -> [UInt8]? {
        let dashes = label.count(where: { $0 == "-" })
        if dashes == 3 && !label.contains("--") {
            return IPAddressText.ipv4(label.replacing("-", with: ".")).map { address in
                (0..<4).map { UInt8(truncatingIfNeeded: address >> UInt32(24 - 8 * $0)) }
            }
        }
        let address = IPAddressText.bytes(label.replacing("-", with: ":"))
        return address?.count == 16 ? address : nil
    }

    private func answerReverse(_ query: DNSMessage, _ question: DNSQuestion, address: UInt32) -> ClusterDNSResolution {
        let cidr = settings.reverseCIDRs.first { $0.contains(address) }
        var reply = query.reply()
        reply.isAuthoritative = true
        let soaZone = cidr?.reverseZone ?? DNSName("in-addr.arpa")
        if let targets = zone.pointers[address] {
            if question.type == .ptr {
                reply.answers = targets.map { DNSResourceRecord(name: question.name, ttl: settings.ttl, data: .ptr($0)) }
            } else {
                reply.authorities = [startOfAuthority(zone: soaZone)]
            }
            return .answer(reply)
        }
        guard cidr != nil else { return .forward }
        reply.responseCode = .nameError
        reply.authorities = [startOfAuthority(zone: soaZone)]
        return .answer(reply)
    }

    /// The address of a full IPv4 reverse name "d.c.b.a.in-addr.arpa".
    static func reverseAddress(_ name: DNSName) -> UInt32? {
        let keys = name.labels.map { DNSName.key(of: [$0][...]) }
        guard keys.count == 6, keys[4] == "in-addr", keys[5] == "arpa" else { return nil }
        var address: UInt32 = 0
        for octet in keys[0..<4].reversed() {
            guard !octet.isEmpty, octet.count <= 3, octet.allSatisfy(\.isASCII), let value = UInt8(octet) else { return nil }
            address = address << 8 | UInt32(value)
        }
        return address
    }

    /// CoreDNS's SOA: ns.dns.<zone>, hostmaster.<zone>, its fixed timers, and the TTL as minimum.
    private func startOfAuthority(zone: DNSName, owner: DNSName? = nil) -> DNSResourceRecord {
        let authority = DNSStartOfAuthority(
            primaryServer: zone.prepending("ns.dns"), mailbox: zone.prepending("hostmaster"), serial: serial,
            refresh: 7200, retry: 1800, expire: 86400, minimumTTL: settings.ttl)
        return DNSResourceRecord(name: owner ?? zone, ttl: min(settings.ttl, 300), data: .soa(authority))
    }
}
