import Foundation

/// Options a user may put before the command name, as hgautomation's
/// `automation.py --aws-region R --state-path P COMMAND …` takes them.
///
/// ArgumentParser binds options to the command that declares them, so these are
/// taken out of argv before parsing and handed on through the environment
/// variables the same options already default from. An option written after the
/// command still wins, because a flag beats its environment variable.
enum LeadingGlobalOptions {
    /// Each option that may lead, and the variable that carries it.
    static let variables: [(option: String, variable: String)] = [
        ("--state-path", "AUTOMATION_STATE"),
        ("--aws-region", "AWS_REGION"),
    ]

    /// `arguments` (without the program name) with the leading global options removed,
    /// and the environment assignments they stand for.
    static func extract(_ arguments: [String]) throws -> (arguments: [String], environment: [String: String]) {
        var rest: [String] = []
        var environment: [String: String] = [:]
        var index = 0
        while index < arguments.count {
            let token = arguments[index]
            // The first word that is not an option is the command; everything from it on is its own.
            guard token.hasPrefix("-"), token != "--" else { break }
            let name = String(token.prefix { $0 != "=" })
            guard let variable = variables.first(where: { $0.option == name })?.variable else {
                rest.append(token)  // --help, --version: the root command's own.
                index += 1
                continue
            }
            let value: String
            if token.count > name.count {
                value = String(token.dropFirst(name.count + 1))
                index += 1
            } else {
                guard index + 1 < arguments.count else { throw UsageError("\(name) needs a value") }
                value = arguments[index + 1]
                index += 2
            }
            guard !value.isEmpty, !value.hasPrefix("-") else { throw UsageError("\(name) needs a value, not \"\(value)\"") }
            environment[variable] = value
        }
        return (rest + arguments[index...], environment)
    }
}
