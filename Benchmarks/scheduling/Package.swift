// swift-tools-version:6.1
// The scheduling benchmark: the real Scheduling sources (through a symlink,
// so the root package needs no benchmark target) driven by a table printer.
import PackageDescription

let package = Package(
    name: "scheduling-bench",
    targets: [
        .target(name: "Scheduling", path: "Sources/Scheduling"),
        .executableTarget(name: "SchedulingBench", dependencies: ["Scheduling"], path: "Sources/SchedulingBench"),
    ]
)
