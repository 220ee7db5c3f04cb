import Foundation
import SSH

/// Rewrites where SSH connections go, from the file `$AUTOMATION_ADDRESS_MAP` names:
/// instances known by private addresses, hosts behind a port forward, and the
/// simulated cloud of deploy/testcloud, whose "public addresses" are loopback ports.
///
/// One mapping a line, `#` comments:
///
///     203.0.113.7        127.0.0.1:40022
///     10.0.1.5:2222      jump.example.net:2201
///
/// The left side is a target's host (any port) or `host:port`; the right side is
/// where to connect, with the target's port when none is given. Known hosts are
/// still checked under the left side's name, so a map cannot swap a host's key.
/// A last line `* reject` refuses every host the map does not name, so that a
/// simulated cloud's made-up public addresses are never tried for real.
public struct AddressMap: Sendable, Equatable {
    /// The environment variable naming the file.
    public static let variable = "AUTOMATION_ADDRESS_MAP"

    struct Entry: Sendable, Equatable {
        var host: String
        var port: Int?
        var toHost: String
        var toPort: Int?
    }

    private var entries: [Entry] = []
    /// `* reject`: hosts not in the map are refused instead of connected to directly.
    public private(set) var rejectsOthers = false

    public init() {}

    /// Parses a map's text; `source` names it in errors.
    public init(parsing text: String, source: String) throws {
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.prefix { $0 != "#" }.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty else { continue }
            let fields = line.split(whereSeparator: \.isWhitespace)
            func fail(_ why: String) -> UsageError { UsageError("\(source), line \(number + 1): \(why) (expected: HOST[:PORT] TO-HOST[:PORT])") }
            guard fields.count == 2 else { throw fail("two fields wanted, found \(fields.count)") }
            if fields[0] == "*" {
                guard fields[1] == "reject" else { throw fail("the only rule for * is \"* reject\"") }
                rejectsOthers = true
                continue
            }
            guard let from = Self.hostPort(fields[0]), let to = Self.hostPort(fields[1]) else {
                throw fail("cannot read \"\(line)\"; ports are 1-65535, IPv6 addresses go in brackets")
            }
            entries.append(Entry(host: from.host, port: from.port, toHost: to.host, toPort: to.port))
        }
    }

    /// The map named by `$AUTOMATION_ADDRESS_MAP`, or an empty one.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AddressMap {
        guard let path = environment[variable], !path.isEmpty else { return AddressMap() }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw UsageError("\(variable)=\(path): cannot read the address map (\((error as NSError).localizedDescription))")
        }
        return try AddressMap(parsing: text, source: "\(variable)=\(path)")
    }

    /// `endpoint` with `via` set when a line maps it; the first matching line wins,
    /// a `host:port` line before a bare `host` line regardless of order.
    public func apply(_ endpoint: SSHEndpoint) throws -> SSHEndpoint {
        let exact = entries.first { $0.host == endpoint.host && $0.port == endpoint.port }
        guard let entry = exact ?? entries.first(where: { $0.host == endpoint.host && $0.port == nil }) else {
            if rejectsOthers {
                throw SSHError(.connectFailed, "\(endpoint.host) is not in the address map, which rejects other hosts (\(Self.variable))")
            }
            return endpoint
        }
        var mapped = endpoint
        mapped.via = SSHEndpoint.Address(host: entry.toHost, port: entry.toPort ?? endpoint.port)
        return mapped
    }

    /// `host`, `host:port`, `[v6]` or `[v6]:port`.
    static func hostPort(_ text: Substring) -> (host: String, port: Int?)? {
        var host = text
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
        } else if let colon = text.firstIndex(of: ":") {
            guard text[text.index(after: colon)...].firstIndex(of: ":") == nil else { return nil }  // bare IPv6: needs brackets
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty else { return nil }
        guard let portText else { return (String(host), nil) }
        guard let port = Int(portText), (1...65535).contains(port) else { return nil }
        return (String(host), port)
    }
}
