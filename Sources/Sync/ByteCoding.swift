/// Little-endian writer for the sync binary formats.
struct ByteWriter {
    var buffer: [UInt8] = []

    mutating func u8(_ v: UInt8) { buffer.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { buffer.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { buffer.append(contentsOf: $0) } }
    mutating func bytes(_ b: [UInt8]) { buffer.append(contentsOf: b) }
    mutating func bytes(_ b: UnsafeRawBufferPointer) { buffer.append(contentsOf: b) }
    /// A u32 length, then the bytes.
    mutating func blob(_ b: [UInt8]) {
        u32(UInt32(b.count))
        buffer.append(contentsOf: b)
    }
}

/// Bounds-checked reader: every length is checked against what is left.
struct ByteReader {
    let data: [UInt8]
    var offset = 0

    init(_ data: [UInt8]) { self.data = data }

    var atEnd: Bool { offset == data.count }
    var remaining: Int { data.count - offset }

    mutating func u8() throws(SyncError) -> UInt8 {
        guard remaining >= 1 else { throw Self.short }
        defer { offset += 1 }
        return data[offset]
    }

    mutating func u32() throws(SyncError) -> UInt32 {
        guard remaining >= 4 else { throw Self.short }
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(data[offset + i]) << (8 * UInt32(i)) }
        offset += 4
        return v
    }

    mutating func u64() throws(SyncError) -> UInt64 {
        guard remaining >= 8 else { throw Self.short }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(data[offset + i]) << (8 * UInt64(i)) }
        offset += 8
        return v
    }

    mutating func bytes(_ count: Int) throws(SyncError) -> [UInt8] {
        guard count >= 0, remaining >= count else { throw Self.short }
        defer { offset += count }
        return Array(data[offset..<(offset + count)])
    }

    mutating func blob() throws(SyncError) -> [UInt8] {
        let n = try u32()
        guard Int(n) <= remaining else { throw Self.short }
        return try bytes(Int(n))
    }

    mutating func path() throws(SyncError) -> SyncPath {
        let raw = try blob()
        guard let path = SyncPath(raw) else {
            throw SyncError(.unsafePath, "refusing path '\(SyncPath.printable(raw))': \(SyncPath.problem(raw) ?? "invalid")")
        }
        return path
    }

    mutating func linkTarget() throws(SyncError) -> [UInt8] {
        let raw = try blob()
        guard !raw.isEmpty, raw.count <= 4095, !raw.contains(0) else {
            throw SyncError(.badData, "a symlink target must be 1 to 4095 bytes without NUL")
        }
        return raw
    }

    static let short = SyncError(.badData, "truncated data")
}
