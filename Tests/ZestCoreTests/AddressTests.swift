import Testing
import ZestCore

@Suite struct AddressTests {
    @Test(arguments: [
        ("10.0.0.1:80", "10.0.0.1", UInt16(80)),
        ("[fd00::1]:15008", "fd00::1", 15008),
        ("[::ffff:10.1.2.3]:1", "::ffff:10.1.2.3", 1),
        ("0.0.0.0:65535", "0.0.0.0", 65535),
    ])
    func parsesSocketAddresses(_ c: (String, String, UInt16)) throws {
        let a = try #require(SocketAddress(c.0))
        #expect(a.ip == IPAddress(c.1))
        #expect(a.port == c.2)
        #expect(a.description == c.0)
    }

    @Test(arguments: ["10.0.0.1", "fd00::1:80", "[fd00::1]", "[fd00::1]80", "10.0.0.1:65536",
                      "10.0.0.1:-1", "10.0.0.1:", "host:80", "[10.0.0.1]:80", "10.0.0.256:80", " 10.0.0.1:80"])
    func rejectsMalformedSocketAddresses(_ text: String) {
        #expect(SocketAddress(text) == nil)
    }

    @Test func ipv6FormattingIsCanonical() throws {
        #expect(IPAddress("FD00:0:0:0:0:0:0:1")?.description == "fd00::1")
        #expect(IPAddress("::")?.isUnspecified == true)
        #expect(IPAddress("::1")?.isLoopback == true)
        #expect(IPAddress("127.3.4.5")?.isLoopback == true)
        #expect(IPAddress("::ffff:1.2.3.4")?.unmappedIPv4 == IPAddress("1.2.3.4"))
        #expect(IPAddress("1.2.3.4")?.bytes == [1, 2, 3, 4])
    }

    @Test(arguments: [
        ("10.0.0.0/8", "10.255.1.2", true),
        ("10.0.0.0/8", "11.0.0.1", false),
        ("10.1.2.3", "10.1.2.3", true),
        ("10.1.2.3", "10.1.2.4", false),
        ("0.0.0.0/0", "192.168.1.1", true),
        ("0.0.0.0/0", "::1", false),
        ("10.0.0.0/8", "::ffff:10.2.3.4", true),
        ("fd00::/64", "fd00::abcd", true),
        ("fd00::/64", "fd00:0:0:1::1", false),
        ("fd00::/65", "fd00::7fff:ffff:ffff:ffff", true),
        ("fd00::/65", "fd00::8000:0:0:0", false),
        ("::/0", "2001:db8::1", true),
        ("2001:db8::1/128", "2001:db8::1", true),
    ])
    func cidrContainment(_ c: (String, String, Bool)) throws {
        let block = try #require(CIDR(c.0))
        let ip = try #require(IPAddress(c.1))
        #expect(block.contains(ip) == c.2)
    }

    @Test(arguments: ["10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0.0/a", "10.0.0/8", "10.0.0.0/8/1"])
    func rejectsMalformedCIDRs(_ text: String) {
        #expect(CIDR(text) == nil)
    }

    @Test func cidrNormalizesHostBits() throws {
        #expect(CIDR("10.1.2.3/8")?.description == "10.0.0.0/8")
    }
}
