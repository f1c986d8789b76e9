/// Every object the lab creates carries this prefix, so `netns-lab clean` can sweep
/// exactly what the lab made and nothing else. The lab itself arrives with the udp issue.
public enum LabNames {
    public static let prefix = "fl"
}
