/// An error carried as data: a stable code that programs match on and a
/// message for people. Codes are listed in docs/protocol.md.
public struct ProtocolError: Error, Codable, Sendable, Equatable, CustomStringConvertible {
    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// A stable error code. Unknown codes from a newer peer decode as themselves.
    public struct Code: RawRepresentable, Codable, Sendable, Hashable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(_ rawValue: String) { self.rawValue = rawValue }

        public init(from decoder: any Decoder) throws {
            rawValue = try decoder.singleValueContainer().decode(String.self)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(rawValue)
        }

        // Framing and message shape.
        public static let badJSON = Code("bad_json")
        public static let badUTF8 = Code("bad_utf8")
        public static let lineTooLong = Code("line_too_long")
        public static let badMessage = Code("bad_message")
        public static let unknownType = Code("unknown_type")
        public static let unknownOperation = Code("unknown_op")
        public static let missingField = Code("missing_field")
        public static let invalidField = Code("invalid_field")
        public static let duplicateID = Code("duplicate_id")
        // Session.
        public static let helloRequired = Code("hello_required")
        public static let authFailed = Code("auth_failed")
        public static let versionMismatch = Code("version_mismatch")
        public static let shuttingDown = Code("shutting_down")
        /// The listener has no slot for another connection now (too many
        /// waiting for their hello, or too many sessions): try again later.
        /// Also sync.scan's answer when another sync holds the destination past `waitMs`.
        public static let busy = Code("busy")
        /// resume: the agent has no session with that id (never had, or it ended).
        public static let unknownSession = Code("unknown_session")
        /// resume: the session exists but cannot be resumed (the message says why).
        public static let resumeFailed = Code("resume_failed")
        // Operations.
        public static let notFound = Code("not_found")
        public static let permissionDenied = Code("permission_denied")
        public static let exists = Code("exists")
        public static let notADirectory = Code("not_a_directory")
        public static let isADirectory = Code("is_a_directory")
        public static let notEmpty = Code("not_empty")
        public static let noSpace = Code("no_space")
        public static let readOnly = Code("read_only")
        public static let tooLarge = Code("too_large")
        public static let ioError = Code("io_error")
        public static let spawnFailed = Code("spawn_failed")
        public static let commandNotFound = Code("command_not_found")
        public static let noSuchRequest = Code("no_such_request")
        // Sync (docs/protocol.md, "Sync").
        public static let unsafePath = Code("unsafe_path")
        public static let badRoot = Code("bad_root")
        public static let digestMismatch = Code("digest_mismatch")
        /// sync.scan: a populated destination without the marker of an earlier sync, and no `adopt`.
        public static let notAdopted = Code("not_adopted")
        /// sync.apply: no such sync in this session (never scanned, or ended).
        public static let unknownSync = Code("unknown_sync")
        public static let internalError = Code("internal")
    }
}
