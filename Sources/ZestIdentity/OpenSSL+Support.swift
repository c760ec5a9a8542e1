internal import COpenSSL
import Glibc

/// Drains OpenSSL's thread-local error queue (`ERR_get_error`) into one line.
/// Always called after a failed OpenSSL call so a stale entry never confuses the next one.
package func takeOpenSSLErrors() -> String {
    var parts: [String] = []
    var buffer = [CChar](repeating: 0, count: 256)
    while case let code = ERR_get_error(), code != 0 {
        let text = buffer.withUnsafeMutableBufferPointer { b -> String in
            ERR_error_string_n(code, b.baseAddress, b.count)
            return String(cString: b.baseAddress!)
        }
        parts.append(text)
    }
    return parts.isEmpty ? "no detail in OpenSSL's error queue" : parts.joined(separator: "; ")
}

/// Clears OpenSSL's thread-local error queue (`ERR_clear_error`).
package func clearOpenSSLErrors() { ERR_clear_error() }

/// Runs `body` with a read-only memory BIO over `bytes` (`BIO_new_mem_buf`).
func withMemoryBIO<T>(_ bytes: [UInt8], _ body: (OpaquePointer) throws(IdentityError) -> T) throws(IdentityError) -> T {
    let result = bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Result<T, IdentityError> in
        guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else {
            return .failure(.openSSL(operation: "BIO_new_mem_buf", detail: takeOpenSSLErrors()))
        }
        defer { BIO_free(bio) }
        do throws(IdentityError) { return .success(try body(bio)) } catch { return .failure(error) }
    }
    return try result.get()
}

/// Runs `write` against a fresh memory BIO and returns what it wrote (`BIO_get_mem_ptr`).
func stringFromMemoryBIO(_ operation: String, _ write: (OpaquePointer) -> Int32) throws(IdentityError) -> String {
    guard let bio = BIO_new(BIO_s_mem()) else {
        throw .openSSL(operation: "BIO_new", detail: takeOpenSSLErrors())
    }
    defer { BIO_free(bio) }
    guard write(bio) > 0 else { throw .openSSL(operation: operation, detail: takeOpenSSLErrors()) }
    var mem: UnsafeMutablePointer<BUF_MEM>? = nil
    _ = zest_BIO_get_mem_ptr(bio, &mem)
    guard let mem, let data = mem.pointee.data else { return "" }
    return String(decoding: UnsafeRawBufferPointer(start: data, count: mem.pointee.length), as: UTF8.self)
}

/// Reads a whole file as bytes, with an error that names the file.
func readFileBytes(_ path: String) throws(IdentityError) -> [UInt8] {
    guard let f = fopen(path, "rb") else {
        throw .unreadableFile(path: path, reason: String(cString: strerror(errno)))
    }
    defer { fclose(f) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16384)
    while true {
        let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
        if n > 0 { out.append(contentsOf: chunk[0..<n]) }
        if n < chunk.count {
            if ferror(f) != 0 { throw .unreadableFile(path: path, reason: "read error") }
            break
        }
    }
    return out
}

/// Writes `text` to `path` atomically (temporary file, fsync, rename) with the given mode.
func writeFileAtomically(_ path: String, _ text: String, mode: mode_t) throws(IdentityError) {
    let tmp = path + ".tmp-\(getpid())"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
    guard fd >= 0 else { throw .unwritableFile(path: path, reason: String(cString: strerror(errno))) }
    let bytes = Array(text.utf8)
    var written = 0
    while written < bytes.count {
        let n = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            let reason = String(cString: strerror(errno))
            close(fd); unlink(tmp)
            throw .unwritableFile(path: path, reason: reason)
        }
        written += n
    }
    fchmod(fd, mode)
    fsync(fd)
    close(fd)
    guard rename(tmp, path) == 0 else {
        let reason = String(cString: strerror(errno))
        unlink(tmp)
        throw .unwritableFile(path: path, reason: reason)
    }
}
