import RingFeed

/// The REST side of the simulator, next to the streams on the same port:
/// `GET /api/v3/depth` and `/api/v3/exchangeInfo` (USD-M futures:
/// `/fapi/v1/...`) as Binance answers them, errors included
/// ({"code":-1121,"msg":"Invalid symbol."} with HTTP 400), plus the
/// simulator's own control endpoints under `/sim/`.
enum RESTRoutes {
    static func binanceError(_ code: Int, _ msg: String, status: Int = 400) -> HTTPServerResponse {
        .json(status, "{\"code\":\(code),\"msg\":\(JSONText.quoted(msg))}")
    }

    /// Answers a market-data request, or nil when the path is not one.
    static func market(_ request: HTTPServerRequest, source: any MarketSource) -> HTTPServerResponse? {
        let prefix = source.venue == .spot ? "/api/v3/" : "/fapi/v1/"
        let path = request.path
        guard path.hasPrefix(prefix) else { return nil }
        let query = request.query
        func param(_ name: String) -> String? { query.first { $0.name == name }?.value }
        switch path.dropFirst(prefix.count) {
        case "depth":
            guard let symbol = param("symbol"), !symbol.isEmpty else {
                return binanceError(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
            }
            let limit: Int
            switch depthLimit(param("limit"), venue: source.venue) {
            case let .success(l): limit = l
            case let .failure(e): return e.response
            }
            guard symbol == symbol.uppercased(), let body = source.depthSnapshot(symbol: symbol, limit: limit) else {
                return binanceError(-1121, "Invalid symbol.")
            }
            return .json(200, body)
        case "exchangeInfo":
            var wanted: [String]?
            if let one = param("symbol") {
                wanted = [one]
            } else if let list = param("symbols") {
                guard case let .array(items)? = try? JSONParser.parse(Array(list.utf8)), !items.isEmpty else {
                    return binanceError(-1100, "Illegal characters found in parameter 'symbols'; legal range is '^\\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\\]$'.")
                }
                var names: [String] = []
                for case let .string(s) in items { names.append(s) }
                guard names.count == items.count else { return binanceError(-1100, "Illegal characters found in parameter 'symbols'.") }
                wanted = names
            }
            if let wanted {
                let known = Set(source.symbols)
                guard wanted.allSatisfy({ known.contains($0) }) else { return binanceError(-1121, "Invalid symbol.") }
            }
            return .json(200, source.exchangeInfo(symbols: wanted))
        default:
            return nil
        }
    }

    /// The request weight Binance charges (0 for paths it does not serve).
    /// Spot `GET /api/v3/depth`: limit 1-100: 5, 101-500: 25, 501-1000: 50,
    /// 1001-5000: 250; exchangeInfo: 20. USD-M futures `GET /fapi/v1/depth`:
    /// 5, 10, 20, 50: 2; 100: 5; 500: 10; 1000: 20; exchangeInfo: 1. A
    /// limit the exchange refuses costs what the default limit costs.
    /// (The client's table is `WeightBudget`'s; a test holds them equal.)
    static func weight(_ request: HTTPServerRequest, venue: Venue) -> Int {
        let prefix = venue == .spot ? "/api/v3/" : "/fapi/v1/"
        let path = request.path
        guard path.hasPrefix(prefix) else { return 0 }
        switch path.dropFirst(prefix.count) {
        case "depth":
            let text = request.query.first { $0.name == "limit" }?.value
            let limit = (try? depthLimit(text, venue: venue).get()) ?? (venue == .spot ? 100 : 500)
            return depthWeight(limit: limit, venue: venue)
        case "exchangeInfo":
            return venue == .spot ? 20 : 1
        default:
            return 0
        }
    }

    static func depthWeight(limit: Int, venue: Venue) -> Int {
        if venue == .spot {
            if limit <= 100 { return 5 }
            if limit <= 500 { return 25 }
            if limit <= 1000 { return 50 }
            return 250
        }
        if limit <= 50 { return 2 }
        if limit <= 100 { return 5 }
        if limit <= 500 { return 10 }
        return 20
    }

    /// 429: over the weight limit (or told to be by a fault).
    static func tooManyRequests(limit: Int, window: Duration, ip: String) -> HTTPServerResponse {
        binanceError(-1003, "Too many requests; current limit of IP(\(ip)) request weight per \(interval(window)) is \(limit). "
                     + "Please use WebSocket Streams for live updates to avoid polling the API.", status: 429)
    }

    /// 418: the IP is banned until `untilMillis` (Unix ms).
    static func banned(untilMillis: Int64) -> HTTPServerResponse {
        binanceError(-1003, "Way too much request weight used; IP banned until \(untilMillis). "
                     + "Please use WebSocket Streams for live updates to avoid bans.", status: 418)
    }

    /// "1 MINUTE" as Binance writes its limit intervals; a scaled-down
    /// window that is not whole minutes in seconds ("2 SECOND").
    static func interval(_ d: Duration) -> String {
        let s = d.components.seconds
        if s > 0 && s % 60 == 0 && d.components.attoseconds == 0 { return "\(s / 60) MINUTE" }
        return "\(max(1, s)) SECOND"
    }

    struct LimitError: Error { var response: HTTPServerResponse }

    /// Spot: default 100, at most 5000 (larger values are cut to 5000, as the
    /// exchange does). USD-M futures: default 500, one of 5, 10, 20, 50,
    /// 100, 500, 1000.
    static func depthLimit(_ text: String?, venue: Venue) -> Result<Int, LimitError> {
        guard let text else { return .success(venue == .spot ? 100 : 500) }
        guard !text.isEmpty, text.utf8.count <= 20, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            return .failure(LimitError(response: binanceError(-1100, "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'.")))
        }
        let value = Int(text) ?? Int.max
        if venue == .spot {
            guard value >= 1 else {
                return .failure(LimitError(response: binanceError(-1100, "Illegal characters found in parameter 'limit'; legal range is '1-5000'.")))
            }
            return .success(min(value, 5000))
        }
        let valid = [5, 10, 20, 50, 100, 500, 1000]
        guard valid.contains(value) else {
            return .failure(LimitError(response: binanceError(-1130, "Invalid data sent for a parameter.")))
        }
        return .success(value)
    }
}
