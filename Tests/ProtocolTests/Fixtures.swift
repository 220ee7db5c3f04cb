import AgentProtocol
import Foundation

/// One instance of every request, reply and event, for round-trip tests.
enum Fixtures {
    static let requests: [RequestBody] = [
        .ping,
        .exec(ExecParams(argv: ["sh", "-c", "echo ü"], env: ["A": "1"], clearEnv: true, unsetEnv: ["B"], cwd: "/tmp",
                         stdin: Data([0, 255, 10]), timeoutMs: 5, killGraceMs: 1)),
        .exec(ExecParams(argv: ["true"])),
        .exec(ExecParams(argv: ["cat"], stdin: Data([1]), stdinStream: true)),
        .stdin(StdinParams(target: 4, data: Data([0, 10, 255]), eof: true)),
        .stdin(StdinParams(target: 4)),
        .cancel(CancelParams(target: 9, signal: 9, killGraceMs: 0)),
        .stat(StatParams(path: "/a b", noFollow: true)),
        .mkdir(MkdirParams(path: "/x/y", mode: 0o700)),
        .mkdir(MkdirParams(path: "/x/s", scratch: true)),
        .write(WriteParams(path: "/f", data: Data((0...255).map(UInt8.init)), mode: 0o600)),
        .read(ReadParams(path: "/f", offset: 3, length: 7)),
        .remove(RemoveParams(path: "/d", recursive: true, missingOK: true)),
        .chmod(ChmodParams(path: "/f", mode: 0o4755)),
        .chown(ChownParams(path: "/f", uid: 1000, gid: nil, noFollow: true)),
        .symlink(SymlinkParams(target: "../t", path: "/l")),
        .list(ListParams(path: "/")),
        .shutdown,
    ]

    static let info = FileInfo(name: "f", kind: .symlink, size: 12, mode: 0o644, uid: 1, gid: 2, mtimeNs: -5, target: "x")

    static let replies: [Result<ReplyBody, ProtocolError>] = [
        .success(.pong(PongResult(monotonicNs: 42))),
        .success(.exec(ExecResult(exitCode: 3, signal: nil, durationUs: 10))),
        .success(.exec(ExecResult(exitCode: nil, signal: 9, timedOut: true, cancelled: true, durationUs: 1))),
        .success(.cancel(CancelResult(pid: 77))),
        .success(.stdin(StdinResult(written: 3, closed: false))),
        .success(.stdin(StdinResult(written: 0, closed: true))),
        .success(.stat(info)),
        .success(.read(ReadResult(data: Data([1, 2, 3]), size: 99))),
        .success(.list(ListResult(entries: [info, FileInfo(name: "d", kind: .directory, size: 0, mode: 0o755, uid: 0, gid: 0, mtimeNs: 0)]))),
        .failure(ProtocolError(.notFound, "gone")),
        .failure(ProtocolError(ProtocolError.Code("future_code"), "from a newer agent")),
    ] + [Operation.mkdir, .write, .remove, .chmod, .chown, .symlink, .shutdown].map { .success(.done($0)) }

    static let events: [EventBody] = [
        .output(OutputEvent(stream: .stdout, data: Data("hello\n".utf8))),
        .output(OutputEvent(stream: .stderr, data: Data([0xff, 0xfe, 0x00]))),
    ]
}
