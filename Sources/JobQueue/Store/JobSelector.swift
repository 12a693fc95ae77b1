/// Which jobs a cancel applies to.
public enum JobSelector: Sendable {
    case ids([String])
    case batch(String)
    case lane(String)
}
