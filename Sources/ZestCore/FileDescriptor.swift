/// A file descriptor number, typed so raw `Int32`s do not travel through public APIs.
/// It does not own the descriptor: the reactor's socket types own and close them.
public struct FileDescriptor: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public var description: String { "fd \(rawValue)" }
}
