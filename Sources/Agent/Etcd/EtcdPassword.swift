import FoundationEssentials

/// Where the etcd password comes from: `--etcd-password-file` (so no secret shows in `ps`),
/// `--etcd-password`, or `FLANNELD_ETCD_PASSWORD`. The command line wins over the
/// environment; a file and a password on the command line together are a mistake.
public enum EtcdPassword {
    public static func resolve(flag: String?, file: String?, environment: [String: String]) throws(EtcdClientSetupError) -> String? {
        if let file {
            guard flag == nil else {
                throw EtcdClientSetupError(option: "--etcd-password-file", "give one password, not two: --etcd-password-file, or --etcd-password (also set by FLANNELD_ETCD_PASSWORD, or FLANNEL_ETCD_PASSWORD in /etc/sysconfig/flanneld)")
            }
            guard let data = FileManager.default.contents(atPath: file) else {
                let reason = FileManager.default.fileExists(atPath: file) ? "is not readable by this user" : "does not exist"
                throw EtcdClientSetupError(option: "--etcd-password-file", "\(file) \(reason)")
            }
            let text = String(decoding: data, as: UTF8.self)
            // The first line, without its line break: `echo secret > file` must work.
            // "\r\n" is one Character: split on any line break, CRLF files included.
            let password = text.split(maxSplits: 1, omittingEmptySubsequences: false, whereSeparator: \.isNewline).first ?? ""
            guard !password.isEmpty else {
                throw EtcdClientSetupError(option: "--etcd-password-file", "\(file) is empty; put the password on its first line")
            }
            return String(password)
        }
        return flag ?? environment["FLANNELD_ETCD_PASSWORD"]
    }
}
