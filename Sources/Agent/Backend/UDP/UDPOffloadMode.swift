import ArgumentParser

/// `--udp-offload`: whether the udp backend asks the kernel for TUN and UDP offloads.
public enum UDPOffloadMode: String, CaseIterable, Sendable, ExpressibleByArgument {
    /// TUN TSO with user-space segmentation, UDP_SEGMENT sends, UDP_GRO receives and
    /// coalescing: whatever the kernel takes, falling back step by step.
    case auto
    /// One packet per read and per send, as upstream flannel.
    case off
}
