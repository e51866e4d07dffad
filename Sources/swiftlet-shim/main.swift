import Glibc

// swiftlet-shim: one per container, as conmon is for CRI-O. It holds the container's stdout and
// stderr, writes them to the CRI log file, reaps the container's init and records how it ended,
// so containers outlive a restart of the agent. The agent starts it with stdout and stderr on a
// pipe and reads one report from it: whether `runc start` succeeded, or runc's error.

guard let options = ShimOptions.parse(CommandLine.arguments) else {
    Syscalls.writeAll(2, Array(ShimOptions.usage.utf8))
    exit(2)
}

signal(SIGPIPE, SIG_IGN)
signal(SIGHUP, SIG_IGN)

// Leave the agent's session and let the first process exit at once (the agent reaps it), so
// the shim lives on as an orphan that nothing waits for and that no signal to the agent's
// process group reaches.
setsid()
switch fork() {
case -1:
    Syscalls.writeAll(1, Array("create-failed\nswiftlet-shim: fork failed: errno \(errno)".utf8))
    exit(1)
case 0:
    break
default:
    _exit(0)
}

Shim(options: options).run()
