import Foundation
import Synchronization
import Testing
@testable import SwiftletPodNetwork
import SwiftletSpawn
import SwiftletTestSupport

@Suite(.serialized, .blockingWork, .enabled(if: isRoot, "pod networking needs root"))
struct PodNetworkTests {
    @Test func twoPodsGetAddressesRoutesAndHairpinAndReachEachOtherAndTheGateway() throws {
        try TestHost.with("conn") { host in
            let network = PodNetwork(config: host.config(cidr: "10.199.1.0/24"))
            try network.ensureBridge()
            let a = try network.setUp(podID: "pod-a")
            let b = try network.setUp(podID: "pod-b")
            #expect((a.ip, b.ip) == ("10.199.1.2", "10.199.1.3"))
            #expect(a.prefixLength == 24 && a.gateway == "10.199.1.1")
            #expect(a.netnsPath == "/var/run/netns/" + a.netnsName)
            #expect(a.netnsName.hasPrefix(host.prefix + "a-") && a.hostVeth.count <= 15 && a.hostVeth != b.hostVeth)

            let bridge = try #require(try ipJSON(["-n", host.name, "addr", "show", "dev", "swltest0"]).first)
            let bridgeAddresses = (bridge["addr_info"] as? [[String: Any]] ?? []).compactMap { $0["local"] as? String }
            #expect(bridgeAddresses.contains("10.199.1.1"))
            #expect((bridge["flags"] as? [String] ?? []).contains("UP"))
            #expect(try readSysctl("net/ipv4/conf/swltest0/forwarding", in: host.name) == "1")
            #expect(try readSysctl("net/ipv4/ip_forward", in: host.name) == "0")

            for sandbox in [a, b] {
                let eth0 = try #require(try ipJSON(["-n", sandbox.netnsName, "addr", "show", "dev", "eth0"]).first)
                let inet = (eth0["addr_info"] as? [[String: Any]] ?? []).filter { $0["family"] as? String == "inet" }
                #expect(inet.map { "\($0["local"] ?? "")/\($0["prefixlen"] ?? "")" } == ["\(sandbox.ip)/24"])
                #expect(inet.first?["broadcast"] as? String == "10.199.1.255")
                #expect(eth0["mtu"] as? Int == bridge["mtu"] as? Int)
                let routes = try ipJSON(["-n", sandbox.netnsName, "route", "show", "default"])
                #expect(routes.map { "\($0["gateway"] ?? "") \($0["dev"] ?? "")" } == ["10.199.1.1 eth0"])
                let lo = try #require(try ipJSON(["-n", sandbox.netnsName, "link", "show", "dev", "lo"]).first)
                #expect((lo["flags"] as? [String] ?? []).contains("UP"))
                #expect(try readSysctl("net/ipv4/ip_unprivileged_port_start", in: sandbox.netnsName) == "0")

                let port = try #require(try ipJSON(["-n", host.name, "-d", "link", "show", "dev", sandbox.hostVeth]).first)
                #expect(port["master"] as? String == "swltest0")
                #expect((port["flags"] as? [String] ?? []).contains("UP"))
                let slave = (port["linkinfo"] as? [String: Any])?["info_slave_data"] as? [String: Any]
                #expect(slave?["hairpin"] as? Bool == true)
            }

            let serverB = try HelloServer(in: b.netnsName, address: b.ip, port: 8080, body: "hello from pod B")
            defer { serverB.stop() }
            let gatewayServer = try HelloServer(in: host.name, address: a.gateway, port: 8081, body: "hello from the node")
            defer { gatewayServer.stop() }
            #expect(try fetchHello(from: a.netnsName, address: b.ip, port: 8080) == "hello from pod B")
            #expect(try fetchHello(from: a.netnsName, address: a.gateway, port: 8081) == "hello from the node")
            // There is no ping binary on the machine, only busybox's applet; the pod sysctls let it run unprivileged.
            #expect(try exec(in: a.netnsName, ["busybox", "ping", "-c", "1", "-W", "2", b.ip]).status == 0)
        }
    }

