// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "RingFeed",
    products: [
        .library(name: "RingFeed", targets: ["RingFeed"]),
        .library(name: "CRingFeed", targets: ["CRingFeed"]),
        .library(name: "RingFeedSimulator", targets: ["RingFeedSimulator"]),
        .executable(name: "ringfeed", targets: ["ringfeed"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // The C core: the same sources `make lib` turns into libringfeed.a.
        .target(
            name: "CRingFeed",
            path: ".",
            sources: ["CSources/ringfeed"],
            publicHeadersPath: "include",
            cSettings: [
                .define("_GNU_SOURCE"),
                .headerSearchPath("CSources/ringfeed"),
            ],
            linkerSettings: [
                .linkedLibrary("uring"), .linkedLibrary("ssl"), .linkedLibrary("crypto"), .linkedLibrary("z"),
            ]
        ),
        .target(
            name: "RingFeed",
            dependencies: ["CRingFeed"],
            path: "Sources/RingFeed"
        ),
        // The Binance-compatible exchange simulator (`ringfeed simulate`, tests).
        .target(
            name: "RingFeedSimulator",
            dependencies: ["RingFeed", "CRingFeed"],
            path: "Sources/RingFeedSimulator"
        ),
        .executableTarget(
            name: "ringfeed",
            dependencies: [
                "RingFeed",
                "RingFeedSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/ringfeed"
        ),
        .testTarget(
            name: "RingFeedTests",
            dependencies: ["RingFeed", "RingFeedSimulator"],
            path: "Tests/RingFeedTests"
        ),
    ],
    swiftLanguageModes: [.v6]
)
