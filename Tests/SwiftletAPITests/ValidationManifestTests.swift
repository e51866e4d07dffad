import Testing
import SwiftletAPI
import SwiftletMachinery

/// Everyday manifests must pass untouched, and an error reaches clients as upstream words it.
struct ValidationManifestTests {
    @Test func whoamiReplicaSet() throws {
        #expect(try validationMessages("apps", "ReplicaSet", #"""
            {"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"whoami","namespace":"default","labels":{"app":"whoami-web"}},
             "spec":{"replicas":3,"selector":{"matchLabels":{"app":"whoami-web"}},
              "template":{"metadata":{"labels":{"app":"whoami-web"}},"spec":{"containers":[{"name":"whoami","image":"traefik/whoami:v1.10",
                "ports":[{"name":"http","containerPort":80}],
                "resources":{"requests":{"cpu":"50m","memory":"32Mi"},"limits":{"memory":"64Mi"}},
                "readinessProbe":{"httpGet":{"path":"/health","port":"http"}}}]}}}}
            """#) == [])
    }

    @Test func piDeployment() throws {
        #expect(try validationMessages("apps", "Deployment", #"""
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"pi","labels":{"app.kubernetes.io/name":"pi"}},
             "spec":{"replicas":2,"selector":{"matchExpressions":[{"key":"app","operator":"In","values":["pi"]}]},
              "strategy":{"rollingUpdate":{"maxSurge":1,"maxUnavailable":0}},
              "template":{"metadata":{"labels":{"app":"pi"},"annotations":{"example.com/owner":"team-a"}},
               "spec":{"containers":[{"name":"pi","image":"perl:5.34","command":["perl","-Mbignum=bpi","-wle","while (1) { print bpi(200); sleep 5 }"],
                 "env":[{"name":"NODE_NAME","valueFrom":{"fieldRef":{"fieldPath":"spec.nodeName"}}},{"name":"MODE","value":"fast"}],
                 "resources":{"requests":{"cpu":"0.1","memory":"64Mi"},"limits":{"cpu":"500m","memory":"128Mi"}},
                 "livenessProbe":{"exec":{"command":["true"]},"initialDelaySeconds":5}}]}}}}
            """#) == [])
    }

    @Test func nginxDaemonSetWithVolumes() throws {
        #expect(try validationMessages("apps", "DaemonSet", #"""
            {"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"nginx","namespace":"kube-system"},
             "spec":{"selector":{"matchLabels":{"app":"nginx"}},
              "template":{"metadata":{"labels":{"app":"nginx"}},"spec":{
                "tolerations":[{"key":"node-role.kubernetes.io/control-plane","operator":"Exists","effect":"NoSchedule"}],
                "containers":[{"name":"nginx","image":"nginx:1.27","ports":[{"containerPort":80,"hostPort":8080}],
                  "volumeMounts":[{"name":"conf","mountPath":"/etc/nginx/conf.d","readOnly":true},{"name":"logs","mountPath":"/var/log/nginx"}]}],
                "volumes":[{"name":"conf","configMap":{"name":"nginx-conf","items":[{"key":"default.conf","path":"default.conf"}]}},
                           {"name":"logs","hostPath":{"path":"/var/log/nginx","type":"DirectoryOrCreate"}}]}}}}
            """#) == [])
    }

    @Test func loadBalancerService() throws {
        #expect(try validationMessages("", "Service", #"""
            {"apiVersion":"v1","kind":"Service","metadata":{"name":"whoami"},
             "spec":{"type":"LoadBalancer","externalTrafficPolicy":"Local","selector":{"app":"whoami-web"},
              "ports":[{"name":"http","port":80,"targetPort":"http"},{"name":"https","port":443,"targetPort":8443}]}}
            """#) == [])
    }

    @Test func smallerKinds() throws {
        #expect(try validationMessages("", "Pod", ValidationText.pod()) == [])
        #expect(try validationMessages("", "Namespace", #"{"metadata":{"name":"team-a"}}"#) == [])
        #expect(try validationMessages("", "ConfigMap", #"{"metadata":{"name":"nginx-conf"},"data":{"default.conf":"server {}"}}"#) == [])
        #expect(try validationMessages("", "Secret", #"{"metadata":{"name":"tls"},"type":"kubernetes.io/tls","data":{"tls.crt":"Y2VydA==","tls.key":"a2V5"}}"#) == [])
        #expect(try validationMessages("", "Service", #"{"metadata":{"name":"db"},"spec":{"clusterIP":"None","selector":{"app":"db"}}}"#) == [])
        #expect(try validationMessages("", "Node", #"{"metadata":{"name":"node-1.example"}}"#) == [])
        #expect(try validationMessages("apps", "StatefulSet", #"""
            {"metadata":{"name":"web"},"spec":{"serviceName":"web","selector":{"matchLabels":{"app":"web"}},
              "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"nginx"}]}}}}
            """#) == [])
        #expect(try validationMessages("batch", "Job", #"""
            {"metadata":{"name":"pi"},"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"pi","image":"perl:5.34"}]}}}}
            """#) == [])
        #expect(try validationMessages("", "ReplicationController", #"""
            {"metadata":{"name":"rc"},"spec":{"template":{"metadata":{"labels":{"app":"a"}},"spec":{"containers":[{"name":"a","image":"a"}]}}}}
            """#) == [])
    }

    @Test func invalidResponseReadsLikeUpstream() throws {
        var object = try JSONParser.parse(#"""
            {"metadata":{"name":"web"},"spec":{"selector":{"matchLabels":{"app":"web"}},
              "template":{"metadata":{"labels":{"tier":"front","app":"api"}},"spec":{"containers":[{"name":"web","image":"nginx"}]}}}}
            """#)
        Catalogue.defaults(group: "apps", kind: "Deployment", to: &object)
        let errors = Catalogue.validate(group: "apps", kind: "Deployment", object: object)
        let error = APIError.invalid(group: "apps", kind: "Deployment", name: "web", errors: errors)
        #expect(error.message == #"Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: {"app":"api","tier":"front"}: `selector` does not match template `labels`"#)
    }
}
