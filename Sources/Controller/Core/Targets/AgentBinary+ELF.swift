import Foundation

extension AgentBinary {
    /// What the agent executable's ELF header says about where it can run.
    struct ELFInfo: Equatable, Sendable {
        /// `e_machine`: 62 x86_64, 183 aarch64, …
        var machine: UInt16
        /// The program interpreter (PT_INTERP), e.g. /lib64/ld-linux-x86-64.so.2; nil when static.
        var interpreter: String?

        /// The machine's usual name (`uname -m` spelling where there is one).
        var machineName: String {
            switch machine {
            case 3: "i386"
            case 40: "arm"
            case 62: "x86_64"
            case 183: "aarch64"
            case 243: "riscv64"
            default: "ELF machine \(machine)"
            }
        }
    }

    /// Reads the ELF header and program headers of `path`; nil when it is not a 64-bit
    /// little-endian ELF file (the only kind deploy/build-agent.sh makes).
    static func elfInfo(atPath path: String) throws -> ELFInfo? {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw UsageError("cannot read the agent executable \(path)")
        }
        defer { try? handle.close() }
        let header = [UInt8](try handle.read(upToCount: 64) ?? Data())
        guard header.count == 64, header.starts(with: [0x7F, 0x45, 0x4C, 0x46]), header[4] == 2, header[5] == 1 else { return nil }
        func u16(_ bytes: [UInt8], _ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u64(_ bytes: [UInt8], _ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * $1) } }
        let machine = UInt16(u16(header, 18))
        let phoff = u64(header, 32), phentsize = u16(header, 54), phnum = u16(header, 56)
        // Program headers are 56 bytes in ELF64; a header promising more than 64 KiB of them is not one we read.
        guard phentsize >= 56, phnum * phentsize <= 65536, phoff <= 1 << 40 else { return ELFInfo(machine: machine, interpreter: nil) }
        try handle.seek(toOffset: phoff)
        let table = [UInt8](try handle.read(upToCount: phnum * phentsize) ?? Data())
        let ptInterp: UInt32 = 3
        for index in 0..<phnum where (index + 1) * phentsize <= table.count {
            let base = index * phentsize
            let type = UInt32(u16(table, base)) | UInt32(u16(table, base + 2)) << 16
            guard type == ptInterp else { continue }
            let offset = u64(table, base + 8), size = min(u64(table, base + 32), 4096)
            try handle.seek(toOffset: offset)
            let bytes = (try handle.read(upToCount: Int(size)) ?? Data()).prefix { $0 != 0 }
            return ELFInfo(machine: machine, interpreter: String(decoding: bytes, as: UTF8.self))
        }
        return ELFInfo(machine: machine, interpreter: nil)
    }

    /// Refuses to send a dynamically linked agent (a `swift build` one) to another host:
    /// it needs the Swift runtime and this machine's libraries there, and would fail only
    /// once started. The fully static one (deploy/build-agent.sh) runs on any Linux of its
    /// architecture.
    static func requireStatic(_ path: String) throws {
        guard let info = try elfInfo(atPath: path), let interpreter = info.interpreter else { return }
        throw UsageError("""
            the agent executable \(path) is dynamically linked (it needs \(interpreter) and the Swift runtime \
            libraries), so it would not start on a host without this machine's Swift toolchain; \
            automation uploads only a statically linked agent. Build it with deploy/build-agent.sh \
            (it prints the path) and pass that as --agent-binary or $AUTOMATION_AGENT_BINARY \
            (./automation does this for you)
            """)
    }
}
