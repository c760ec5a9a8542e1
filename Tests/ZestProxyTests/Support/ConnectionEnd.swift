import ZestReactor

/// Whether the peer closed or reset `socket` (a read returns end of stream or fails
/// other than by timing out).
func connectionEnded(_ socket: Socket) -> Bool {
    var byte: UInt8 = 0
    do {
        while true {
            let r = try withUnsafeMutableBytes(of: &byte) { try socket.read(into: $0.baseAddress!, count: 1) }
            switch r {
            case .processed(0): return true
            case .processed: continue
            case .wouldBlock: return false
            }
        }
    } catch {
        return true
    }
}
