import Foundation
import Testing
@testable import SwiftletPodNetwork

struct AddressingTests {
    @Test func aSubnetReservesNetworkGatewayAndBroadcast() throws {
        let subnet = try IPv4Subnet(cidr: "10.42.1.7/24")
        #expect(subnet.description == "10.42.1.0/24")
        #expect(IPv4Subnet.format(subnet.gateway) == "10.42.1.1")
        #expect(IPv4Subnet.format(subnet.podAddresses.lowerBound) == "10.42.1.2")
        #expect(IPv4Subnet.format(subnet.podAddresses.upperBound) == "10.42.1.254")
        #expect(try IPv4Subnet(cidr: "10.42.1.0/30").podAddresses.count == 1)
    }

    @Test(arguments: ["10.42.1.0/31", "10.42.1.0", "10.42.1.256/24", "fd00::/64", "10.42.1.0/x"])
    func badCIDRsAreRejected(_ cidr: String) {
        #expect(throws: PodNetworkError.self) { try IPv4Subnet(cidr: cidr) }
    }

    @Test func configurationsThatCannotWorkAreRejectedByEveryCall() {
        let longBridge = PodNetwork(config: PodNetworkConfig(
            bridgeName: "a-bridge-name-too-long", podCIDR: "10.42.1.0/24", stateDirectory: "/tmp/x", netnsPrefix: "p-"))
        #expect(throws: PodNetworkError.self) { try longBridge.ensureBridge() }
        #expect(throws: PodNetworkError.self) { try longBridge.setUp(podID: "pod") }
        #expect(longBridge.sandboxes().isEmpty)
        let badPrefix = PodNetworkConfig(bridgeName: "swl0", podCIDR: "10.42.1.0/24", stateDirectory: "/tmp/x", netnsPrefix: "a b")
        #expect(throws: PodNetworkError.self) { try badPrefix.validated() }
    }

    @Test func namesAreStableShortAndDifferPerBridge() {
        let config = PodNetworkConfig(bridgeName: "swl0", podCIDR: "10.42.1.0/24", stateDirectory: "/tmp/x", netnsPrefix: "swl-node1-")
        var other = config
        other.bridgeName = "swl1"
        let names = SandboxNames(podID: "0f1e2d3c-aaaa-bbbb-cccc-123456789abc", config: config)
        #expect(names.netnsName.count == "swl-node1-".count + 12)
        #expect(names.hostVeth.count == 15 && names.hostVeth.hasPrefix("swl"))
        #expect(names.hostVeth == SandboxNames(podID: "0f1e2d3c-aaaa-bbbb-cccc-123456789abc", config: config).hostVeth)
        #expect(names.hostVeth != SandboxNames(podID: "0f1e2d3c-aaaa-bbbb-cccc-123456789abc", config: other).hostVeth)
    }

    @Test func theStoreHandsOutAddressesRoundRobinAndKeepsOneFilePerAddress() throws {
        let directory = NSTemporaryDirectory() + "swltest-store-" + UUID().uuidString + "/network"
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        let store = AddressStore(directory: directory, subnet: try IPv4Subnet(cidr: "192.168.9.0/29"))
        let first = try store.allocate(podID: "a")
        let second = try store.allocate(podID: "b")
        #expect([first, second].map(IPv4Subnet.format) == ["192.168.9.2", "192.168.9.3"])
        #expect(try String(contentsOfFile: directory + "/192.168.9.2", encoding: .utf8) == "a")
        store.release(podID: "a")
        #expect(IPv4Subnet.format(try store.allocate(podID: "c")) == "192.168.9.4")
        #expect(store.address(of: "b") == second)
        #expect(store.records().count == 2)
        store.removeAll()
        #expect(!FileManager.default.fileExists(atPath: directory))
    }
}
