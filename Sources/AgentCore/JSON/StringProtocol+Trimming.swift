/// Whitespace trimming without Foundation: the core has no dependencies.
extension StringProtocol {
    /// The text without leading and trailing whitespace (spaces, tabs, CR, LF).
    public func trimmingWhitespace() -> String {
        let text = String(self)
        guard let start = text.firstIndex(where: { !$0.isWhitespace }),
              let end = text.lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return String(text[start...end])
    }
}
