import SwiftletClient

/// One control loop. It registers its informer handlers when it is made, and `run` works its
/// queue until the task is cancelled. The manager starts and syncs the informers in between,
/// so a controller never acts on a cache that is still filling.
public protocol Controller: Sendable {
    var name: String { get }
    func run(workers: Int) async
}

/// What every controller is made from: the client, the shared informers, the clock, and an
/// event recorder per component name.
public struct ControllerContext: Sendable {
    public let client: APIClient
    public let informers: SharedInformerFactory
    public let clock: any Clock
    public let log: LogSink

    public init(client: APIClient, informers: SharedInformerFactory, clock: any Clock = SystemClock(),
                log: @escaping LogSink = ClientLog.standardError) {
        self.client = client
        self.informers = informers
        self.clock = clock
        self.log = log
    }

    public func recorder(component: String) -> EventRecorder {
        EventRecorder(client: client, component: component, clock: clock, log: log)
    }
}

/// Runs a set of controllers over shared informers, as kube-controller-manager does.
public final class ControllerManager: Sendable {
    public let context: ControllerContext
    public let controllers: [any Controller]
    public let workers: Int

    public init(context: ControllerContext, controllers: [any Controller], workers: Int = 2) {
        self.context = context
        self.controllers = controllers
        self.workers = workers
    }

    /// Starts the informers, waits for them to sync, then runs every controller until cancelled.
    public func run() async {
        context.informers.start()
        guard await context.informers.waitForSync() else { return }
        await withDiscardingTaskGroup { group in
            for controller in controllers {
                let workers = self.workers
                group.addTask { await controller.run(workers: workers) }
            }
        }
        context.informers.shutDown()
    }
}
