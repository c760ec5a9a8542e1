import Foundation
import Glibc

/// A fresh directory under /tmp, removed with its contents on deinit.
final class TempDirectory {
    let path: String
    init() {
        var template = Array("/tmp/zest-identity-XXXXXX".utf8CString)
        path = String(cString: mkdtemp(&template)!)
    }
    func file(_ name: String) -> String { path + "/" + name }
    func write(_ name: String, _ text: String) throws { try text.write(toFile: file(name), atomically: true, encoding: .utf8) }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

func fileMode(_ path: String) -> UInt32 {
    var st = stat()
    return stat(path, &st) == 0 ? UInt32(st.st_mode & 0o777) : 0
}
