import Glibc

/// Makes the dynamic linker bind every library's symbols at start, not at their first call.
///
/// The executable is linked with `-z now`, but that flag binds only its own imports: libraries
/// linked without it (Debian's libnghttp2, libstdc++, libc's and libm's own PLTs) stay lazily
/// bound, and the first connection's calls then run ld.so's symbol lookup, which maps ld.so's
/// code and the hash and symbol tables of the executable and every library — about 1 MiB per
/// process that stays resident after the first connection (docs/bench/rss.md). The loader
/// reads `LD_BIND_NOW` only when it loads the program, so the process runs itself again once
/// with it set (`execv("/proc/self/exe")`, same arguments); the new image removes the variable
/// again so that programs it starts are not affected. The binding work then happens at start,
/// whose pages `StartupPages.release()` gives back.
public enum EagerBinding {
    private static let marker = "ZEST_BIND_NOW_REEXEC"

    /// Call first thing in a long-running command. Returns at once when the libraries are
    /// already bound at start (the variable was set by the caller or by this function before
    /// the re-execution, which it then clears); otherwise replaces the process image and does
    /// not return, unless `execv` fails, in which case the process simply goes on lazily bound.
    public static func reexecOnce() {
        if getenv(marker) != nil {
            unsetenv(marker)
            unsetenv("LD_BIND_NOW")
            return
        }
        guard getenv("LD_BIND_NOW") == nil else { return }
        setenv("LD_BIND_NOW", "1", 1)
        setenv(marker, "1", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        unsetenv(marker)
        unsetenv("LD_BIND_NOW")
    }
}
