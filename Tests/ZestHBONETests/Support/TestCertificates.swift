import Foundation
import ZestTestSupport

/// A throwaway CA and SPIFFE leaf certificates (ECDSA P-256, URI SAN, serverAuth+clientAuth),
/// made with the openssl command line in a scratch directory.
struct TestCertificates {
    let directory: String
    var caPath: String { directory + "/ca.pem" }

    init(directory: String, trustDomain: String = "cluster.local") throws {
        self.directory = directory
        try runChecked(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", directory + "/ca.key"])
        try runChecked(["openssl", "req", "-x509", "-new", "-key", directory + "/ca.key", "-subj", "/O=\(trustDomain)",
                        "-days", "2", "-out", caPath, "-addext", "basicConstraints=critical,CA:TRUE",
                        "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    }

    /// Issues `name.pem`/`name.key` (PKCS#8) for `identity`; returns the Envoy file triple.
    func issue(_ name: String, identity: String) throws -> EnvoyConfig.TLSFiles {
        let d = directory + "/" + name
        try runChecked(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", d + ".key"])
        try runChecked(["openssl", "req", "-new", "-key", d + ".key", "-subj", "/O=zest-test", "-out", d + ".csr"])
        try """
        subjectAltName=URI:\(identity)
        keyUsage=critical,digitalSignature,keyEncipherment
        extendedKeyUsage=serverAuth,clientAuth
        basicConstraints=critical,CA:FALSE

        """.write(toFile: d + ".ext", atomically: true, encoding: .utf8)
        try runChecked(["openssl", "x509", "-req", "-in", d + ".csr", "-CA", caPath, "-CAkey", directory + "/ca.key",
                        "-CAcreateserial", "-days", "2", "-extfile", d + ".ext", "-out", d + ".pem"])
        return EnvoyConfig.TLSFiles(certificate: d + ".pem", privateKey: d + ".key", trustedCA: caPath)
    }
}
