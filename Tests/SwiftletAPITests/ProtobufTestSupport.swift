@testable import SwiftletAPI
import SwiftletMachinery
import SwiftletTestSupport

extension PB {
    /// The decoded body as compact JSON, to compare member order as well as content.
    static func json(_ body: [UInt8]) throws -> String {
        JSONWriter.string(try KubernetesProtobuf.decode(body))
    }
}
