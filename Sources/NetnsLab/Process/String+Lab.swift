extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }

    var nilIfEmpty: String? { isEmpty ? nil : self }
}

extension String {
    /// Single-quoted for sh: any text becomes one word, taken literally.
    var shellQuoted: String { "'" + replacingOccurrences(of: "'", with: #"'\''"#) + "'" }
}
