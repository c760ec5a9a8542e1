import Foundation
import Glibc
import ZestIdentity
import ZestTestSupport

/// Certificates made by the `openssl` command-line tool, independent of Zest's own CA code:
/// two roots (A trusted, B foreign) and leaves with every defect the handshake matrix needs.
/// `openssl ca` with explicit `-startdate/-enddate` makes expired and not-yet-valid leaves.
final class OpenSSLCLIPKI: Sendable {
    let dir: String

    /// Leaves by name; each has `<name>.pem` and `<name>.key` in `dir`.
    enum Leaf: String, CaseIterable, Sendable {
        case serverGood, clientGood, serverOtherRoot, clientOtherRoot, clientForeignTD, serverForeignTD
        case expired, notYetValid, caLeaf, twoURISANs, dnsOnly
    }

    static let serverID = "spiffe://cluster.local/ns/default/sa/server"
    static let clientID = "spiffe://cluster.local/ns/default/sa/client"

    /// Made once per test process; every test only reads the files.
    static let shared: OpenSSLCLIPKI = {
        do { return try OpenSSLCLIPKI() } catch { fatalError("openssl CLI PKI: \(error)") }
    }()

    private init() throws {
        var template = Array("/tmp/zest-pki-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        dir = String(cString: p)
        try write("root.cnf", """
            [req]
            distinguished_name = dn
            [dn]
            [v3_ca]
            basicConstraints = critical,CA:TRUE
            keyUsage = critical,keyCertSign,cRLSign
            subjectKeyIdentifier = hash
            """)
        for root in ["A", "B"] {
            try runChecked(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", path("root\(root).key")])
            try runChecked(["openssl", "req", "-x509", "-new", "-key", path("root\(root).key"), "-sha256",
                            "-subj", "/O=cluster.local/CN=Test Root \(root)", "-days", "3650",
                            "-config", path("root.cnf"), "-extensions", "v3_ca", "-out", path("root\(root).pem")])
            try write("index-\(root).txt", "")
            try write("ca-\(root).cnf", """
                [ca]
                default_ca = ca_\(root)
                [ca_\(root)]
                database = \(path("index-\(root).txt"))
                new_certs_dir = \(dir)
                certificate = \(path("root\(root).pem"))
                private_key = \(path("root\(root).key"))
                rand_serial = yes
                default_md = sha256
                policy = pol
                unique_subject = no
                email_in_dn = no
                [pol]
                commonName = optional
                """)
        }
        let day: TimeInterval = 86400
        let now = Date()
        let valid = (now.addingTimeInterval(-3600), now.addingTimeInterval(day))
        for leaf in Leaf.allCases {
            var root = "A"
            var sans = "URI:\(Self.serverID)"
            var basic = "critical,CA:FALSE"
            var keyUsage = "critical,digitalSignature,keyEncipherment"
            var dates = valid
            switch leaf {
            case .serverGood: break
            case .clientGood: sans = "URI:\(Self.clientID)"
            case .serverOtherRoot: root = "B"
            case .clientOtherRoot: root = "B"; sans = "URI:\(Self.clientID)"
            case .clientForeignTD: sans = "URI:spiffe://other.example/ns/default/sa/client"
            case .serverForeignTD: sans = "URI:spiffe://other.example/ns/default/sa/server"
            case .expired: dates = (now.addingTimeInterval(-3 * day), now.addingTimeInterval(-2 * day))
            case .notYetValid: dates = (now.addingTimeInterval(2 * day), now.addingTimeInterval(3 * day))
            case .caLeaf: basic = "critical,CA:TRUE"; keyUsage = "critical,digitalSignature,keyEncipherment,keyCertSign"
            case .twoURISANs: sans = "URI:\(Self.serverID),URI:spiffe://cluster.local/ns/default/sa/other"
            case .dnsOnly: sans = "DNS:server.default.svc.cluster.local"
            }
            let name = leaf.rawValue
            try write("\(name).ext", """
                [ext]
                basicConstraints = \(basic)
                keyUsage = \(keyUsage)
                extendedKeyUsage = serverAuth,clientAuth
                subjectAltName = critical,\(sans)
                authorityKeyIdentifier = keyid:always
                """)
            try runChecked(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", path("\(name).key")])
            try runChecked(["openssl", "req", "-new", "-key", path("\(name).key"), "-subj", "/CN=\(name)",
                            "-config", path("root.cnf"), "-out", path("\(name).csr")])
            try runChecked(["openssl", "ca", "-batch", "-notext", "-config", path("ca-\(root).cnf"),
                            "-startdate", Self.asn1(dates.0), "-enddate", Self.asn1(dates.1),
                            "-extfile", path("\(name).ext"), "-extensions", "ext",
                            "-in", path("\(name).csr"), "-out", path("\(name).pem")])
        }
    }

    /// Issues one more leaf from root A with the given SAN line; the file name is unique per `name`.
    func extraLeaf(name: String, san: String) throws -> Certificate {
        try write("\(name).ext", """
            [ext]
            basicConstraints = critical,CA:FALSE
            extendedKeyUsage = serverAuth,clientAuth
            subjectAltName = critical,\(san)
            """)
        try runChecked(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", path("\(name).key"), "-subj", "/CN=\(name)", "-config", path("root.cnf"),
                        "-out", path("\(name).csr")])
        try runChecked(["openssl", "x509", "-req", "-in", path("\(name).csr"), "-CA", rootA, "-CAkey", path("rootA.key"),
                        "-CAcreateserial", "-CAserial", path("\(name).srl"), "-days", "1",
                        "-extfile", path("\(name).ext"), "-extensions", "ext", "-out", path("\(name).pem")])
        return try Certificate.load(chainFile: path("\(name).pem"))[0]
    }

    func path(_ name: String) -> String { dir + "/" + name }
    func cert(_ leaf: Leaf) -> String { path("\(leaf.rawValue).pem") }
    func key(_ leaf: Leaf) -> String { path("\(leaf.rawValue).key") }
    var rootA: String { path("rootA.pem") }

    private func write(_ name: String, _ text: String) throws {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
    }

    /// `YYYYMMDDHHMMSSZ` in UTC, as `openssl ca -startdate` takes it.
    static func asn1(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970)
        var tm = tm()
        gmtime_r(&t, &tm)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(tm.tm_year + 1900)\(two(tm.tm_mon + 1))\(two(tm.tm_mday))\(two(tm.tm_hour))\(two(tm.tm_min))\(two(tm.tm_sec))Z"
    }
}
