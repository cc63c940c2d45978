/// The release this build reports with `--version`.
public enum LifelineVersion {
    public static let string = "0.1.0"
}
