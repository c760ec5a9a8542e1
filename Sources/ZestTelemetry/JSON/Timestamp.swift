import Glibc

/// Wall-clock times as the logs and `/config_dump` print them (RFC 3339, UTC).
public enum Timestamp {
    /// Seconds and nanoseconds since the epoch (`clock_gettime(CLOCK_REALTIME)`).
    static func now() -> timespec {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return ts
    }

    /// `2026-11-27T00:13:15Z` for whole seconds since the epoch (`gmtime_r`).
    public static func rfc3339(seconds: Int64) -> String {
        format(seconds: seconds, fraction: "")
    }

    /// `2026-11-27T00:13:15.123456Z`: microsecond precision, as ztunnel's log lines.
    static func rfc3339Micros(_ ts: timespec) -> String {
        let micros = String(ts.tv_nsec / 1000)
        return format(seconds: Int64(ts.tv_sec), fraction: "." + String(repeating: "0", count: 6 - micros.count) + micros)
    }

    private static func format(seconds: Int64, fraction: String) -> String {
        var t = time_t(seconds)
        var tm = Glibc.tm()
        gmtime_r(&t, &tm)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2))T"
            + "\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2))\(fraction)Z"
    }
}
