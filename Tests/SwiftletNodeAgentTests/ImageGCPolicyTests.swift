import Foundation
import Testing
@testable import SwiftletNodeAgent

/// The kubelet's image garbage collection policy: when, how much, and which images go.
@Suite struct ImageGCPolicyTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func candidate(_ name: String, size: Int64, lastUsed: TimeInterval?, age: TimeInterval = 3600,
                   inUse: Bool = false, pinned: Bool = false) -> ImageGCPolicy.Candidate {
        .init(name: name, size: size, firstDetected: now.addingTimeInterval(-age),
              lastUsed: lastUsed.map { now.addingTimeInterval(-$0) }, inUse: inUse, pinned: pinned)
    }

    @Test func belowTheHighThresholdNothingGoes() {
        let plan = ImageGCPolicy().plan([candidate("a", size: 100, lastUsed: nil)], capacity: 1000, available: 160, now: now)
        #expect(plan == ImageGCPolicy.Plan())
    }

    @Test func atTheHighThresholdTheLeastRecentlyUsedGoDownToTheLowOne() {
        // 90 % used: free until 80 %, that is 100 bytes.
        let plan = ImageGCPolicy().plan([
            candidate("recent", size: 60, lastUsed: 10),
            candidate("old", size: 60, lastUsed: 1000),
            candidate("never-used", size: 60, lastUsed: nil),
            candidate("running", size: 500, lastUsed: 2000, inUse: true),
            candidate("built-in", size: 500, lastUsed: nil, pinned: true),
            candidate("young", size: 500, lastUsed: nil, age: 60),
        ], capacity: 1000, available: 100, now: now)
        #expect(plan.amountToFree == 100)
        #expect(plan.remove == ["never-used", "old"])
        #expect(plan.shortfall == nil)
    }

    @Test func notEnoughToFreeIsReportedAsTheKubeletWordsIt() {
        let plan = ImageGCPolicy().plan([candidate("small", size: 10, lastUsed: 100), candidate("busy", size: 900, lastUsed: 1, inUse: true)],
                                        capacity: 1000, available: 50, now: now)
        #expect(plan.remove == ["small"])
        #expect(plan.shortfall == "Failed to garbage collect required amount of images. Attempted to free 150 bytes, but only found 10 bytes eligible to free.")
    }
}
