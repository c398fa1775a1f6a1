import NIOCore

/// Runs Swift tasks on a NIO event loop, so that a call's handler runs on the thread
/// of the connection that carries it: no thread hop to start it, none to write its
/// response. Handlers that block must not use it (the server's
/// `handlerExecution = .globalConcurrentExecutor` setting avoids it).
final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: `loop` is immutable and EventLoop is Sendable; the class only forwards.
    let loop: any EventLoop

    init(loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
