/// Keys waiting for a deadline before they enter a work queue, earliest first. A key waits
/// at most once: asking again for a later time changes nothing, for an earlier time moves it
/// up (client-go's delaying queue does the same, so a burst of `addAfter`s is one add).
struct DelayedKeys<Key: Hashable> {
    private struct Entry {
        var deadline: Duration
        var sequence: Int
        var key: Key

        func precedes(_ other: Entry) -> Bool {
            (deadline, sequence) < (other.deadline, other.sequence)
        }
    }

    /// A binary min-heap. Entries superseded by an earlier deadline stay until popped and are
    /// skipped then, which keeps every operation O(log n).
    private var heap: [Entry] = []
    private var deadlines: [Key: Duration] = [:]
    private var sequence = 0

    var isEmpty: Bool { deadlines.isEmpty }

    /// The earliest deadline, possibly of a superseded entry: waking for it is harmless.
    var earliest: Duration? { heap.first?.deadline }

    mutating func insert(_ key: Key, at deadline: Duration) {
        if let existing = deadlines[key], existing <= deadline { return }
        deadlines[key] = deadline
        sequence += 1
        heap.append(Entry(deadline: deadline, sequence: sequence, key: key))
        siftUp(heap.count - 1)
    }

    /// Removes and returns the keys due at `now`, in deadline order.
    mutating func popDue(now: Duration) -> [Key] {
        var due: [Key] = []
        while let top = heap.first, top.deadline <= now {
            popTop()
            if deadlines[top.key] == top.deadline {
                deadlines[top.key] = nil
                due.append(top.key)
            }
        }
        return due
    }

    mutating func removeAll() {
        heap = []
        deadlines = [:]
    }

    private mutating func popTop() {
        heap.swapAt(0, heap.count - 1)
        heap.removeLast()
        var i = 0
        while true {
            let left = 2 * i + 1, right = left + 1
            var smallest = i
            if left < heap.count, heap[left].precedes(heap[smallest]) { smallest = left }
            if right < heap.count, heap[right].precedes(heap[smallest]) { smallest = right }
            if smallest == i { return }
            heap.swapAt(i, smallest)
            i = smallest
        }
    }

    private mutating func siftUp(_ index: Int) {
        var i = index
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].precedes(heap[parent]) else { return }
            heap.swapAt(i, parent)
            i = parent
        }
    }
}
