/// The controller's version, shown by --version and sent in the hello.
public enum AutomationVersion {
    public static let current = "0.1.0"
}
