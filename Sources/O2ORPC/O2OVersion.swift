/// The version of this O2O release, the same for the server, the shell and the
/// client library (reported by `--version`, AdminService.GetServerInfo and the
/// agent of every connection).
public enum O2OVersion {
    public static let current = "0.1.0"
}
