import Foundation

/// An INI file in the format of `~/.aws/config` and `~/.aws/credentials`.
public struct AWSConfigFile: Sendable {
    /// Section name (as written between brackets, trimmed) → keys → values.
    public var sections: [String: [String: String]]
    public let path: String
    public let exists: Bool

    /// Loads `path`; a missing file is an empty one.
    public static func load(_ path: String) throws -> AWSConfigFile {
        guard FileManager.default.fileExists(atPath: path) else { return AWSConfigFile(sections: [:], path: path, exists: false) }
        do {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            return AWSConfigFile(sections: parse(text), path: path, exists: true)
        } catch {
            throw CredentialsError(.invalidConfiguration, "cannot read \(path): \(error.localizedDescription)")
        }
    }

    /// Parses INI text. Indented lines belong to a nested sub-section (as in `s3 =`) and are ignored.
    public static func parse(_ text: String) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current: String?
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = String(rawLine)
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            if trimmed.hasPrefix("[") && trimmed.hasSuffix("]") {
                let name = String(trimmed.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                current = name.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
                sections[current!, default: [:]] = sections[current!] ?? [:]
                continue
            }
            if line.first == " " || line.first == "\t" { continue }
            guard let current, let eq = trimmed.firstIndex(of: "=") else { continue }
            let key = trimmed[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            var value = trimmed[trimmed.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            // Inline comments need whitespace before the marker, as in botocore.
            for marker in [" #", " ;", "\t#", "\t;"] {
                if let r = value.range(of: marker) { value = value[..<r.lowerBound].trimmingCharacters(in: .whitespaces) }
            }
            sections[current]![key] = value
        }
        return sections
    }
}

/// One named profile merged from the config and credentials files.
public struct AWSProfile: Sendable {
    public let name: String
    /// Keys from `[profile NAME]` (or `[default]`) in config, overridden by `[NAME]` in credentials.
    public let values: [String: String]
    /// Where the values came from, for messages.
    public let origin: String

    public subscript(_ key: String) -> String? {
        guard let v = values[key], !v.isEmpty else { return nil }
        return v
    }
}

/// Both shared files of one environment.
public struct AWSProfileStore: Sendable {
    public let config: AWSConfigFile
    public let credentials: AWSConfigFile

    public init(environment: AWSEnvironment) throws {
        config = try AWSConfigFile.load(environment.configFilePath)
        credentials = try AWSConfigFile.load(environment.credentialsFilePath)
    }

    /// The merged profile, or nil when neither file names it.
    public func profile(_ name: String) -> AWSProfile? {
        let configSection = name == "default" ? (config.sections["default"] ?? config.sections["profile default"]) : config.sections["profile \(name)"]
        let credentialSection = credentials.sections[name]
        if configSection == nil && credentialSection == nil { return nil }
        var merged = configSection ?? [:]
        for (k, v) in credentialSection ?? [:] { merged[k] = v }
        var origins: [String] = []
        if credentialSection != nil { origins.append(credentials.path) }
        if configSection != nil { origins.append(config.path) }
        return AWSProfile(name: name, values: merged, origin: origins.joined(separator: " and "))
    }
}
