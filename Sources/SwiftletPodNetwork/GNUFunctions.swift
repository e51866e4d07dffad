#if canImport(Glibc)
import Glibc
#endif

/// C library functions that Swift's Glibc module leaves out because they are _GNU_SOURCE extensions, looked up at
/// run time.
enum GNUFunctions {
    static let setns: (@convention(c) (Int32, Int32) -> Int32)? = lookUp("setns")

    static let cloneNewNet: Int32 = 0x4000_0000

    private static func lookUp<Function>(_ name: String) -> Function? {
        let library = dlopen(nil, RTLD_NOW)
        return dlsym(library, name).map { unsafeBitCast($0, to: Function.self) }
    }
}
