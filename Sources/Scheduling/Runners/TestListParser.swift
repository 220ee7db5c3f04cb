import Foundation

/// Reads the test lists that runners print.
public enum TestListParser {
    /// `--list-command` output: one name per line, blank lines and `#` comments ignored.
    public static func plain(_ output: String) -> [String] {
        output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    /// `run-tests.py --list-tests`: test names (`test-foo.t`, `test-foo.t#case`, `test-bar.py`).
    public static func mercurial(_ output: String) -> [String] {
        plain(output).filter { $0.hasPrefix("test-") && !$0.contains(" ") }
    }

    /// `pytest --collect-only -q`: node ids (`path::name[param]`) up to the blank line before the count.
    public static func pytest(_ output: String) -> [String] {
        var names: [String] = []
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            let text = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty && !names.isEmpty { break }
            if text.contains("::") { names.append(text) }
        }
        return names
    }
}
