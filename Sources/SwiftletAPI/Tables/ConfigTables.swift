import Foundation
import SwiftletMachinery

/// Configuration objects: config maps, secrets and service accounts.
enum ConfigTables {
    static let configMap = TablePrinter(
        columns: [
            TableFormat.name,
            TableFormat.column(
                "Data", "string",
                "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process."
            ),
            TableFormat.age,
        ],
        cells: { configMap, now in
            let count = keys(configMap["data"]).count + keys(configMap["binaryData"]).count
            return [TableFormat.objectName(configMap), .int(Int64(count)), TableFormat.creationAge(configMap, now: now)]
        })

    static let secret = TablePrinter(
        columns: [
            TableFormat.name,
            TableFormat.column(
                "Type", "string",
                "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types"
            ),
            TableFormat.column(
                "Data", "string",
                "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4"
            ),
            TableFormat.age,
        ],
        cells: { secret, now in
            // Decoding a v1 Secret folds stringData into data, so its keys count too.
            let count = keys(secret["data"]).union(keys(secret["stringData"])).count
            return [
                TableFormat.objectName(secret), .string(TableFormat.text(secret["type"])), .int(Int64(count)),
                TableFormat.creationAge(secret, now: now),
            ]
        })

    /// Kubernetes 1.34 no longer shows a Secrets count for service accounts.
    static let serviceAccount = TablePrinter(
        columns: [TableFormat.name, TableFormat.age],
        cells: { account, now in [TableFormat.objectName(account), TableFormat.creationAge(account, now: now)] })

    private static func keys(_ map: JSONValue?) -> Set<String> { Set(map?.objectValue?.keys ?? []) }
}
