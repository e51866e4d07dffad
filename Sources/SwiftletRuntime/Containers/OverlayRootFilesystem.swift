import Foundation
import Glibc

/// The container's root: an overlay of the image's layer snapshots (read-only lower
/// directories, topmost first) under a writable upper directory in the bundle, mounted at
/// bundle/rootfs. The snapshots are never written: changes land in the upper directory and go
/// with the bundle. Mount points runc needs (for binds onto paths the image lacks) are created
/// there too, even with a read-only root, since runc remounts it read-only only afterwards.
enum OverlayRootFilesystem {
    static func mount(lowers: [String], bundle: ContainerBundle) throws(RuntimeError) {
        var lowers = lowers
        if lowers.isEmpty {
            // An image without layers: an empty directory stands for its root.
            lowers = [bundle.directory + "/empty"]
        }
        for directory in [bundle.upper, bundle.work, bundle.rootfs] + lowers.filter({ $0.hasPrefix(bundle.directory) }) {
            guard Glibc.mkdir(directory, 0o755) == 0 || errno == EEXIST else {
                throw RuntimeError(.system, "cannot create \(directory): \(LinuxCalls.errorText())")
            }
        }
        let data = "lowerdir=\(lowers.joined(separator: ":")),upperdir=\(bundle.upper),workdir=\(bundle.work)"
        // mount(2) takes one page of options; images with very many layers go through the new
        // mount API, which takes the lower directories one at a time.
        if data.utf8.count < 4000 {
            guard Glibc.mount("overlay", bundle.rootfs, "overlay", 0, data) == 0 else {
                throw RuntimeError(.system, "cannot mount the overlay root filesystem at \(bundle.rootfs): \(LinuxCalls.errorText())")
            }
        } else {
            try NewMountAPI.mountOverlay(lowers: lowers, upper: bundle.upper, work: bundle.work, at: bundle.rootfs)
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

/// fsopen/fsconfig/fsmount/move_mount (Linux 5.2, `lowerdir+` since 6.8), from the C library
/// by name: Swift's Glibc module leaves them out.
enum NewMountAPI {
    private typealias FsOpen = @convention(c) (UnsafePointer<CChar>, UInt32) -> Int32
    private typealias FsConfig = @convention(c) (Int32, UInt32, UnsafePointer<CChar>?, UnsafeRawPointer?, Int32) -> Int32
    private typealias FsMount = @convention(c) (Int32, UInt32, UInt32) -> Int32
    private typealias MoveMount = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
    private static let fsopen: FsOpen? = dlsym(nil, "fsopen").map { unsafeBitCast($0, to: FsOpen.self) }
    private static let fsconfig: FsConfig? = dlsym(nil, "fsconfig").map { unsafeBitCast($0, to: FsConfig.self) }
    private static let fsmount: FsMount? = dlsym(nil, "fsmount").map { unsafeBitCast($0, to: FsMount.self) }
    private static let moveMount: MoveMount? = dlsym(nil, "move_mount").map { unsafeBitCast($0, to: MoveMount.self) }

    static func mountOverlay(lowers: [String], upper: String, work: String, at target: String) throws(RuntimeError) {
        guard let fsopen, let fsconfig, let fsmount, let moveMount else {
            throw RuntimeError(.system, "the image has too many layers for mount(2), and the C library lacks fsopen")
        }
        let setString: UInt32 = 1  // FSCONFIG_SET_STRING
        let create: UInt32 = 6     // FSCONFIG_CMD_CREATE
        let context = fsopen("overlay", 1)  // FSOPEN_CLOEXEC
        guard context >= 0 else { throw failure("fsopen") }
        defer { close(context) }
        for lower in lowers {
            guard fsconfig(context, setString, "lowerdir+", lower, 0) == 0 else { throw failure("add the lower directory \(lower)") }
        }
        guard fsconfig(context, setString, "upperdir", upper, 0) == 0, fsconfig(context, setString, "workdir", work, 0) == 0,
              fsconfig(context, create, nil, nil, 0) == 0 else { throw failure("create the overlay") }
        let mounted = fsmount(context, 1, 0)  // FSMOUNT_CLOEXEC
        guard mounted >= 0 else { throw failure("fsmount") }
        defer { close(mounted) }
        guard moveMount(mounted, "", AT_FDCWD, target, 0x4) == 0 else { throw failure("move the overlay to \(target)") }  // MOVE_MOUNT_F_EMPTY_PATH
    }

    private static func failure(_ action: String) -> RuntimeError {
        RuntimeError(.system, "cannot mount the overlay root filesystem: \(action): \(LinuxCalls.errorText())")
    }
}
