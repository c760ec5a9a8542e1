import Glibc

/// Writes `<tool>: text` to stderr and exits with status 2: every failed check of a load tool
/// ends here, so the driving script sees a non-zero exit instead of a figure. The tool's name
/// is the executable's file name.
public func fail(_ text: String) -> Never {
    let tool = CommandLine.arguments.first?.split(separator: "/").last.map(String.init) ?? "load"
    var line = "\(tool): \(text)\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(2)
}

/// Writes one line to stdout with write(2) (no buffering to flush before exit or while blocked).
public func say(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
}
