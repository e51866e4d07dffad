import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Hands memory the server has freed back to the system, as Go's scavenger does for
/// kube-apiserver. glibc keeps freed memory in its per-thread arenas, so after a burst (a
/// watcher catching up on 10,000 events, a flood of connections) the process would hold its
/// peak for as long as it lives; `malloc_trim` returns the free pages of every arena.
enum ReturnFreedMemory {
    /// `malloc_trim` is declared in `malloc.h`, which Swift's Glibc module does not import.
    private typealias MallocTrim = @convention(c) (Int) -> Int32

    static func every(_ interval: Duration) -> Task<Void, Never>? {
        // glibc's RTLD_DEFAULT is the null handle: search every loaded object.
        guard let symbol = dlsym(nil, "malloc_trim") else { return nil }
        let trim = unsafeBitCast(symbol, to: MallocTrim.self)
        return Task.detached(priority: .background) {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                _ = trim(0)
            }
        }
    }
}
