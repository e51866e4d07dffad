import Foundation
import Testing
import SwiftletAPI
import SwiftletClient
import SwiftletMachinery
@testable import SwiftletSimulation
import SwiftletTestSupport

@Suite struct SimulatedNodesTests {
    @Test func registersReadyNodesWithLeasesThatRenew() async throws {
        let client = try InProcessAPI().client
        let clock = ManualClock()
        let sim = RunningSimulation(client: client, count: 3, clock: clock)
        defer { sim.task.cancel() }

        var leaseBefore: JSONValue?
        #expect(await eventually {
            leaseBefore = try? await client.get(Resources.leases, namespace: "kube-node-lease", name: "sim-node-2")
            return leaseBefore != nil
        })
        let nodes = try await client.list(Resources.nodes).items
        #expect(nodes.map { $0[path: "metadata", "name"]?.stringValue ?? "" } == ["sim-node-0", "sim-node-1", "sim-node-2"])
        let node = try #require(nodes.first { $0[path: "metadata", "name"] == "sim-node-1" })
        #expect(node[path: "metadata", "labels", "kubernetes.io/hostname"] == "sim-node-1")
        #expect(node[path: "metadata", "labels", "kubernetes.io/os"] == "linux")
        #expect(node[path: "metadata", "labels", "kubernetes.io/arch"] == "amd64")
        #expect(node[path: "metadata", "labels", "node.swiftlet.io/simulated"] == "true")
        #expect(node[path: "spec", "podCIDR"] == "10.42.2.0/24")
        #expect(node[path: "spec", "podCIDRs"] == ["10.42.2.0/24"])
        #expect(node[path: "status", "capacity", "cpu"] == "8")
        #expect(node[path: "status", "allocatable", "memory"] == "32Gi")
        #expect(node[path: "status", "capacity", "pods"] == "110")
        let conditions = node[path: "status", "conditions"]?.arrayValue ?? []
        let ready = try #require(conditions.first { $0["type"] == "Ready" })
        #expect(ready["status"] == "True")
        #expect(ready["reason"] == "KubeletReady")
        for type in ["MemoryPressure", "DiskPressure", "PIDPressure"] {
            #expect(conditions.first { $0["type"]?.stringValue == type }?["status"] == "False")
        }
        #expect(node[path: "status", "addresses"] == [["type": "InternalIP", "address": "10.42.2.1"],
                                                      ["type": "Hostname", "address": "sim-node-1"]])
        #expect(node[path: "status", "nodeInfo", "kubeletVersion"] == "v1.34.0-swiftlet")
        #expect(node[path: "status", "nodeInfo", "containerRuntimeVersion"] == "swiftlet-sim://1.0")
        #expect(node[path: "status", "nodeInfo", "kernelVersion"]?.stringValue?.isEmpty == false)

        let lease = try #require(leaseBefore)
        #expect(lease[path: "spec", "holderIdentity"] == "sim-node-2")
        #expect(lease[path: "spec", "leaseDurationSeconds"] == 40)
        #expect(lease[path: "spec", "renewTime"]?.stringValue == RFC3339.microString(from: clock.now))
        let owner = lease[path: "metadata", "ownerReferences"]?.arrayValue?.first
        #expect(owner?["kind"] == "Node")

        // The heartbeat sleeps on the clock; advancing it renews every lease.
        #expect(await eventually { clock.sleeperCount >= 1 })
        clock.advance(by: .seconds(10))
        let expected = RFC3339.microString(from: clock.now)
        #expect(await eventually {
            let leases = (try? await client.list(Resources.leases, namespace: "kube-node-lease").items) ?? []
            return leases.count == 3 && leases.allSatisfy { $0[path: "spec", "renewTime"]?.stringValue == expected }
        })
        await sim.stop()
    }

    @Test func statusIsPostedAtTheNextHeartbeatWhenTheStoredConditionsDiffer() async throws {
        let client = try InProcessAPI().client
        let clock = ManualClock()
        let sim = RunningSimulation(client: client, count: 1, clock: clock)
        defer { sim.task.cancel() }
        let registeredAt = RFC3339.string(from: clock.now)
        #expect(await eventually { clock.sleeperCount >= 1 })
        func ready(_ node: JSONValue?) -> JSONValue? {
            node?[path: "status", "conditions"]?.arrayValue?.first { $0["type"] == "Ready" }
        }
        let cachedNodes = sim.informers.informer(for: Resources.nodes)

        // Nothing changed: a lease renewal only, no status write.
        clock.advance(by: .seconds(10))
        let renewed = RFC3339.microString(from: clock.now)
        #expect(await eventually {
            (try? await client.get(Resources.leases, namespace: "kube-node-lease", name: "sim-node-0"))?[path: "spec", "renewTime"]?
                .stringValue == renewed
        })
        var node = try await client.get(Resources.nodes, name: "sim-node-0")
        #expect(ready(node)?["lastHeartbeatTime"]?.stringValue == registeredAt)

        // The node lifecycle controller marks it Unknown (its leases were missed meanwhile).
        let markedAt = clock.now
        var conditions = node[path: "status", "conditions"]?.arrayValue ?? []
        for i in conditions.indices {
            conditions[i]["status"] = "Unknown"
            conditions[i]["reason"] = "NodeStatusUnknown"
            conditions[i]["lastTransitionTime"] = .string(RFC3339.string(from: markedAt))
        }
        node[path: "status", "conditions"] = .array(conditions)
        _ = try await client.update(Resources.nodes, node, subresource: "status")
        #expect(await eventually { ready(cachedNodes.get(name: "sim-node-0"))?["status"] == "Unknown" })

        // The next heartbeat, not the minute-long status period, puts its own view back.
        #expect(await eventually { clock.sleeperCount >= 1 })
        clock.advance(by: .seconds(10))
        let postedAt = RFC3339.string(from: clock.now)
        #expect(await eventually {
            ready(try? await client.get(Resources.nodes, name: "sim-node-0"))?["status"] == "True"
        })
        node = try await client.get(Resources.nodes, name: "sim-node-0")
        let readyNow = try #require(ready(node))
        #expect(readyNow["reason"] == "KubeletReady")
        #expect(readyNow["lastHeartbeatTime"]?.stringValue == postedAt)
        #expect(readyNow["lastTransitionTime"]?.stringValue == postedAt)
        for type in ["MemoryPressure", "DiskPressure", "PIDPressure"] {
            #expect(node[path: "status", "conditions"]?.arrayValue?.first { $0["type"]?.stringValue == type }?["status"] == "False")
        }
        await sim.stop()
    }

    @Test func ownConditionsKeepTransitionTimesOfUnchangedStatusesAndForeignConditions() {
        let then = Date(timeIntervalSince1970: 1_700_000_000), now = then.addingTimeInterval(600)
        var stored = SimulatedObjects.conditions(now: then, transition: then).arrayValue ?? []
        stored[3]["status"] = "Unknown"
        let network: JSONValue = ["type": "NetworkUnavailable", "status": "False", "reason": "RouteCreated"]
        stored.append(network)
        #expect(SimulatedObjects.conditionsDiffer(stored))
        let posted = SimulatedObjects.ownConditions(over: stored, now: now)
        #expect(!SimulatedObjects.conditionsDiffer(posted))
        #expect(posted.first == network)
        func transition(_ type: String) -> String? {
            posted.first { $0["type"]?.stringValue == type }?["lastTransitionTime"]?.stringValue
        }
        #expect(transition("MemoryPressure") == RFC3339.string(from: then))
        #expect(transition("Ready") == RFC3339.string(from: now))
        #expect(posted.allSatisfy { $0 == network || $0["lastHeartbeatTime"]?.stringValue == RFC3339.string(from: now) })
    }

    @Test func boundPodRunsWithAddressFromItsNode() async throws {
        let client = try InProcessAPI().client
        let sim = RunningSimulation(client: client, count: 2)
        defer { sim.task.cancel() }

        _ = try await client.create(Resources.pods, simPod("web", node: "sim-node-1"))
        var pod: JSONValue = .null
        #expect(await eventually {
            pod = (try? await client.get(Resources.pods, namespace: "default", name: "web")) ?? .null
            return pod[path: "status", "phase"] == "Running"
        })
        let status = try #require(pod["status"])
        let ip = try #require(status["podIP"]?.stringValue)
        #expect(ip.hasPrefix("10.42.2."))
        #expect(ip != "10.42.2.1")
        #expect(status["podIPs"] == [["ip": .string(ip)]])
        #expect(status["hostIP"] == "10.42.2.1")
        #expect(status["hostIPs"] == [["ip": "10.42.2.1"]])
        #expect(status["startTime"] != nil)
        #expect(status["qosClass"] == "BestEffort")
        let conditions = status["conditions"]?.arrayValue ?? []
        for type in ["PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready", "PodScheduled"] {
            #expect(conditions.first { $0["type"]?.stringValue == type }?["status"] == "True", "\(type)")
        }
        let containers = status["containerStatuses"]?.arrayValue ?? []
        #expect(containers.count == 2)
        let web = try #require(containers.first { $0["name"] == "web" })
        let uid = pod[path: "metadata", "uid"]?.stringValue ?? ""
        #expect(web["ready"] == true)
        #expect(web["started"] == true)
        #expect(web["restartCount"] == 0)
        #expect(web["image"] == "nginx:1.27")
        #expect(web["imageID"] == "sim://nginx:1.27")
        #expect(web["containerID"]?.stringValue == "sim://\(uid)-web")
        #expect(web[path: "state", "running", "startedAt"] != nil)
        await sim.stop()
    }

    @Test func podsOnOtherNodesAreLeftAlone() async throws {
        let client = try InProcessAPI().client
        let sim = RunningSimulation(client: client, count: 1)
        defer { sim.task.cancel() }
        _ = try await client.create(Resources.pods, simPod("elsewhere", node: "real-node"))
        _ = try await client.create(Resources.pods, simPod("unbound", node: nil))
        _ = try await client.create(Resources.pods, simPod("here", node: "sim-node-0"))
        #expect(await eventually {
            (try? await client.get(Resources.pods, namespace: "default", name: "here"))?[path: "status", "phase"] == "Running"
        })
        for name in ["elsewhere", "unbound"] {
            let pod = try await client.get(Resources.pods, namespace: "default", name: name)
            #expect(pod[path: "status", "phase"] == "Pending")
            #expect(pod[path: "status", "podIP"] == nil)
        }
        await sim.stop()
    }

    @Test func addressesAreUniqueAcrossFiftyPods() async throws {
        let client = try InProcessAPI().client
        let sim = RunningSimulation(client: client, count: 2)
        defer { sim.task.cancel() }
        for i in 0..<50 {
            _ = try await client.create(Resources.pods, simPod("p\(i)", node: "sim-node-\(i % 2)"))
        }
        var items: [JSONValue] = []
        #expect(await eventually {
            items = (try? await client.list(Resources.pods, namespace: "default").items) ?? []
            return items.count == 50 && items.allSatisfy { $0[path: "status", "phase"] == "Running" }
        })
        let ips = items.compactMap { $0[path: "status", "podIP"]?.stringValue }
        #expect(ips.count == 50)
        #expect(Set(ips).count == 50)
        for pod in items {
            let node = pod[path: "spec", "nodeName"]?.stringValue ?? ""
            let ip = pod[path: "status", "podIP"]?.stringValue ?? ""
            #expect(ip.hasPrefix(node == "sim-node-0" ? "10.42.1." : "10.42.2."))
        }
        await sim.stop()
    }

    @Test func deletingPodIsRemovedAndItsAddressFreed() async throws {
        let client = try InProcessAPI().client
        let sim = RunningSimulation(client: client, count: 1)
        defer { sim.task.cancel() }
        _ = try await client.create(Resources.pods, simPod("doomed", node: "sim-node-0"))
        #expect(await eventually {
            (try? await client.get(Resources.pods, namespace: "default", name: "doomed"))?[path: "status", "phase"] == "Running"
        })
        #expect(sim.nodes.assignedPodIPs["default/doomed"] != nil)
        // A bound pod is deleted gracefully: the API server only marks it; the node removes it.
        let marked = try await client.delete(Resources.pods, namespace: "default", name: "doomed")
        #expect(marked[path: "metadata", "deletionTimestamp"] != nil)
        #expect(await eventually { await isGone(client, "doomed") })
        #expect(await eventually { sim.nodes.assignedPodIPs["default/doomed"] == nil })
        await sim.stop()
    }

    @Test func terminationDelayRunsOnTheClock() async throws {
        let client = try InProcessAPI().client
        let clock = ManualClock()
        let sim = RunningSimulation(client: client, count: 1, clock: clock, terminationDelay: .seconds(5))
        defer { sim.task.cancel() }
        _ = try await client.create(Resources.pods, simPod("slow", node: "sim-node-0"))
        #expect(await eventually {
            (try? await client.get(Resources.pods, namespace: "default", name: "slow"))?[path: "status", "phase"] == "Running"
        })
        #expect(await eventually { clock.sleeperCount == 1 })  // the heartbeat
        _ = try await client.delete(Resources.pods, namespace: "default", name: "slow")
        // Once the node has seen the deletion, the pod's key waits on the clock.
        #expect(await eventually { clock.sleeperCount == 2 })
        try await Task.sleep(for: .milliseconds(50))
        #expect((try? await client.get(Resources.pods, namespace: "default", name: "slow")) != nil)
        clock.advance(by: .seconds(5))
        #expect(await eventually { await isGone(client, "slow") })
        await sim.stop()
    }

    @Test func restartAdoptsNodesAndAddresses() async throws {
        let client = try InProcessAPI().client
        let first = RunningSimulation(client: client, count: 1)
        for i in 0..<5 { _ = try await client.create(Resources.pods, simPod("a\(i)", node: "sim-node-0")) }
        #expect(await eventually {
            let items = (try? await client.list(Resources.pods).items) ?? []
            return items.count == 5 && items.allSatisfy { $0[path: "status", "phase"] == "Running" }
        })
        await first.stop()

        let second = RunningSimulation(client: client, count: 1)
        defer { second.task.cancel() }
        for i in 0..<5 { _ = try await client.create(Resources.pods, simPod("b\(i)", node: "sim-node-0")) }
        var items: [JSONValue] = []
        #expect(await eventually {
            items = (try? await client.list(Resources.pods).items) ?? []
            return items.count == 10 && items.allSatisfy { $0[path: "status", "phase"] == "Running" }
        })
        #expect(Set(items.compactMap { $0[path: "status", "podIP"]?.stringValue }).count == 10)
        #expect(try await client.list(Resources.nodes).items.count == 1)
        #expect(await eventually { second.nodes.assignedPodIPs.count == 10 })
        await second.stop()
    }

    @Test func thousandPodsAllRun() async throws {
        let client = try InProcessAPI().client
        let sim = RunningSimulation(client: client, count: 10)
        defer { sim.task.cancel() }
        #expect(await eventually { (try? await client.list(Resources.nodes).items.count) == 10 })
        await withTaskGroup(of: Void.self) { group in
            for w in 0..<8 {
                group.addTask {
                    for i in stride(from: w, to: 1000, by: 8) {
                        _ = try? await client.create(Resources.pods, simPod("bulk-\(i)", node: "sim-node-\(i % 10)"))
                    }
                }
            }
        }
        var items: [JSONValue] = []
        #expect(await eventually(timeout: .seconds(60)) {
            items = (try? await client.list(Resources.pods).items) ?? []
            return items.count == 1000 && items.allSatisfy { $0[path: "status", "phase"] == "Running" }
        })
        #expect(Set(items.compactMap { $0[path: "status", "podIP"]?.stringValue }).count == 1000)
        await sim.stop()
    }
}

@Suite struct PodIPPoolTests {
    @Test func allocatesRoundTheRangeAndReusesOnlyWhenWrapped() {
        var pool = PodIPPool(prefix: "10.42.1.")
        #expect(pool.nodeIP == "10.42.1.1")
        #expect(pool.allocate() == "10.42.1.2")
        #expect(pool.allocate() == "10.42.1.3")
        pool.release("10.42.1.2")
        #expect(pool.allocate() == "10.42.1.4")
        let reserved = pool.reserve("10.42.1.5")
        #expect(reserved)
        #expect(pool.allocate() == "10.42.1.6")
        let foreign = pool.reserve("10.42.2.5")
        #expect(!foreign)
        var all: Set<String> = []
        while let ip = pool.allocate() { all.insert(ip) }
        #expect(pool.used.count == 253)
        #expect(all.contains("10.42.1.2"))
        #expect(!all.contains("10.42.1.1"))
    }

    @Test func cidrsCountFromOne() {
        #expect(SimulatedObjects.cidrPrefix(index: 0) == "10.42.1.")
        #expect(SimulatedObjects.cidrPrefix(index: 254) == "10.42.255.")
        #expect(SimulatedObjects.cidrPrefix(index: 255) == "10.43.0.")
    }
}
