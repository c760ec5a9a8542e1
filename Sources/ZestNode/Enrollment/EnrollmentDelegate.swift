/// What the enrollment protocol asks of the rest of the node agent: the capture rules and
/// per-pod listeners are built behind this interface. All calls come from the ZDS client's
/// own thread, one at a time, in the order the CNI agent sent the requests.
public protocol EnrollmentDelegate: AnyObject, Sendable {
    /// Start serving a pod: install its capture rules and open its listeners inside
    /// `netns`. Keep the handle for as long as the pod's sockets need creating there.
    /// Throwing NACKs the request with the error's description and keeps the pod pending;
    /// the client retries it until it succeeds or the pod is deleted.
    func enroll(_ uid: PodUID, info: WorkloadInfo, netns: NetNamespaceHandle) throws

    /// During a snapshot: the pod still exists and Zest may already serve it, but the CNI
    /// agent has no netns descriptor to send again. Nothing need change.
    func keep(_ uid: PodUID)

    /// Stop serving a pod now: close its listeners and connections and drop its rules.
    /// Its containers are usually gone already, so there is nobody to drain to.
    func remove(_ uid: PodUID)

    /// The CNI agent finished its snapshot and pods it did not announce were removed:
    /// Zest's set of pods now matches the node's.
    func snapshotComplete()
}
