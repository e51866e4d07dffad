import Foundation
import Glibc

/// The container's root: an overlay of the image's lower directory (the host's `/` for the
/// built-in images) under a writable upper directory in the bundle, mounted at bundle/rootfs.
/// The host's files are never written: changes land in the upper directory and go with the
/// bundle. Mount points runc needs (for binds onto paths the lower layer lacks) are created
/// there too, even with a read-only root, since runc remounts it read-only only afterwards.
enum OverlayRootFilesystem {
    static func mount(lower: String, bundle: ContainerBundle, symlinks: [String: String] = [:]) throws(RuntimeError) {
        for directory in [bundle.upper, bundle.work, bundle.rootfs] {
            guard Glibc.mkdir(directory, 0o755) == 0 || errno == EEXIST else {
                throw RuntimeError(.system, "cannot create \(directory): \(LinuxCalls.errorText())")
            }
        }
        // Written into the upper layer before the mount, they shadow whatever the lower has there.
        for (path, target) in symlinks.sorted(by: { $0.key < $1.key }) where path.hasPrefix("/") && !path.contains("..") {
            let link = bundle.upper + path
            try? FileManager.default.createDirectory(atPath: (link as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            guard symlink(target, link) == 0 || errno == EEXIST else {
                throw RuntimeError(.system, "cannot create the link \(path) -> \(target): \(LinuxCalls.errorText())")
            }
        }
        let data = "lowerdir=\(lower),upperdir=\(bundle.upper),workdir=\(bundle.work)"
        guard Glibc.mount("overlay", bundle.rootfs, "overlay", 0, data) == 0 else {
            throw RuntimeError(.system, "cannot mount the overlay root filesystem at \(bundle.rootfs): \(LinuxCalls.errorText())")
        }
    }

    /// Unmounts everything stacked on `rootfs`; returns whether it is no longer a mount point.
    /// A busy mount is detached (it goes away once its last user does).
    @discardableResult
    static func unmount(_ rootfs: String) -> Bool {
        for _ in 0..<8 {
            guard isMountPoint(rootfs) else { return true }
            if umount2(rootfs, 0) != 0, errno == EBUSY { umount2(rootfs, Int32(MNT_DETACH)) }
        }
        return !isMountPoint(rootfs)
    }

    /// A directory on another device than its parent is a mount point (an overlay always gets
    /// its own device number).
    static func isMountPoint(_ path: String) -> Bool {
        var own = stat()
        var parent = stat()
        guard stat(path, &own) == 0, stat(path + "/..", &parent) == 0 else { return false }
        return own.st_dev != parent.st_dev
    }
}
