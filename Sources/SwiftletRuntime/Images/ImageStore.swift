import Foundation

/// Resolves image references for the runtime: first the node's local image store, then the
/// built-in catalog. Pulling from registries comes later; it will fill the local store.
///
/// The local store keeps one folder per image name under `directory`, named by the reference
/// with `/` and `:` replaced (`docker.io_library_alpine_3.20`), holding `config.json` (the
/// subset of an OCI image config that `ImageConfig` has) and `rootfs/`, an unpacked root.
public struct ImageStore: Sendable {
    public let directory: String
    public let builtIn: BuiltInImages

    public init(directory: String, builtIn: BuiltInImages) {
        self.directory = directory
        self.builtIn = builtIn
    }

    public enum ResolveError: Error, Equatable, Sendable {
        case invalidReference(String)
        case notFound(String)

        /// The container's waiting message, as the kubelet words a failed pull.
        public var message: String {
            switch self {
            case .invalidReference(let image):
                return "Failed to apply default image tag \"\(image)\": couldn't parse image name \"\(image)\": invalid reference format"
            case .notFound(let image):
                return "failed to pull and unpack image \"\(image)\": image not found in the node's local store or Swiftlet's built-in catalog (pulling from registries is not supported yet)"
            }
        }
    }

    public func resolve(_ image: String) -> Result<ImageConfig, ResolveError> {
        guard let reference = ImageReference(image) else { return .failure(.invalidReference(image)) }
        if let local = localImage(reference) { return .success(local) }
        if let builtIn = builtIn.image(for: reference) { return .success(builtIn) }
        return .failure(.notFound(reference.description))
    }

    private func localImage(_ reference: ImageReference) -> ImageConfig? {
        let folder = directory + "/" + reference.description.map { $0 == "/" || $0 == ":" || $0 == "@" ? "_" : $0 }.reduce("") { $0 + String($1) }
        guard let data = FileManager.default.contents(atPath: folder + "/config.json"),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        let config = json["config"] as? [String: Any] ?? json
        return ImageConfig(
            reference: reference.description,
            id: json["id"] as? String ?? "\(reference.name)@local",
            entrypoint: config["Entrypoint"] as? [String] ?? [],
            cmd: config["Cmd"] as? [String] ?? [],
            env: config["Env"] as? [String] ?? [],
            workingDir: (config["WorkingDir"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? "/",
            rootfs: folder + "/rootfs")
    }
}
