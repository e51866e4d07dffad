import Foundation
import SwiftletMachinery

/// Records core/v1 Events about objects, what `kubectl describe` shows under "Events:".
///
/// Best effort, as in client-go: `event` only queues the record and returns, and a write that
/// fails is logged and dropped, so reporting can neither slow down nor break a sync. When
/// more than `bufferLimit` records are waiting, new ones are dropped.
public final class EventRecorder: Sendable {
    private enum Job: Sendable {
        case record(EventRecord)
        case flush(CheckedContinuation<Void, Never>)
    }

    private let jobs: AsyncStream<Job>.Continuation
    private let clock: any Clock

    /// - Parameters:
    ///   - component: who reports: `source.component` and `reportingComponent`
    ///     (e.g. "replicaset-controller", "default-scheduler", "kubelet").
    ///   - host: `source.host`, set by node agents.
    ///   - window: how long after its last occurrence a repeat still counts as the same Event.
    public init(client: APIClient, component: String, host: String? = nil, clock: any Clock = SystemClock(),
                window: Duration = .seconds(600), bufferLimit: Int = 1000, log: @escaping LogSink = ClientLog.standardError) {
        var source: JSONValue = ["component": .string(component)]
        if let host { source["host"] = .string(host) }
        let (stream, continuation) = AsyncStream<Job>.makeStream(bufferingPolicy: .bufferingOldest(bufferLimit))
        self.jobs = continuation
        self.clock = clock
        var writer = EventWriter(client: client, source: source, component: component, window: window, log: log)
        Task {
            for await job in stream {
                switch job {
                case .record(let record): await writer.write(record)
                case .flush(let done): done.resume()
                }
            }
        }
    }

    deinit { jobs.finish() }

    /// Records that `reason` happened to `object` (as read from the API: it needs kind,
    /// apiVersion and metadata). Never waits and never fails.
    public func event(_ object: JSONValue, type: EventType, reason: String, message: String) {
        let record = EventRecord(object: object, type: type, reason: reason, message: message,
                                 time: clock.now, elapsed: clock.elapsed)
        jobs.yield(.record(record))
    }

    /// Waits until everything recorded before this call has been written (or given up on).
    public func flush() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            switch jobs.yield(.flush(done)) {
            case .enqueued: break
            case .dropped, .terminated: done.resume()
            @unknown default: done.resume()
            }
        }
    }

    /// Stops after the queued records are written; later records are dropped.
    public func shutDown() { jobs.finish() }
}
