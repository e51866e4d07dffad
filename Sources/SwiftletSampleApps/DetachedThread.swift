import Glibc

/// Runs `body` on a new detached pthread; false when the thread could not be created.
/// The sample apps use a thread per connection instead of an event loop: they serve a handful of
/// clients, and a blocking thread keeps them small and free of any runtime beyond Glibc.
@discardableResult
func spawnDetachedThread(_ body: @escaping @Sendable () -> Void) -> Bool {
    final class Work {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    // Handlers keep big data on the heap; 1 MiB of stack is plenty and keeps many idle connections cheap.
    pthread_attr_setstacksize(&attributes, 1 << 20)

    let work = Unmanaged.passRetained(Work(body)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(&thread, &attributes, { argument in
        Unmanaged<Work>.fromOpaque(argument!).takeRetainedValue().body()
        return nil
    }, work)
    if result != 0 {
        Unmanaged<Work>.fromOpaque(work).release()
        return false
    }
    return true
}
