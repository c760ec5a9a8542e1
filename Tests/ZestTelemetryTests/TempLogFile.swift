import Glibc
import ZestTelemetry
import ZestTestSupport

/// A log sink writing to a fresh temporary file, read back by tests.
final class TempLogFile {
    let path: String
    let fd: Int32
    let sink: LogSink

    init(capacity: Int = 128_000) throws {
        var template = Array("/tmp/zest-log-XXXXXX".utf8CString)
        fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw TestHTTPError(description: "mkstemp failed: errno \(errno)") }
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        sink = LogSink(fd: fd, capacity: capacity)
    }

    func contents() -> String {
        sink.flush()
        guard let f = fopen(path, "r") else { return "" }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    func remove() {
        sink.close()
        close(fd)
        unlink(path)
    }
}