    @Test func podsOnTwoBridgesOfOneMachineReachEachOtherThroughTheHost() throws {
        try TestHost.with("twobr") { host in
            let first = PodNetwork(config: host.config(bridge: "swltesta", cidr: "10.199.6.0/24", tag: "a"))
            var secondConfig = host.config(bridge: "swltestb", cidr: "10.199.7.0/24", tag: "b")
            secondConfig.mtu = 1400
            let second = PodNetwork(config: secondConfig)
            try first.ensureBridge()
            try second.ensureBridge()
            let a = try first.setUp(podID: "same-pod-id")
            let b = try second.setUp(podID: "same-pod-id")
            #expect(a.hostVeth != b.hostVeth && a.netnsName != b.netnsName)
            #expect(try ipJSON(["-n", b.netnsName, "link", "show", "dev", "eth0"]).first?["mtu"] as? Int == 1400)
            let server = try HelloServer(in: b.netnsName, address: b.ip, port: 8080, body: "across bridges")
            defer { server.stop() }
            #expect(try fetchHello(from: a.netnsName, address: b.ip, port: 8080) == "across bridges")
            #expect(try readSysctl("net/ipv4/ip_forward", in: host.name) == "0")
        }
    }

    @Test func setUpIsIdempotentAndRebuildsASandboxWhoseNamespaceIsGone() throws {
        try TestHost.with("idem") { host in
            let network = PodNetwork(config: host.config(cidr: "10.199.2.0/24"))
            let first = try network.setUp(podID: "pod-a")  // also creates the bridge
            #expect(try network.setUp(podID: "pod-a") == first)
            #expect(try ipJSON(["-n", host.name, "link", "show", "master", "swltest0"]).count == 1)

            // As after a reboot: the record stays, the namespace and veth are gone.
            try ip(["-n", host.name, "link", "del", "dev", first.hostVeth])
            try ip(["netns", "del", first.netnsName])
            let rebuilt = try network.setUp(podID: "pod-a")
            #expect(rebuilt == first)
            let eth0 = try #require(try ipJSON(["-n", rebuilt.netnsName, "addr", "show", "dev", "eth0"]).first)
            #expect((eth0["addr_info"] as? [[String: Any]] ?? []).contains { $0["local"] as? String == first.ip })
        }
    }

