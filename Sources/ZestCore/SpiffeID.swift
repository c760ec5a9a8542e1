/// An Istio workload identity: `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`.
///
/// Parsing is strict, to the SPIFFE ID specification plus Istio's path shape: lowercase
/// scheme, trust domain of `[a-z0-9._-]` up to 255 bytes, path segments of `[A-Za-z0-9._-]`
/// that are neither empty nor `.`/`..`, no query, fragment, port or userinfo, at most
/// 2,048 bytes in all, and exactly the four segments `ns`, namespace, `sa`, service account.
public struct SpiffeID: Hashable, Sendable, CustomStringConvertible {
    public let trustDomain: String
    public let namespace: String
    public let serviceAccount: String

    public static let maxLength = 2048
    public static let maxTrustDomainLength = 255

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case tooLong(Int)
        case wrongScheme
        case emptyTrustDomain
        case trustDomainTooLong(Int)
        case badTrustDomainCharacter(Character)
        case badPathCharacter(Character)
        case emptySegment
        case dotSegment
        case notIstioShape(String)

        public var description: String {
            switch self {
            case .tooLong(let n): return "SPIFFE ID is \(n) bytes; the limit is \(SpiffeID.maxLength)"
            case .wrongScheme: return "SPIFFE ID must start with lowercase 'spiffe://'"
            case .emptyTrustDomain: return "SPIFFE ID has an empty trust domain"
            case .trustDomainTooLong(let n): return "trust domain is \(n) bytes; the limit is \(SpiffeID.maxTrustDomainLength)"
            case .badTrustDomainCharacter(let c): return "trust domain may hold only a-z 0-9 . - _ (found '\(c)')"
            case .badPathCharacter(let c): return "SPIFFE path may hold only A-Z a-z 0-9 . - _ and / (found '\(c)')"
            case .emptySegment: return "SPIFFE path has an empty segment"
            case .dotSegment: return "SPIFFE path has a '.' or '..' segment"
            case .notIstioShape(let p): return "SPIFFE path '\(p)' is not /ns/<namespace>/sa/<service-account>"
            }
        }
    }

    public init(trustDomain: String, namespace: String, serviceAccount: String) throws(ParseError) {
        // Validating the parts directly is what parse would do to the joined URI, without
        // building and re-splitting it (routing builds identities per connection). On any
        // doubt, parse the URI so the error is exactly parse's.
        let td = trustDomain.utf8, ns = namespace.utf8, sa = serviceAccount.utf8
        if !td.isEmpty, td.count <= SpiffeID.maxTrustDomainLength, td.allSatisfy(SpiffeID.isTrustDomainByte),
           SpiffeID.isSegment(ns), SpiffeID.isSegment(sa), "spiffe:///ns//sa/".utf8.count + td.count + ns.count + sa.count <= SpiffeID.maxLength {
            self.init(validTrustDomain: trustDomain, namespace: namespace, serviceAccount: serviceAccount)
            return
        }
        self = try SpiffeID.parse("spiffe://\(trustDomain)/ns/\(namespace)/sa/\(serviceAccount)")
    }

    private static func isSegment(_ s: String.UTF8View) -> Bool {
        !s.isEmpty && !s.elementsEqual(".".utf8) && !s.elementsEqual("..".utf8) && s.allSatisfy(isPathByte)
    }

    private init(validTrustDomain: String, namespace: String, serviceAccount: String) {
        self.trustDomain = validTrustDomain
        self.namespace = namespace
        self.serviceAccount = serviceAccount
    }

    /// Parses a URI SAN value. Returns nil where `parse` would throw.
    public init?(_ text: some StringProtocol) {
        guard let id = try? SpiffeID.parse(String(text)) else { return nil }
        self = id
    }

    public static func parse(_ text: String) throws(ParseError) -> SpiffeID {
        let utf8 = text.utf8
        guard utf8.count <= maxLength else { throw .tooLong(utf8.count) }
        guard text.hasPrefix("spiffe://") else { throw .wrongScheme }
        let rest = text.dropFirst("spiffe://".count)
        let slash = rest.utf8.firstIndex(of: 0x2f) ?? rest.endIndex
        let domain = rest[..<slash]
        guard !domain.isEmpty else { throw .emptyTrustDomain }
        guard domain.utf8.count <= maxTrustDomainLength else { throw .trustDomainTooLong(domain.utf8.count) }
        // Byte checks first (iterating Characters costs microseconds); the Character loops
        // run only to name the offending character.
        if !domain.utf8.allSatisfy(isTrustDomainByte) {
            for c in domain where !isTrustDomainCharacter(c) { throw .badTrustDomainCharacter(c) }
        }

        let path = rest[slash...]
        let segments = path.utf8.dropFirst().split(separator: 0x2f, omittingEmptySubsequences: false).map(Substring.init)
        if !path.utf8.allSatisfy({ $0 == 0x2f || isPathByte($0) }) {
            for c in path where c != "/" && !isPathCharacter(c) { throw .badPathCharacter(c) }
        }
        if !path.isEmpty {
            for s in segments {
                if s.isEmpty { throw .emptySegment }
                if s == "." || s == ".." { throw .dotSegment }
            }
        }
        guard segments.count == 4, segments[0] == "ns", segments[2] == "sa" else {
            throw .notIstioShape(String(path))
        }
        return SpiffeID(validTrustDomain: String(domain), namespace: String(segments[1]),
                        serviceAccount: String(segments[3]))
    }

    /// The URI form, `spiffe://td/ns/x/sa/y`.
    public var description: String { "spiffe://\(principal)" }
    public var uri: String { description }

    /// Istio's principal form used in AuthorizationPolicy: `td/ns/x/sa/y`.
    public var principal: String { "\(trustDomain)/ns/\(namespace)/sa/\(serviceAccount)" }

    private static func isTrustDomainCharacter(_ c: Character) -> Bool {
        guard let a = c.asciiValue else { return false }
        return isTrustDomainByte(a)
    }

    private static func isPathCharacter(_ c: Character) -> Bool {
        guard let a = c.asciiValue else { return false }
        return isPathByte(a)
    }

    private static func isTrustDomainByte(_ a: UInt8) -> Bool {
        (a >= 0x61 && a <= 0x7a) || (a >= 0x30 && a <= 0x39) || a == 0x2e || a == 0x2d || a == 0x5f
    }

    private static func isPathByte(_ a: UInt8) -> Bool {
        (a >= 0x61 && a <= 0x7a) || (a >= 0x41 && a <= 0x5a) || (a >= 0x30 && a <= 0x39)
            || a == 0x2e || a == 0x2d || a == 0x5f
    }
}
