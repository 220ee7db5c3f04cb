import Foundation

/// The per-slot timeline: one row per slot, one bar per attempt, coloured by status.
enum TimelineSVG {
    static let colors: [TestStatus: String] = [
        .passed: "#2da44e", .failed: "#cf222e", .skipped: "#afb8c1", .error: "#8250df", .timedOut: "#953800", .notRun: "#d0d7de",
    ]

    static func render(_ report: RunReport, width: Double = 1000) -> String {
        let label = 130.0, row = 22.0, axis = 24.0
        let slots = report.slots.isEmpty ? Array(Set(report.attempts.map(\.slot))).sorted() : report.slots
        let timed = report.attempts.filter { !$0.infrastructure }
        let origin = timed.map(\.start).min() ?? report.started
        let span = max(0.001, (timed.map(\.end).max() ?? origin).timeIntervalSince(origin))
        let plot = width - label - 28
        let height = Double(slots.count) * row + axis + 4
        var svg = "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\""
        svg += " viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"per-slot timeline\">\n"
        let rowOf = Dictionary(uniqueKeysWithValues: slots.enumerated().map { ($1, $0) })
        for (index, slot) in slots.enumerated() {
            let y = Double(index) * row
            svg += "<text x=\"4\" y=\"\(f(y + 15))\">\(XMLText.escape(slot.description))</text>\n"
            svg += "<rect x=\"\(f(label))\" y=\"\(f(y + 2))\" width=\"\(f(plot))\" height=\"\(f(row - 4))\" fill=\"#f6f8fa\"/>\n"
        }
        for attempt in timed {
            guard let index = rowOf[attempt.slot] else { continue }
            let x = label + attempt.start.timeIntervalSince(origin) / span * plot
            let w = max(1, attempt.duration / span * plot)
            let color = colors[attempt.status] ?? "#000"
            svg += "<rect class=\"test \(attempt.status.rawValue)\" data-test=\"\(XMLText.escape(attempt.name))\" x=\"\(f(x))\" y=\"\(f(Double(index) * row + 3))\""
            svg += " width=\"\(f(w))\" height=\"\(f(row - 6))\" fill=\"\(color)\" stroke=\"#fff\" stroke-width=\"0.5\">"
            svg += "<title>\(XMLText.escape(attempt.name)) — \(attempt.status.rawValue), \(String(format: "%.2f", attempt.duration))s"
            svg += " (attempt \(attempt.attempt))</title></rect>\n"
        }
        let axisY = Double(slots.count) * row + 14
        for tick in 0...5 {
            let x = label + Double(tick) / 5 * plot
            svg += "<text x=\"\(f(x))\" y=\"\(f(axisY))\" text-anchor=\"middle\">\(String(format: "%.1f", span * Double(tick) / 5))s</text>\n"
        }
        return svg + "</svg>"
    }

    static func f(_ value: Double) -> String { String(format: "%.1f", value) }
}