    @Test func tearDownReleasesTheAddressAndATinyCIDRRunsOutWithAClearError() throws {
        try TestHost.with("ipam") { host in
            let network = PodNetwork(config: host.config(cidr: "10.199.3.0/29"))
            try network.ensureBridge()
            let pods = try (1...5).map { try network.setUp(podID: "pod-\($0)") }
            #expect(pods.map(\.ip) == (2...6).map { "10.199.3.\($0)" })

            #expect {
                _ = try network.setUp(podID: "pod-6")
            } throws: { error in
                let message = "\(error)"
                return (error as? PodNetworkError) == .addressesExhausted(podID: "pod-6", range: "10.199.3.2-10.199.3.6")
                    && message.contains("no IP addresses available in range set: 10.199.3.2-10.199.3.6")
            }
            #expect(network.sandboxes().count == 5)
            #expect(try ipJSON(["-n", host.name, "link", "show", "master", "swltest0"]).count == 5)

            try network.tearDown(podID: "pod-3")
            try network.tearDown(podID: "pod-3")
            #expect(!FileManager.default.fileExists(atPath: pods[2].netnsPath))
            // The kernel destroys the namespace, and with it the veth, in the background.
            #expect(try eventually { try ipJSON(["-n", host.name, "link", "show", "master", "swltest0"]).count == 4 })
            #expect(network.sandboxes()["pod-3"] == nil)

            let reused = try network.setUp(podID: "pod-7")
            #expect(reused.ip == pods[2].ip)
        }
    }

    @Test func aNewInstanceOnTheSameStateDirectorySeesTheSandboxes() throws {
        try TestHost.with("persist") { host in
            let config = host.config(cidr: "10.199.4.0/24")
            let before = PodNetwork(config: config)
            let a = try before.setUp(podID: "pod-a")
            let b = try before.setUp(podID: "pod-b")
            try before.tearDown(podID: "pod-a")
            let c = try before.setUp(podID: "pod-c")
            // Round robin: a freed address is not handed out again straight away.
            #expect(c.ip == "10.199.4.4")

            let after = PodNetwork(config: config)
            #expect(after.sandboxes() == ["pod-b": b, "pod-c": c])
            #expect(try after.setUp(podID: "pod-b") == b)
            #expect(try after.setUp(podID: "pod-d").ip == "10.199.4.5")
            _ = a
        }
    }

    @Test func removeAllLeavesNoNamespaceBridgeOrState() throws {
        try TestHost.with("rmall") { host in
            let config = host.config(cidr: "10.199.5.0/24")
            let network = PodNetwork(config: config)
            let pods = try (1...3).map { try network.setUp(podID: "pod-\($0)") }
            // A namespace without a record, as a crash mid-setup could leave.
            try ip(["netns", "add", config.netnsPrefix + "0123456789ab"])
            // A process still in pod-2's namespace keeps it, and its veth, alive after tearDown; the address goes.
            let holder = try BackgroundCommand(in: pods[1].netnsName, ["sleep", "60"])
            defer { holder.stop() }
            try network.tearDown(podID: "pod-2")
            let heldAddresses = try Command.run(["/usr/bin/nsenter", "-t", "\(holder.process.processIdentifier)", "-n", IPCommand.executable, "-4", "-o", "addr", "show", "dev", "eth0"])
            #expect(heldAddresses.status == 0 && heldAddresses.stdout.isEmpty)
            #expect(try ipJSON(["-n", host.name, "link", "show", "master", "swltest0"]).count == 3)

            try network.removeAll()
            #expect(NetworkNamespace.names(withPrefix: config.netnsPrefix).isEmpty)
            #expect(try ip(["-n", host.name, "-o", "link", "show"]).split(separator: "\n").count == 1)  // only lo
            #expect(!FileManager.default.fileExists(atPath: config.stateDirectory))
            #expect(network.sandboxes().isEmpty)
            try network.removeAll()
            #expect(NetworkNamespace.exists(host.name))
        }
    }

    @Test func aFailedSetUpNamesTheFailingCommandAndLeavesNothingBehind() throws {
        try TestHost.with("fail") { host in
            let network = PodNetwork(config: host.config(cidr: "10.199.8.0/24"))
            try network.ensureBridge()
            try ip(["-n", host.name, "link", "del", "dev", "swltest0"])
            let hostVeth = SandboxNames(podID: "pod-a", config: network.config).hostVeth
            #expect {
                _ = try network.setUp(podID: "pod-a")
            } throws: { error in
                guard case .commandFailed(let command, let failedCommand, _, let stderr) = error as? PodNetworkError else { return false }
                // ip gives up on a bad argument without naming the line, so the error lists the batch.
                return command == "ip -force -batch - (in netns \(host.name))"
                    && failedCommand?.contains("link set dev \(hostVeth) master swltest0") == true
                    && stderr == "Error: argument \"swltest0\" is wrong: Device does not exist"
                    && "\(error)".contains("Device does not exist")
            }
            #expect(network.sandboxes().isEmpty)
            #expect(NetworkNamespace.names(withPrefix: network.config.netnsPrefix).isEmpty)
        }
    }

    @Test func aFailedBatchNamesItsFailingLine() throws {
        try TestHost.with("batch") { host in
            #expect {
                try IPCommand.batch(["link set dev lo up", "link set dev swlnosuch up", "link set dev lo down"], in: host.name)
            } throws: { error in
                "\(error)" == "`ip -batch - (in netns \(host.name))` failed at \"link set dev swlnosuch up\" (exit status 1): Cannot find device \"swlnosuch\""
            }
            // A harmless failure of a deletion does not stop the lines after it.
            try IPCommand.batch([.delete("link del dev swlnosuch"), "link set dev lo down"], in: host.name)
            #expect(try ipJSON(["-n", host.name, "link", "show", "dev", "lo"]).first?["operstate"] as? String == "DOWN")
            // More lines than one pipe buffer holds go in several runs.
            try IPCommand.batch(Array(repeating: "link set dev lo up", count: 400), in: host.name)
            #expect(try ipJSON(["-n", host.name, "link", "show", "dev", "lo"]).first?["flags"] as? [String] ?? [] == ["LOOPBACK", "UP", "LOWER_UP"])
        }
    }

    @Test func podsSetUpConcurrentlyGetDistinctWorkingAddresses() throws {
        try TestHost.with("conc") { host in
            let network = PodNetwork(config: host.config(cidr: "10.199.11.0/24"))
            let results = Mutex<[Result<PodSandboxNetwork, PodNetworkError>]>([])
            let started = ContinuousClock.now
            // No ensureBridge first: the first setUps race to create the bridge.
            DispatchQueue.concurrentPerform(iterations: 12) { index in
                let result = Result { () throws(PodNetworkError) in try network.setUp(podID: "pod-\(index)") }
                results.withLock { $0.append(result) }
            }
            let elapsed = ContinuousClock.now - started
            let sandboxes = try results.withLock { try $0.map { try $0.get() } }
            print("pod network timing: 12 concurrent setUps took \(elapsed)")
            #expect(Set(sandboxes.map(\.ip)).count == 12)
            #expect(network.sandboxes().count == 12)
            for sandbox in sandboxes {
                let routes = try ipJSON(["-n", sandbox.netnsName, "route", "show", "default"])
                #expect(routes.first?["gateway"] as? String == "10.199.11.1")
            }
            #expect(try ipJSON(["-n", host.name, "link", "show", "master", "swltest0"]).count == 12)
        }
    }

    @Test func aLinkThatIsNotABridgeOrAMissingHostNamespaceIsAClearError() throws {
        try TestHost.with("notbr") { host in
            try ip(["-n", host.name, "link", "add", "swltest0", "type", "veth", "peer", "name", "swltest0p"])
            #expect(throws: PodNetworkError.invalidConfiguration("bridgeName swltest0 is taken by a link that is not a bridge")) {
                try PodNetwork(config: host.config(cidr: "10.199.10.0/24")).ensureBridge()
            }
            var config = host.config(cidr: "10.199.10.0/24")
            config.hostNamespace = host.prefix + "missing"
            #expect {
                try PodNetwork(config: config).ensureBridge()
            } throws: { error in
                "\(error)" == "open netns /var/run/netns/\(host.prefix)missing: No such file or directory"
            }
        }
    }

    @Test func setUpAndTearDownTakeAFewMillisecondsPerPod() throws {
        try TestHost.with("timing") { host in
            let network = PodNetwork(config: host.config(cidr: "10.199.9.0/24"))
            try network.ensureBridge()
            var setUps: [Duration] = []
            var tearDowns: [Duration] = []
            let clock = ContinuousClock()
            for index in 0..<20 {
                setUps.append(try clock.measure { _ = try network.setUp(podID: "pod-\(index)") })
            }
            let repeated = try clock.measure { _ = try network.setUp(podID: "pod-0") }
            for index in 0..<10 {
                tearDowns.append(try clock.measure { try network.tearDown(podID: "pod-\(index)") })
            }
            let removeAll = try clock.measure { try network.removeAll() }
            print("pod network timing: setUp \(summary(setUps)); setUp again \(milliseconds(repeated)); tearDown \(summary(tearDowns)); removeAll of 10 pods \(milliseconds(removeAll))")
            #expect(setUps.sorted()[10] < .milliseconds(100))
            #expect(tearDowns.sorted()[5] < .milliseconds(100))
        }
    }

    private func summary(_ durations: [Duration]) -> String {
        let sorted = durations.sorted()
        return "median \(milliseconds(sorted[sorted.count / 2])), max \(milliseconds(sorted[sorted.count - 1]))"
    }

    private func milliseconds(_ duration: Duration) -> String {
        String(format: "%.1f ms", Double(duration.components.attoseconds) / 1e15 + Double(duration.components.seconds) * 1000)
    }
}
