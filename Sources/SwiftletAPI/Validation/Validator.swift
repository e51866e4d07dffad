import SwiftletMachinery

// Kubernetes 1.34's API validation, one function per kind (each `ResourceType`'s `validate`),
// returning findings with upstream's field paths and wording so 422 responses read like a real
// cluster's. Objects arrive defaulted. `old` is the stored object on updates, where the
// update-only rules apply too (immutable selectors, cluster IPs, immutable data). Rules that
// depend on server state (allocated ports, namespaces that exist, uid and creation time) are
// the server's.

/// Validation findings the server makes from its own state.
public enum Validator {
    /// The node port allocator's refusal of a port outside its range, in upstream's words, for
    /// the server's allocator to report (the range is its configuration, not a validation rule).
    public static func nodePortOutOfRange(_ port: Int64, portIndex: Int, range: ClosedRange<Int>) -> FieldError {
        .invalid("spec.ports[\(portIndex)].nodePort", .int(port),
                 "provided port is not in the valid range. The range of valid ports is \(range.lowerBound)-\(range.upperBound)")
    }
}
