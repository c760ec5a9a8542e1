import Testing
import ZestControl

/// Invalid files are reported with file, line and field; nothing from them is loaded.
@Suite struct ConfigErrorTests {
    func errors(_ yaml: String) -> [ConfigError] {
        guard case .failure(let e) = Fixture.load(text: yaml, name: "bad.yaml") else { return [] }
        return e.errors
    }

    @Test func malformedYAMLGivesTheLine() {
        let e = errors("workloads:\n- name: a\n  namespace: [unclosed\n")
        #expect(e.count == 1)
        #expect(e.first?.file.hasSuffix("bad.yaml") == true)
        #expect(e.first?.line == 4 || e.first?.line == 3, "\(e)")
        #expect(e.first?.message.contains("YAML syntax") == true)
    }

    @Test func badAddressNamesFieldAndLine() {
        let e = errors("""
        workloads:
        - name: a
          namespace: default
          workloadIps: ["10.0.0.1", "10.0.0.300"]
        """)
        #expect(e.count == 1)
        #expect(e.first?.field == "workloads[0].workloadIps[1]", "\(e)")
        #expect(e.first?.line == 4)
        #expect(e.first?.description.contains("bad.yaml:4:") == true)
    }

    @Test func unknownFieldIsRejectedLikeZtunnel() {
        let e = errors("""
        workloads:
        - name: a
          namespace: default
          workloadIP: "10.0.0.1"
        """)
        #expect(e.first?.field == "workloads[0].workloadIP", "\(e)")
        #expect(e.first?.message.contains("unknown field") == true)
    }

    @Test func missingRequiredFieldIsNamed() {
        let e = errors("services:\n- name: s\n  hostname: s.example\n")
        #expect(e.first?.field == "services[0].namespace", "\(e)")
        #expect(e.first?.line == 2)
    }

    @Test func badPortInAnAuthorizationPolicy() {
        let e = errors("""
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: p, namespace: x}
        spec:
          rules:
          - to:
            - operation:
                ports: ["http"]
        """)
        #expect(e.first?.field == "spec.rules[0].to[0].operation.ports[0]", "\(e)")
        #expect(e.first?.line == 8)
    }

    @Test func everyInvalidEntryIsReportedNotJustTheFirst() {
        let e = errors("""
        workloads:
        - name: a
          namespace: default
          protocol: QUIC
        - name: b
          namespace: default
          capacity: -1
        policies:
        - name: p
          namespace: default
          scope: Cluster
          action: Allow
        """)
        #expect(e.map(\.field) == ["workloads[0].protocol", "workloads[1].capacity", "policies[0].scope"], "\(e)")
        #expect(e[0].message.contains("HBONE, TCP"))
    }

    @Test func badSubjectAltNameIsExplained() {
        let e = errors("""
        services:
        - name: s
          namespace: default
          hostname: s.example
          subjectAltNames: ["spiffe://cluster.local/ns/x"]
        """)
        #expect(e.first?.field == "services[0].subjectAltNames[0]", "\(e)")
    }

    @Test func documentOfUnknownShapeIsAnError() {
        let e = errors("hello: world\n")
        #expect(e.first?.field == "hello", "\(e)")
    }

    @Test func missingFileIsReported() {
        do throws(ConfigErrors) {
            _ = try ConfigLoader().load(files: ["/nonexistent/zest.yaml"])
            Issue.record("expected an error")
        } catch {
            #expect(error.errors.first?.file == "/nonexistent/zest.yaml")
        }
    }

    @Test func duplicatePolicyAcrossDocumentsIsAnError() {
        let e = errors("""
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: p, namespace: x}
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: p, namespace: x}
        """)
        #expect(e.first?.message.contains("defined twice") == true, "\(e)")
    }
}
