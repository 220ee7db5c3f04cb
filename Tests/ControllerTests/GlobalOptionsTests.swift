@testable import AutomationKit
import Foundation
import Testing

/// Options before the command name (hgautomation's habit) and duration flags at their limits.
@Suite("leading global options and durations")
struct GlobalOptionsTests {
    @Test func leadingOptionsBecomeEnvironmentAndLeaveTheCommandAlone() throws {
        let result = try LeadingGlobalOptions.extract(
            ["--aws-region", "eu-west-1", "--state-path=/tmp/s", "aws", "launch", "--state-path", "/tmp/later", "--count", "2"])
        #expect(result.environment == ["AWS_REGION": "eu-west-1", "AUTOMATION_STATE": "/tmp/s"])
        // The command's own options, including a later --state-path that wins, stay where they are.
        #expect(result.arguments == ["aws", "launch", "--state-path", "/tmp/later", "--count", "2"])
    }

    @Test func rootOptionsAndArgumentsAfterTheCommandAreUntouched() throws {
        #expect(try LeadingGlobalOptions.extract(["--version"]).arguments == ["--version"])
        #expect(try LeadingGlobalOptions.extract(["--help", "exec"]).arguments == ["--help", "exec"])
        let exec = try LeadingGlobalOptions.extract(["exec", "--", "echo", "--aws-region", "x"])
        #expect(exec.arguments == ["exec", "--", "echo", "--aws-region", "x"])
        #expect(exec.environment.isEmpty)
    }

    @Test func aLeadingOptionWithoutAValueIsAUsageError() {
        #expect(throws: UsageError.self) { try LeadingGlobalOptions.extract(["--state-path"]) }
        #expect(throws: UsageError.self) { try LeadingGlobalOptions.extract(["--aws-region", "--state-path", "x", "exec"]) }
        #expect(throws: UsageError.self) { try LeadingGlobalOptions.extract(["--aws-region=", "exec"]) }
    }

    @Test func durationsAreBoundedAndNeverOverflow() throws {
        #expect(try DurationParser.parse("1h30m", flag: "--ttl") == .seconds(5400))
        #expect(try DurationParser.parse("90", flag: "--ttl") == .seconds(90))
        #expect(try DurationParser.parse("366d", flag: "--ttl") == .seconds(366 * 86400))
        for text in ["367d", "9223372036854775807d", "99999999999999999999s", "106751991167300d", "300000000s", "366d1s", "31622401"] {
            #expect(throws: (any Error).self, "\(text)") { try DurationParser.parse(text, flag: "--ttl") }
        }
        for text in ["", "0", "-5", "1e3", "h", "5x", "٣h", "1.5h"] {
            #expect(throws: (any Error).self, "\(text)") { try DurationParser.parse(text, flag: "--ttl") }
        }
    }
}
