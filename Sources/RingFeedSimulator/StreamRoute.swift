import RingFeed

/// Where a WebSocket upgrade asks to go, as Binance lays out its endpoints:
/// raw `/ws[/<stream>[/<stream>...]]`, combined `/stream?streams=a/b/c`,
/// `timeUnit=MICROSECOND` (or `microsecond`) for µs times. USD-M futures
/// also answer under `/public` and `/market` (`/public/ws/...`,
/// `/market/stream?...`) besides the plain paths.
struct StreamRoute: Equatable {
    var combined: Bool
    var streams: [String]
    var timeUnit: TimeUnit

    enum Failure: Error, Equatable {
        /// Not a stream endpoint: 404.
        case notFound
        /// A stream endpoint with a bad stream or parameter: 400 and why.
        case badRequest(String)
    }

    static func parse(
        target: String, venue: Venue, serves: (String) -> Bool, maxStreams: Int
    ) -> Result<StreamRoute, Failure> {
        let request = HTTPServerRequest(method: "GET", target: target)
        var path = String(request.path)
        if venue == .usdmFutures {
            for prefix in ["/public", "/market"] where path.hasPrefix(prefix + "/") {
                path.removeFirst(prefix.count)
                break
            }
        }
        var route = StreamRoute(combined: false, streams: [], timeUnit: .millisecond)
        var names: [Substring] = []
        if path == "/ws" || path == "/ws/" {
            route.combined = false
        } else if path.hasPrefix("/ws/") {
            names = path.dropFirst(4).split(separator: "/")
        } else if path == "/stream" || path == "/stream/" {
            route.combined = true
        } else {
            return .failure(.notFound)
        }
        for (name, value) in request.query {
            switch name {
            case "streams" where route.combined:
                names += value.split(separator: "/")
            case "timeUnit":
                switch value {
                case "MICROSECOND", "microsecond": route.timeUnit = .microsecond
                case "MILLISECOND", "millisecond": route.timeUnit = .millisecond
                default: return .failure(.badRequest("Invalid request: invalid timeUnit \(value)"))
                }
            default:
                continue // Binance ignores parameters it does not know
            }
        }
        var seen = Set<String>()
        for n in names {
            let name = String(n)
            guard serves(name) else { return .failure(.badRequest("Invalid request: invalid stream \(name)")) }
            if seen.insert(name).inserted { route.streams.append(name) }
        }
        guard route.streams.count <= maxStreams else {
            return .failure(.badRequest("Invalid request: too many streams, at most \(maxStreams) per connection"))
        }
        return .success(route)
    }
}
