import SwiftletMachinery

/// Probes and lifecycle hooks: one handler each, valid ports and non-negative timings.
enum ProbeValidation {
    static func probes(_ container: JSONValue, _ path: ValidationPath) -> [FieldError] {
        var errors: [FieldError] = []
        for kind in ContainerValidation.probeKinds {
            guard let probe = container[kind], probe.objectValue != nil else { continue }
            let probePath = path.child(kind)
            errors += self.probe(probe, probePath)
            switch kind {
            case "readinessProbe":
                if let grace = probe["terminationGracePeriodSeconds"], !grace.isNull {
                    errors.append(.invalid(probePath.child("terminationGracePeriodSeconds").description, grace, "must not be set for readinessProbes"))
                }
            default:
                let threshold = probe["successThreshold"]?.intValue ?? 0
                if threshold != 1 { errors.append(.invalid(probePath.child("successThreshold").description, .int(threshold), "must be 1")) }
            }
        }
        return errors
    }

    static func probe(_ probe: JSONValue, _ path: ValidationPath) -> [FieldError] {
        var errors = handler(probe, kinds: ["exec", "httpGet", "tcpSocket", "grpc"], gracePeriod: nil, path)
        for field in ["initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"] {
            errors += CommonRules.nonNegative(probe[field], path.child(field))
        }
        if let grace = probe["terminationGracePeriodSeconds"]?.intValue, grace <= 0 {
            errors.append(.invalid(path.child("terminationGracePeriodSeconds").description, .int(grace), "must be greater than 0"))
        }
        return errors
    }

    static func lifecycle(_ lifecycle: JSONValue, gracePeriod: Int64?, _ path: ValidationPath) -> [FieldError] {
        var errors: [FieldError] = []
        for hook in ["postStart", "preStop"] {
            guard let handler = lifecycle[hook], handler.objectValue != nil else { continue }
            errors += self.handler(handler, kinds: ["exec", "httpGet", "tcpSocket", "sleep"], gracePeriod: gracePeriod, path.child(hook))
        }
        return errors
    }

    /// validateHandler: exactly one of the handler kinds, each checked.
    static func handler(_ handler: JSONValue, kinds: [String], gracePeriod: Int64?, _ path: ValidationPath) -> [FieldError] {
        var errors: [FieldError] = []
        var count = 0
        for kind in kinds {
            guard let action = handler[kind], !action.isNull else { continue }
            let actionPath = path.child(kind)
            if count > 0 {
                errors.append(.forbidden(actionPath.description, "may not specify more than 1 handler type"))
                continue
            }
            count += 1
            switch kind {
            case "exec":
                if FieldRead.strings(action["command"]).isEmpty { errors.append(.required(actionPath.child("command").description)) }
            case "httpGet":
                if FieldRead.string(action["path"]).isEmpty { errors.append(.required(actionPath.child("path").description)) }
                errors += CommonRules.portNumberOrName(action["port"], actionPath.child("port"))
                let scheme = FieldRead.string(action["scheme"])
                if scheme != "HTTP" && scheme != "HTTPS" {
                    errors.append(.notSupported(actionPath.child("scheme").description, .string(scheme), ["HTTP", "HTTPS"]))
                }
                for header in FieldRead.objects(action["httpHeaders"]) {
                    let name = FieldRead.string(header["name"])
                    errors += NameFormat.httpHeaderName(name).map { .invalid(actionPath.child("httpHeaders").description, .string(name), $0) }
                }
            case "tcpSocket":
                errors += CommonRules.portNumberOrName(action["port"], actionPath.child("port"))
            case "grpc":
                errors += CommonRules.portNumber(action["port"]?.intValue ?? 0, actionPath.child("port"))
            default:
                let seconds = action["seconds"]?.intValue ?? 0
                if let gracePeriod, seconds < 0 || seconds > gracePeriod {
                    errors.append(.invalid(actionPath.description, .int(seconds), "must be non-negative and less than terminationGracePeriodSeconds (\(gracePeriod))"))
                }
            }
        }
        if count == 0 { errors.append(.required(path.description, "must specify a handler type")) }
        return errors
    }
}
