import Foundation
import SwiftletAPI
import SwiftletMachinery
import Testing

/// Jobs, cron jobs, horizontal pod autoscalers and Scale, against printers.go in Kubernetes 1.34.
@Suite struct TableBatchTests {
    typealias F = TableFixtures

    static let podTemplate: JSONValue = [
        "spec": ["restartPolicy": "Never", "containers": [["name": "pi", "image": "perl:5.34"]]]
    ]

    @Test func completedJob() {
        let job: JSONValue = [
            "apiVersion": "batch/v1", "kind": "Job", "metadata": F.metadata("pi", age: 600),
            "spec": [
                "completions": 1, "parallelism": 1, "template": Self.podTemplate,
                "selector": ["matchLabels": ["batch.kubernetes.io/controller-uid": "5f1c"]],
            ],
            "status": [
                "succeeded": 1, "startTime": F.ago(600), "completionTime": F.ago(537),
                "conditions": [["type": "SuccessCriteriaMet", "status": "True"], ["type": "Complete", "status": "True"]],
            ],
        ]
        #expect(
            F.cells("batch", "jobs", job)
                == ["pi", "Complete", "1/1", "63s", "10m", "pi", "perl:5.34", "batch.kubernetes.io/controller-uid=5f1c"])
        #expect(
            TableConverter.columns(group: "batch", resource: "jobs").map(\.name)
                == ["Name", "Status", "Completions", "Duration", "Age", "Containers", "Images", "Selector"])
    }

    @Test func jobStatusesAndCompletions() {
        func job(spec: JSONValue, status: JSONValue, deleted: Bool = false) -> [JSONValue] {
            var metadata = F.metadata("j", age: 300)
            if deleted { metadata["deletionTimestamp"] = F.ago(1) }
            return Array(F.cells("batch", "jobs", ["metadata": metadata, "spec": spec, "status": status])[1...3])
        }
        #expect(
            job(spec: ["parallelism": 3], status: ["succeeded": 1, "startTime": F.ago(100)]) == ["Running", "1/1 of 3", "100s"])
        #expect(job(spec: ["completions": 5, "parallelism": 2], status: [:]) == ["Running", "0/5", ""])
        #expect(job(spec: [:], status: ["conditions": [["type": "Failed", "status": "True"]]]) == ["Failed", "0/1", ""])
        #expect(job(spec: [:], status: [:], deleted: true) == ["Terminating", "0/1", ""])
        #expect(job(spec: [:], status: ["conditions": [["type": "Suspended", "status": "True"]]]) == ["Suspended", "0/1", ""])
        #expect(
            job(spec: [:], status: ["conditions": [["type": "FailureTarget", "status": "True"]]]) == ["FailureTarget", "0/1", ""])
        #expect(job(spec: [:], status: ["conditions": [["type": "Complete", "status": "False"]]]) == ["Running", "0/1", ""])
    }

    @Test func cronJob() {
        let cronJob: JSONValue = [
            "apiVersion": "batch/v1", "kind": "CronJob", "metadata": F.metadata("backup", age: 86_400),
            "spec": [
                "schedule": "*/5 * * * *", "suspend": false,
                "jobTemplate": ["spec": ["template": Self.podTemplate]],
            ],
            "status": ["active": [["kind": "Job", "name": "backup-29012345"]], "lastScheduleTime": F.ago(120)],
        ]
        #expect(
            F.cells("batch", "cronjobs", cronJob)
                == ["backup", "*/5 * * * *", "<none>", "False", 1, "2m", "24h", "pi", "perl:5.34", "<none>"])
        #expect(
            TableConverter.columns(group: "batch", resource: "cronjobs").map(\.name)
                == [
                    "Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age", "Containers", "Images",
                    "Selector",
                ])

        let fresh: JSONValue = [
            "metadata": F.metadata("nightly", age: 5), "spec": ["schedule": "@daily", "timeZone": "Etc/UTC"],
        ]
        #expect(Array(F.cells("batch", "cronjobs", fresh)[1...5]) == ["@daily", "Etc/UTC", "<unset>", 0, "<none>"])
    }

    func hpa(spec: JSONValue, status: JSONValue = [:]) -> JSONValue {
        [
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": F.metadata("pi-web", age: 900),
            "spec": spec, "status": status,
        ]
    }

    static let target: JSONValue = ["apiVersion": "apps/v1", "kind": "Deployment", "name": "pi-web"]

    @Test func horizontalPodAutoscaler() {
        let autoscaler = hpa(
            spec: [
                "scaleTargetRef": Self.target, "minReplicas": 1, "maxReplicas": 5,
                "metrics": [
                    [
                        "type": "Resource",
                        "resource": ["name": "cpu", "target": ["type": "Utilization", "averageUtilization": 80]],
                    ]
                ],
            ],
            status: [
                "currentReplicas": 2, "desiredReplicas": 2,
                "currentMetrics": [
                    [
                        "type": "Resource",
                        "resource": ["name": "cpu", "current": ["averageUtilization": 50, "averageValue": "25m"]],
                    ]
                ],
            ])
        #expect(
            F.cells("autoscaling", "horizontalpodautoscalers", autoscaler) == [
                "pi-web", "Deployment/pi-web", "cpu: 50%/80%", "1", 5, 2, "15m",
            ])
        #expect(
            TableConverter.columns(group: "autoscaling", resource: "horizontalpodautoscalers").map(\.name)
                == ["Name", "Reference", "Targets", "MinPods", "MaxPods", "Replicas", "Age"])
    }

    @Test func horizontalPodAutoscalerTargets() {
        let metrics: JSONValue = [
            ["type": "Resource", "resource": ["name": "memory", "target": ["type": "AverageValue", "averageValue": "256Mi"]]],
            ["type": "Pods", "pods": ["metric": ["name": "qps"], "target": ["type": "AverageValue", "averageValue": "10"]]],
            ["type": "External", "external": ["metric": ["name": "queue"], "target": ["type": "Value", "value": "30"]]],
        ]
        let statuses: JSONValue = [
            ["type": "Resource", "resource": ["name": "memory", "current": ["averageValue": "100Mi"]]]
        ]
        let cells = F.cells(
            "autoscaling", "horizontalpodautoscalers",
            hpa(
                spec: ["scaleTargetRef": Self.target, "maxReplicas": 3, "metrics": metrics], status: ["currentMetrics": statuses])
        )
        #expect(Array(cells[2...5]) == ["memory: 100Mi/256Mi, <unknown>/10 + 1 more...", "<unset>", 3, 0])

        let objectAverage: JSONValue = [
            [
                "type": "Object",
                "object": [
                    "describedObject": [:], "metric": ["name": "rps"], "target": ["type": "AverageValue", "averageValue": "2k"],
                ],
            ],
            [
                "type": "ContainerResource",
                "containerResource": ["name": "cpu", "container": "app", "target": ["type": "Utilization"]],
            ],
        ]
        let second = F.cells(
            "autoscaling", "horizontalpodautoscalers", hpa(spec: ["scaleTargetRef": Self.target, "metrics": objectAverage]))
        #expect(second[2] == "<unknown>/2k (avg), cpu: <unknown>/<auto>")
    }

    /// autoscaling/v1 objects carry a CPU percentage instead of metrics; with neither, v2
    /// defaulting targets 80% CPU.
    @Test func horizontalPodAutoscalerV1Fields() {
        let v1 = hpa(
            spec: ["scaleTargetRef": Self.target, "maxReplicas": 4, "targetCPUUtilizationPercentage": 60],
            status: ["currentReplicas": 1, "currentCPUUtilizationPercentage": 12])
        #expect(F.cells("autoscaling", "horizontalpodautoscalers", v1)[2] == "cpu: 12%/60%")
        let bare = hpa(spec: ["scaleTargetRef": Self.target, "maxReplicas": 4])
        #expect(F.cells("autoscaling", "horizontalpodautoscalers", bare)[2] == "cpu: <unknown>/80%")
    }

    @Test func scaleSubresource() {
        let scale: JSONValue = [
            "apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": F.metadata("pi-web", age: 600),
            "spec": ["replicas": 3], "status": ["replicas": 2, "selector": "app=pi-web"],
        ]
        #expect(F.cells("autoscaling", "scale", scale) == ["pi-web", 3, 2, "10m"])
        let columns = TableConverter.columns(group: "autoscaling", resource: "scale")
        #expect(columns.map(\.name) == ["Name", "Desired", "Available", "Age"])
        #expect(columns[0].format == "")
    }
}
