import ArgumentParser

/// What goes into a dev image besides the script: the same flags, with the same
/// defaults, for `bootstrap-linux-dev` and for `run-tests --dev-image`, so that
/// both compute one fingerprint and a run reuses the image the other built.
struct DevImageOptions: ParsableArguments, Sendable {
    @Option(help: ArgumentHelp("Comma-separated Pythons: 'system' for the distribution's python3, or pyenv versions (default: the script's list).", valueName: "list"))
    var pythons: String?

    @Option(name: .customLong("hg-version"), help: "The Mercurial release installed in /hgdev/venv-bootstrap (default: the script's).")
    var hgVersion: String?

    @Option(help: ArgumentHelp("Where /hgdev/src comes from: an hg URL to clone, or 'pypi' for the --hg-version release from PyPI (default: the canonical repository).", valueName: "url"))
    var src: String?

    func validate() throws {
        if let pythons, pythons.split(separator: ",", omittingEmptySubsequences: false).contains(where: { !BootstrapInputs.isPythonName($0) }) {
            throw ValidationError("--pythons takes 'system' or versions like 3.12.8, comma-separated; got '\(pythons)'")
        }
        if let hgVersion, !BootstrapInputs.isVersion(hgVersion) {
            throw ValidationError("--hg-version must look like 7.2.4, got '\(hgVersion)'")
        }
        if let src, src.isEmpty || src.contains("\n") { throw ValidationError("--src must be an hg URL or 'pypi'") }
    }

    func inputs(authorizedKey: String) -> BootstrapInputs {
        BootstrapInputs(authorizedKey: authorizedKey, pythons: pythons, hgVersion: hgVersion, src: src)
    }
}
