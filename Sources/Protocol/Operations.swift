import FoundationEssentials

/// Operation names as they appear on the wire in `op`.
public enum Operation: String, Sendable, CaseIterable, Codable {
    case ping
    case exec
    case cancel
    case stat = "fs.stat"
    case mkdir = "fs.mkdir"
    case write = "fs.write"
    case read = "fs.read"
    case remove = "fs.remove"
    case chmod = "fs.chmod"
    case chown = "fs.chown"
    case symlink = "fs.symlink"
    case list = "fs.list"
    case shutdown
    case stdin = "exec.stdin"
    case syncScan = "sync.scan"
    case syncApply = "sync.apply"
    /// Changes settings of the running agent (its idle timeout).
    case configure = "agent.configure"
}

/// What a request asks for.
public enum RequestBody: Sendable, Equatable {
    case ping
    case exec(ExecParams)
    case cancel(CancelParams)
    case stat(StatParams)
    case mkdir(MkdirParams)
    case write(WriteParams)
    case read(ReadParams)
    case remove(RemoveParams)
    case chmod(ChmodParams)
    case chown(ChownParams)
    case symlink(SymlinkParams)
    case list(ListParams)
    case shutdown
    case stdin(StdinParams)
    case syncScan(SyncScanParams)
    case syncApply(SyncApplyParams)
    case configure(ConfigureParams)

    public var operation: Operation {
        switch self {
        case .ping: .ping
        case .exec: .exec
        case .cancel: .cancel
        case .stat: .stat
        case .mkdir: .mkdir
        case .write: .write
        case .read: .read
        case .remove: .remove
        case .chmod: .chmod
        case .chown: .chown
        case .symlink: .symlink
        case .list: .list
        case .shutdown: .shutdown
        case .stdin: .stdin
        case .syncScan: .syncScan
        case .syncApply: .syncApply
        case .configure: .configure
        }
    }
}

/// A successful reply's payload; its shape follows the request's operation.
public enum ReplyBody: Sendable, Equatable {
    /// Operations with nothing to return: mkdir, write, remove, chmod, chown, symlink, shutdown, agent.configure.
    case done(Operation)
    case pong(PongResult)
    case exec(ExecResult)
    case cancel(CancelResult)
    case stat(FileInfo)
    case read(ReadResult)
    case list(ListResult)
    case stdin(StdinResult)
    case syncScan(SyncScanResult)
    case syncApply(SyncApplyResult)

    public var operation: Operation {
        switch self {
        case .done(let op): op
        case .pong: .ping
        case .exec: .exec
        case .cancel: .cancel
        case .stat: .stat
        case .read: .read
        case .list: .list
        case .stdin: .stdin
        case .syncScan: .syncScan
        case .syncApply: .syncApply
        }
    }
}

/// What an event reports.
public enum EventBody: Sendable, Equatable {
    /// A process was started (exec), with its pid.
    case started(StartedEvent)
    /// A chunk of a process's stdout or stderr.
    case output(OutputEvent)

    public var kind: String {
        switch self {
        case .started: "started"
        case .output: "output"
        }
    }
}

/// Empty parameters, for operations without any.
public struct NoParams: Codable, Sendable, Equatable {
    public init() {}
}

/// `agent.configure`: settings of the running agent, each optional.
public struct ConfigureParams: Codable, Sendable, Equatable {
    /// Seconds with no session before the agent exits (0: never), as
    /// `serve --idle-timeout`; 0 to 31536000.
    public var idleTimeoutSeconds: Int?
    public init(idleTimeoutSeconds: Int? = nil) { self.idleTimeoutSeconds = idleTimeoutSeconds }
}
