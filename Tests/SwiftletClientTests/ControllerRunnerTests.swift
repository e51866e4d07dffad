import Foundation
import Synchronization
import Testing
import SwiftletClient
import SwiftletMachinery
import SwiftletTestSupport

@Suite struct ControllerRunnerTests {
    struct Transient: Error {}

    @Test func failedSyncsAreRetriedWithBackoffAndForgottenOnSuccess() async {
        let clock = ManualClock()
        let queue = WorkQueue<String>(clock: clock)
        let attempts = Locked(0)
        let runner = ControllerRunner(name: "test", queue: queue, workers: 2, log: ClientLog.discard) { _ in
            let n = attempts.withLock { a -> Int in
                a += 1
                return a
            }
            if n < 3 { throw Transient() }
        }
        let running = Task { await runner.run() }
        queue.add("k")

        #expect(await eventually { attempts.withLock { $0 } == 1 && clock.sleeperCount == 1 })
        #expect(queue.retries("k") == 1)
        clock.advance(by: .milliseconds(5))
        #expect(await eventually { attempts.withLock { $0 } == 2 && clock.sleeperCount == 1 })
        #expect(queue.retries("k") == 2)
        clock.advance(by: .milliseconds(5))
        #expect(attempts.withLock { $0 } == 2)  // the second retry waits 10 ms
        clock.advance(by: .milliseconds(5))
        #expect(await eventually { attempts.withLock { $0 } == 3 && queue.retries("k") == 0 })

        running.cancel()
        await running.value
        #expect(queue.isShuttingDown)
    }

    @Test func aSyncTheAPIRefusesIsNotRunAgainByEvents() async {
        let clock = ManualClock()
        let queue = WorkQueue<String>(clock: clock)
        let attempts = Locked(0)
        let runner = ControllerRunner(name: "test", queue: queue, workers: 2, log: ClientLog.discard) { _ in
            attempts.withLock { $0 += 1 }
            // What a sync that writes its status and then is refused looks like: the write's
            // event adds the key again at once.
            queue.add("k")
            throw APIError.invalid(group: "apps", kind: "ReplicaSet", name: "x", errors: [.required("spec.selector")])
        }
        let running = Task { await runner.run() }
        queue.add("k")
        #expect(await eventually { attempts.withLock { $0 } == 1 && clock.sleeperCount == 1 })
        for _ in 0..<100 { queue.add("k") }
        #expect(queue.count == 0)
        #expect(attempts.withLock { $0 } == 1)
        clock.advance(by: .milliseconds(5))
        #expect(await eventually { attempts.withLock { $0 } == 2 && clock.sleeperCount == 1 })
        #expect(queue.retries("k") == 2)
        running.cancel()
        await running.value
    }

    @Test func workersSyncDifferentKeysConcurrently() async {
        let queue = WorkQueue<Int>(clock: ManualClock())
        let inFlight = Locked(0)
        let peak = Locked(0)
        let done = Locked(0)
        let runner = ControllerRunner(name: "test", queue: queue, workers: 3) { _ in
            let now = inFlight.withLock { n -> Int in
                n += 1
                return n
            }
            peak.withLock { $0 = max($0, now) }
            _ = await eventually(timeout: .milliseconds(200)) { peak.withLock { $0 } == 3 }
            inFlight.withLock { $0 -= 1 }
            done.withLock { $0 += 1 }
        }
        let running = Task { await runner.run() }
        for key in 0..<3 { queue.add(key) }
        #expect(await eventually { done.withLock { $0 } == 3 })
        #expect(peak.withLock { $0 } == 3)
        queue.shutDown()
        await running.value
    }

    @Test func cancellationStopsAnIdleRunner() async {
        let queue = WorkQueue<String>(clock: ManualClock())
        let runner = ControllerRunner(name: "idle", queue: queue, workers: 4) { _ in }
        let running = Task { await runner.run() }
        try? await Task.sleep(for: .milliseconds(2))
        running.cancel()
        await running.value
        #expect(queue.isShuttingDown)
    }
}
