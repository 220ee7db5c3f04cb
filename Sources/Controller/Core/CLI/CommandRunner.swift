import ArgumentParser
import Foundation
import Logging
import SSH

/// Runs a command body and turns failures into a message on stderr and a
/// documented exit code, never a stack trace.
enum CommandRunner {
    static func run(logger: Logger, _ body: () async throws -> Int32) async throws {
        let code: Int32
        do {
            code = try await body()
        } catch let error as UsageError {
            report(error.message)
            code = ExitCodes.usage
        } catch let error as AgentClientError {
            report(error.description)
            code = error.isInfrastructure ? ExitCodes.infrastructure : ExitCodes.remoteError
        } catch let error as SSHError where error.code == .sftpFailed {
            // The host answered: the file is missing or not ours to touch.
            report(error.description)
            code = ExitCodes.remoteError
        } catch let error as ExitCode {
            throw error
        } catch let error as CleanExit {
            throw error
        } catch {
            report("\(error)")
            code = ExitCodes.infrastructure
        }
        if code != 0 { throw ExitCode(code) }
    }

    static func report(_ message: String) {
        FileHandle.standardError.write(Data("automation: error: \(message)\n".utf8))
    }
}

/// Writes all bytes to a descriptor (stdout/stderr), retrying short writes.
func writeAll(_ fd: Int32, _ bytes: some Collection<UInt8>) {
    let array = Array(bytes)
    var offset = 0
    while offset < array.count {
        let n = array.withUnsafeBytes { raw in write(fd, raw.baseAddress! + offset, raw.count - offset) }
        if n < 0 {
            if errno == EINTR { continue }
            return
        }
        offset += n
    }
}
