import Foundation

/// Runs a profile's `credential_process` and reads the JSON it prints (Version 1 format).
struct ProcessCredentialsProvider {
    let command: String
    let profile: String

    func credentials() async throws -> AWSCredentials {
        let argv = Self.split(command)
        guard !argv.isEmpty else { throw CredentialsError(.processFailed, "profile \(profile): credential_process is empty") }
        let profile = profile
        let command = command
        let (status, output, errorOutput) = try await OffPool.run("automation.credential-process") { () throws -> (Int32, Data, Data) in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: argv[0].contains("/") ? argv[0] : "/usr/bin/env")
            process.arguments = argv[0].contains("/") ? Array(argv.dropFirst()) : argv
            let out = Pipe()
            let err = Pipe()
            process.standardOutput = out
            process.standardError = err
            do {
                try process.run()
            } catch {
                throw CredentialsError(.processFailed, "profile \(profile): cannot start credential_process `\(command)`: \(error.localizedDescription)")
            }
            let outData = out.fileHandleForReading.readDataToEndOfFile()
            let errText = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, outData, errText)
        }
        guard status == 0 else {
            let detail = String(decoding: errorOutput, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw CredentialsError(.processFailed, "profile \(profile): credential_process `\(command)` exited with status \(status)\(detail.isEmpty ? "" : ": \(detail)")")
        }
        guard let object = try? JSONSerialization.jsonObject(with: output) as? [String: Any],
              let key = object["AccessKeyId"] as? String, let secret = object["SecretAccessKey"] as? String else {
            throw CredentialsError(.processFailed, "profile \(profile): credential_process `\(command)` did not print JSON with AccessKeyId and SecretAccessKey")
        }
        if let version = object["Version"] as? Int, version != 1 {
            throw CredentialsError(.processFailed, "profile \(profile): credential_process printed Version \(version); only Version 1 is supported")
        }
        return AWSCredentials(accessKeyId: key, secretAccessKey: secret, sessionToken: object["SessionToken"] as? String,
                              expiration: (object["Expiration"] as? String).flatMap(ISO8601.parse), source: "credential_process of profile \(profile)")
    }

    /// Splits a command line like a POSIX shell would for words and quotes, without running a shell.
    static func split(_ line: String) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for ch in line {
            if escaped { current.append(ch); escaped = false; inWord = true; continue }
            if ch == "\\" && quote != "'" { escaped = true; continue }
            if let q = quote {
                if ch == q { quote = nil } else { current.append(ch) }
                continue
            }
            if ch == "'" || ch == "\"" { quote = ch; inWord = true; continue }
            if ch.isWhitespace {
                if inWord { words.append(current); current = ""; inWord = false }
                continue
            }
            current.append(ch)
            inWord = true
        }
        if inWord { words.append(current) }
        return words
    }
}
