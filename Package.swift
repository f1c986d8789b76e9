// swift-tools-version: 6.0
import PackageDescription

let strictSwift: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
]

let package = Package(
    name: "flannel-swift",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Agent", targets: ["Agent"]),
        .library(name: "Sim", targets: ["Sim"]),
        .library(name: "NetnsLab", targets: ["NetnsLab"]),
        .executable(name: "flanneld", targets: ["flanneld"]),
        .executable(name: "flannel-sim", targets: ["flannel-sim"]),
        .executable(name: "netns-lab", targets: ["netns-lab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // Kernel headers and libcap: the only C in the project.
        .target(
            name: "CLinuxShims",
            linkerSettings: [.linkedLibrary("cap")]
        ),
        // The agent: a pure core (Agent/Core) plus, later, the Linux plumbing.
        .target(
            name: "Agent",
            dependencies: [
                "CLinuxShims",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        // The deterministic world: in-memory etcd today; virtual hosts and links later.
        .target(
            name: "Sim",
            dependencies: ["Agent"],
            swiftSettings: strictSwift
        ),
        // Fake hosts from network namespaces (root only).
        .target(
            name: "NetnsLab",
            dependencies: ["Agent"],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "flanneld",
            dependencies: [
                "Agent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "flannel-sim",
            dependencies: [
                "Sim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "netns-lab",
            dependencies: [
                "NetnsLab",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "UnitTests",
            dependencies: ["Agent", "Sim"],
            path: "Tests/Unit",
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["Agent", "Sim", "NetnsLab"],
            path: "Tests/Integration",
            swiftSettings: strictSwift
        ),
    ]
)
