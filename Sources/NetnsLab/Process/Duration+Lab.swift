import Foundation

extension Duration {
    /// "3.4 s": how reports print a duration.
    public var secondsText: String {
        String(format: "%.1f s", Double(components.seconds) + Double(components.attoseconds) / 1e18)
    }
}
