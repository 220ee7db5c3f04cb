import Foundation

/// Keeps a `DurationHistory` per project and runner as a JSON file under
/// `<state>/durations/<project>/<runner>.json`, replaced atomically.
public struct DurationStore: Sendable {
    /// The file this store reads and writes.
    public let path: URL

    /// A store under the state directory.
    public init(stateDirectory: URL, project: String, runner: String) {
        path = stateDirectory
            .appendingPathComponent("durations", isDirectory: true)
            .appendingPathComponent(Self.safe(project), isDirectory: true)
            .appendingPathComponent(Self.safe(runner) + ".json")
    }

    /// The stored history, or an empty one when there is none yet.
    public func load() throws -> DurationHistory {
        guard FileManager.default.fileExists(atPath: path.path) else { return DurationHistory() }
        let data = try Data(contentsOf: path)
        return try JSONDecoder().decode(File.self, from: data).tests
    }

    /// Writes the history (creating directories; atomic rename).
    public func save(_ history: DurationHistory) throws {
        try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(File(version: 1, tests: history)).write(to: path, options: .atomic)
    }

    struct File: Codable {
        var version: Int
        var tests: DurationHistory
    }

    /// A path component made of the name's safe characters.
    static func safe(_ name: String) -> String {
        let mapped = name.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" }
        let text = String(mapped).trimmingCharacters(in: CharacterSet(charactersIn: "."))
        return text.isEmpty ? "default" : text
    }
}
