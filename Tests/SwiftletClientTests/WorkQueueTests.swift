import Foundation
import Synchronization
import Testing
import SwiftletClient
import SwiftletTestSupport

@Suite struct WorkQueueTests {
    @Test func aWaitingKeyIsQueuedOnce() async {
        let queue = WorkQueue<String>(clock: ManualClock())
        for key in ["a", "b", "a", "a", "c", "b"] { queue.add(key) }
        #expect(queue.count == 3)
        #expect(await queue.get() == "a")
        #expect(await queue.get() == "b")
        #expect(await queue.get() == "c")
    }

    @Test func aKeyAddedWhileHeldIsQueuedAgainOnDone() async {
        let queue = WorkQueue<String>(clock: ManualClock())
        queue.add("a")
        #expect(await queue.get() == "a")
        queue.add("a")
        queue.add("a")
        #expect(queue.count == 0)  // held: not handed to another worker
        queue.done("a")
        #expect(queue.count == 1)
        #expect(await queue.get() == "a")
        queue.done("a")
        #expect(queue.count == 0)
    }

    @Test func aKeyIsNeverProcessedByTwoWorkersAtOnce() async {
        let queue = WorkQueue<Int>(clock: ManualClock())
        let busy = Locked<Set<Int>>([])
        let overlaps = Locked(0)
        let processed = Locked(0)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    while let key = await queue.get() {
                        if !busy.withLock({ $0.insert(key).inserted }) { overlaps.withLock { $0 += 1 } }
                        await Task.yield()
                        busy.withLock { _ = $0.remove(key) }
                        processed.withLock { $0 += 1 }
                        queue.done(key)
                    }
                }
            }
            group.addTask {
                for i in 0..<2000 {
                    queue.add(i % 3)
                    if i % 50 == 0 { await Task.yield() }
                }
                _ = await eventually { queue.count == 0 && busy.withLock { $0.isEmpty } }
                queue.shutDown()
            }
        }
        #expect(overlaps.withLock { $0 } == 0)
        #expect(processed.withLock { $0 } >= 3)
    }

    @Test func addAfterFiresWhenTheClockReachesTheDeadline() async {
        let clock = ManualClock()
        let queue = WorkQueue<String>(clock: clock)
        queue.addAfter("late", .seconds(2))
        queue.addAfter("early", .seconds(1))
        queue.addAfter("late", .seconds(5))  // a later time for a waiting key changes nothing
        #expect(queue.count == 0)
        clock.advance(by: .milliseconds(999))
        #expect(queue.count == 0)
        clock.advance(by: .milliseconds(1))
        #expect(queue.count == 1)
        #expect(await queue.get() == "early")
        clock.advance(by: .seconds(1))
        #expect(await queue.get() == "late")
        clock.advance(by: .seconds(10))
        #expect(queue.count == 0)
    }

    @Test func aBackedOffKeyWaitsOutItsBackoffWhateverEventsArrive() async {
        let clock = ManualClock()
        let queue = WorkQueue<String>(clock: clock, backoff: ItemBackoff(base: .seconds(1), max: .seconds(100)))
        queue.add("d")
        #expect(await queue.get() == "d")
        queue.addBackedOff("d")  // the sync failed in a way a retry cannot fix: 1 s
        queue.done("d")
        for _ in 0..<5 { queue.add("d") }  // events for it, e.g. its own status writes
        queue.add("other")
        #expect(queue.count == 1)
        #expect(await queue.get() == "other")
        queue.done("other")
        clock.advance(by: .seconds(1))
        #expect(await queue.get() == "d")
        queue.addBackedOff("d")  // again: 2 s
        queue.done("d")
        queue.add("d")
        clock.advance(by: .seconds(1))
        #expect(queue.count == 0)
        clock.advance(by: .seconds(1))
        #expect(await queue.get() == "d")
        // A success ends the back-off: events run it at once again.
        queue.forget("d")
        queue.done("d")
        queue.add("d")
        #expect(queue.count == 1)
    }

    @Test func theWaitIsCappedSoFixesArePickedUp() async {
        let clock = ManualClock()
        let queue = WorkQueue<String>(clock: clock, backoff: ItemBackoff(base: .seconds(100), max: .seconds(1000)))
        queue.add("d")
        #expect(await queue.get() == "d")
        queue.addBackedOff("d", maxWait: .seconds(30))
        queue.done("d")
        queue.add("d")  // the user fixed the object
        clock.advance(by: .seconds(29))
        #expect(queue.count == 0)
        clock.advance(by: .seconds(1))
        #expect(await queue.get() == "d")
    }

    @Test func aWaitingWorkerIsWokenByADelayedKey() async {
        let clock = ManualClock()
        let queue = WorkQueue<String>(clock: clock)
        let worker = Task { await queue.get() }
        queue.addAfter("k", .seconds(30))
        #expect(await eventually { clock.sleeperCount == 1 })
        clock.advance(by: .seconds(30))
        #expect(await worker.value == "k")
    }

    @Test func rateLimitedKeysBackOffExponentiallyPerKey() async {
        let clock = ManualClock()
        let queue = WorkQueue<String>(clock: clock)
        var expected: [Duration] = []
        var d = Duration.milliseconds(5)
        for _ in 0..<5 {
            expected.append(d)
            d *= 2
        }
        for delay in expected {
            queue.addRateLimited("k")
            clock.advance(by: delay - .microseconds(1))
            #expect(queue.count == 0)
            clock.advance(by: .microseconds(1))
            #expect(queue.count == 1)
            #expect(await queue.get() == "k")
            queue.done("k")
        }
        #expect(queue.retries("k") == 5)

        queue.addRateLimited("other")  // another key starts at the base delay
        clock.advance(by: .milliseconds(5))
        #expect(await queue.get() == "other")
        queue.done("other")

        queue.forget("k")
        #expect(queue.retries("k") == 0)
        queue.addRateLimited("k")
        clock.advance(by: .milliseconds(5))
        #expect(queue.count == 1)
    }

    @Test func theBackoffIsCappedAt1000Seconds() async {
        let clock = ManualClock()
        let queue = WorkQueue<String>(clock: clock)
        for _ in 0..<80 {
            queue.addRateLimited("k")
            clock.advance(by: .seconds(1000))
            #expect(await queue.get() == "k")
            queue.done("k")
        }
        queue.addRateLimited("k")
        clock.advance(by: .seconds(999))
        #expect(queue.count == 0)
        clock.advance(by: .seconds(1))
        #expect(queue.count == 1)
    }

    @Test func shutDownReleasesWorkersAndIgnoresAdds() async {
        let queue = WorkQueue<String>(clock: ManualClock())
        let worker = Task { await queue.get() }
        try? await Task.sleep(for: .milliseconds(2))
        queue.shutDown()
        #expect(await worker.value == nil)
        queue.add("a")
        queue.addAfter("b", .seconds(1))
        #expect(queue.isShuttingDown)
        #expect(await queue.get() == nil)
    }

    @Test func cancellingAWaitingGetReturnsNil() async {
        let queue = WorkQueue<String>(clock: ManualClock())
        let worker = Task { await queue.get() }
        worker.cancel()
        #expect(await worker.value == nil)
        queue.add("a")
        #expect(await queue.get() == "a")  // the cancelled worker did not take it
    }

    @Test func theManualClockWakesOnlyDueSleepers() async throws {
        let clock = ManualClock()
        let woken = Locked<Set<Int>>([])
        let sleepers = (1...3).map { i in
            Task {
                try await clock.sleep(until: .seconds(i))
                woken.withLock { _ = $0.insert(i) }
            }
        }
        #expect(await eventually { clock.sleeperCount == 3 })
        clock.advance(by: .seconds(2))
        #expect(await eventually { woken.withLock { $0 } == [1, 2] })
        #expect(clock.sleeperCount == 1)
        clock.advance(by: .seconds(1))
        for s in sleepers { try await s.value }
        #expect(woken.withLock { $0 } == [1, 2, 3])
    }

    @Test func aCancelledSleepThrows() async {
        let clock = ManualClock()
        let sleeper = Task { try await clock.sleep(for: .seconds(1)) }
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
    }
}
