import Glibc

/// A pseudo-terminal pair opened through /dev/ptmx (Swift's Glibc module lacks posix_openpt,
/// grantpt and ptsname, so the ioctls they wrap are used directly).
struct PseudoTerminal {
    let master: Int32
    let slave: Int32

    init(width: UInt16, height: UInt16) throws(RuntimeError) {
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard master >= 0 else { throw RuntimeError(.execFailed, "cannot open /dev/ptmx: \(LinuxCalls.errorText())") }
        var unlock: Int32 = 0
        var number: UInt32 = 0
        guard ioctl(master, LinuxCalls.TIOCSPTLCK, &unlock) == 0, ioctl(master, LinuxCalls.TIOCGPTN, &number) == 0 else {
            close(master)
            throw RuntimeError(.execFailed, "cannot set up a pseudo-terminal: \(LinuxCalls.errorText())")
        }
        let slave = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard slave >= 0 else {
            close(master)
            throw RuntimeError(.execFailed, "cannot open /dev/pts/\(number): \(LinuxCalls.errorText())")
        }
        self.master = master
        self.slave = slave
        Self.resize(master, width: width, height: height)
        // runc puts this side in raw mode only once the process runs; input typed before that
        // must not be echoed or edited here as well as by the container's own terminal.
        var attributes = termios()
        if tcgetattr(slave, &attributes) == 0 {
            cfmakeraw(&attributes)
            _ = tcsetattr(slave, TCSANOW, &attributes)
        }
    }

    static func resize(_ fd: Int32, width: UInt16, height: UInt16) {
        var size = winsize(ws_row: height, ws_col: width, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(fd, UInt(TIOCSWINSZ), &size)
    }
}
