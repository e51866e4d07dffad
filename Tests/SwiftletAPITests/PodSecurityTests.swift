import Testing
import SwiftletAPI
import SwiftletMachinery

/// Pod Security standards against upstream's check cases and aggregate wording.
@Suite struct PodSecurityTests {
    static func pod(_ spec: JSONValue) -> JSONValue { ["metadata": ["name": "p"], "spec": spec] }
    static let compliant: JSONValue = [
        "securityContext": ["runAsNonRoot": true, "seccompProfile": ["type": "RuntimeDefault"]],
        "containers": [["name": "app", "image": "x", "securityContext": [
            "allowPrivilegeEscalation": false, "capabilities": ["drop": ["ALL"], "add": ["NET_BIND_SERVICE"]],
        ]]],
        "volumes": [["name": "config", "configMap": ["name": "c"]], ["name": "scratch", "emptyDir": [:]]],
    ]

    @Test func aCompliantPodPassesEveryLevel() {
        for level in PodSecurity.Level.allCases { #expect(PodSecurity.violations(Self.pod(Self.compliant), level: level) == []) }
    }

    @Test func baselineForbidsHostAccessAndPrivilege() {
        let spec: JSONValue = [
            "hostNetwork": true, "hostPID": true,
            "securityContext": ["sysctls": [["name": "kernel.msgmax", "value": "1"], ["name": "net.ipv4.tcp_syncookies", "value": "1"]]],
            "containers": [
                ["name": "a", "securityContext": ["privileged": true, "capabilities": ["add": ["NET_ADMIN", "CHOWN", "SYS_TIME"]]],
                 "ports": [["containerPort": 80, "hostPort": 8080]]],
                ["name": "b", "securityContext": ["procMount": "Unmasked", "seccompProfile": ["type": "Unconfined"]],
                 "ports": [["containerPort": 81, "hostPort": 8081]]],
            ],
            "volumes": [["name": "root", "hostPath": ["path": "/"]]],
        ]
        #expect(PodSecurity.violations(Self.pod(spec), level: .baseline) == [
            #"non-default capabilities (container "a" must not include "NET_ADMIN", "SYS_TIME" in securityContext.capabilities.add)"#,
            "host namespaces (hostNetwork=true, hostPID=true)",
            #"hostPath volumes (volume "root")"#,
            #"hostPort (containers "a", "b" use hostPorts 8080, 8081)"#,
            #"privileged (container "a" must not set securityContext.privileged=true)"#,
            #"procMount (container "b" must not set securityContext.procMount to "Unmasked")"#,
            #"seccompProfile (container "b" must not set securityContext.seccompProfile.type to "Unconfined")"#,
            "forbidden sysctls (kernel.msgmax)",
        ])
        #expect(PodSecurity.violations(Self.pod(spec), level: .privileged) == [])
    }

    @Test func baselineChecksAppArmorSELinuxAndProbeHostsAsUpstream() {
        let spec: JSONValue = [
            "securityContext": ["appArmorProfile": ["type": "Unconfined"], "seLinuxOptions": ["type": "spc_t"]],
            "initContainers": [["name": "init", "securityContext": ["seLinuxOptions": ["user": "root", "role": "sysadm_r"]]]],
            "containers": [
                ["name": "a", "securityContext": ["appArmorProfile": ["type": "Unconfined"]],
                 "livenessProbe": ["httpGet": ["host": "10.0.0.1", "port": 80]], "lifecycle": ["preStop": ["tcpSocket": ["host": "db", "port": 5432]]]],
                ["name": "b", "readinessProbe": ["tcpSocket": ["host": "10.0.0.1", "port": 80]]],
                ["name": "c", "securityContext": ["appArmorProfile": ["type": "Localhost", "localhostProfile": "mine"],
                                                  "seLinuxOptions": ["type": "container_engine_t"]]],
            ],
        ]
        var pod = Self.pod(spec)
        pod[path: "metadata", "annotations"] = ["container.apparmor.security.beta.kubernetes.io/b": "unconfined",
                                                "container.apparmor.security.beta.kubernetes.io/c": "localhost/mine"]
        #expect(PodSecurity.violations(pod, level: .baseline) == [
            #"forbidden AppArmor profiles (pod and container "a" and annotation must not set AppArmor profile type to "Unconfined", "container.apparmor.security.beta.kubernetes.io/b="unconfined"")"#,
            #"probe or lifecycle host (containers "a", "b" use probe or lifecycle hosts "10.0.0.1", "db")"#,
            #"seLinuxOptions (pod and container "init" set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set; role may not be set)"#,
        ])
        #expect(PodSecurity.violatedReasons(pod, level: .restricted).prefix(3) == ["forbidden AppArmor profiles", "probe or lifecycle host", "seLinuxOptions"])
    }

    @Test func restrictedAsksForNonRootDroppedCapabilitiesAndSeccomp() {
        let spec: JSONValue = [
            "securityContext": ["runAsUser": 0],
            "initContainers": [["name": "init", "securityContext": ["runAsNonRoot": false]]],
            "containers": [["name": "app", "securityContext": ["capabilities": ["add": ["SYS_ADMIN"]]]]],
            "volumes": [["name": "data", "nfs": ["server": "s", "path": "/"]], ["name": "ok", "secret": ["secretName": "s"]]],
        ]
        #expect(PodSecurity.violations(Self.pod(spec), level: .restricted) == [
            #"allowPrivilegeEscalation != false (containers "init", "app" must set securityContext.allowPrivilegeEscalation=false)"#,
            #"unrestricted capabilities (containers "init", "app" must set securityContext.capabilities.drop=["ALL"]; container "app" must not include "SYS_ADMIN" in securityContext.capabilities.add)"#,
            #"restricted volume types (volume "data" uses restricted volume type "nfs")"#,
            #"runAsNonRoot != true (container "init" must not set securityContext.runAsNonRoot=false)"#,
            #"runAsUser=0 (pod must not set runAsUser=0)"#,
            #"seccompProfile (pod or containers "init", "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")"#,
        ])
        // A pod in its own user namespace may be root there.
        var userNamespace = Self.compliant
        userNamespace["hostUsers"] = false
        userNamespace[path: "securityContext", "runAsNonRoot"] = nil
        userNamespace[path: "securityContext", "runAsUser"] = 0
        #expect(PodSecurity.violations(Self.pod(userNamespace), level: .restricted) == [])
    }

    @Test func namespaceLabelsNameALevelAndVersion() {
        let labels = JSONObject([("pod-security.kubernetes.io/enforce", "restricted"), ("pod-security.kubernetes.io/enforce-version", "v1.33")])
        #expect(PodSecurity.level("enforce", namespaceLabels: labels) == .restricted)
        #expect(PodSecurity.level("warn", namespaceLabels: labels) == .privileged)
        #expect(PodSecurity.policyName(.restricted, mode: "enforce", namespaceLabels: labels) == "restricted:v1.33")
        let bad = JSONObject([("pod-security.kubernetes.io/enforce", "strict"), ("pod-security.kubernetes.io/warn-version", "2")])
        #expect(PodSecurity.validateLabels(bad).map(\.message) == [
            #"metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted"#,
            #"metadata.labels[pod-security.kubernetes.io/warn-version]: Invalid value: "2": must be "latest" or of the form "v1.x""#,
        ])
    }

    @Test func warnDefaultsToAStricterEnforceLevelAndTemplatesAreFound() {
        let enforceOnly = JSONObject([("pod-security.kubernetes.io/enforce", "baseline"), ("pod-security.kubernetes.io/enforce-version", "v1.33")])
        #expect(PodSecurity.warnPolicy(namespaceLabels: enforceOnly) == (.baseline, "baseline:v1.33"))
        let both = JSONObject([("pod-security.kubernetes.io/enforce", "baseline"), ("pod-security.kubernetes.io/warn", "restricted")])
        #expect(PodSecurity.warnPolicy(namespaceLabels: both) == (.restricted, "restricted:latest"))
        #expect(PodSecurity.warnPolicy(namespaceLabels: nil) == (.privileged, "privileged:latest"))

        let deployment: JSONValue = ["spec": ["template": ["spec": ["hostNetwork": true]]]]
        #expect(PodSecurity.podTemplate(of: deployment, group: "apps", resource: "deployments")?[path: "spec", "hostNetwork"] == true)
        let cronJob: JSONValue = ["spec": ["jobTemplate": ["spec": ["template": ["spec": ["hostPID": true]]]]]]
        #expect(PodSecurity.podTemplate(of: cronJob, group: "batch", resource: "cronjobs")?[path: "spec", "hostPID"] == true)
        #expect(PodSecurity.podTemplate(of: deployment, group: "", resource: "configmaps") == nil)
    }
}
