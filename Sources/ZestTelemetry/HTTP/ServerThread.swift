import Glibc

/// An OS thread (`pthread_create`), joined with `join()`. The telemetry servers and the log
/// writer each run on one, off the data-plane workers. (`pthread_setname_np` is a GNU extension
/// Glibc's Swift module does not show, so the threads keep the process name.)
struct ServerThread: @unchecked Sendable {
    // pthread_t is a plain integer handle; joining from another thread is what pthreads expects.
    private let handle: pthread_t

    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    init(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Body(body)).toOpaque()
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, { arg in
            let body = Unmanaged<Body>.fromOpaque(arg!).takeRetainedValue()
            body.run()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed (\(rc)): the process is out of threads or memory")
        handle = tid
    }

    func join() {
        pthread_join(handle, nil)
    }
}
