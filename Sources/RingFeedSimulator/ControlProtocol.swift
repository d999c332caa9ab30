import RingFeed

/// Binance's control messages on a market-stream connection: SUBSCRIBE,
/// UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY and GET_PROPERTY, with the
/// exchange's answers and error codes:
///
/// - 0 unknown property
/// - 1 invalid value type (SET_PROPERTY wants a Boolean)
/// - 2 invalid request (unknown method, bad id, too many parameters,
///   invalid stream name, stream limit ...)
/// - 3 invalid JSON
///
/// Pure logic over a connection's `StreamSubscriptions`, so it is tested
/// without a socket.
struct StreamSubscriptions {
    /// Streams in the order they were subscribed.
    private(set) var streams: [String] = []
    private var set: Set<String> = []
    /// Whether payloads are wrapped as {"stream":..,"data":..}.
    var combined: Bool

    init(combined: Bool) { self.combined = combined }

    var count: Int { streams.count }
    func contains(_ s: String) -> Bool { set.contains(s) }

    /// Adds what is new; returns the names actually added.
    mutating func add(_ names: [String]) -> [String] {
        var added: [String] = []
        for n in names where set.insert(n).inserted {
            streams.append(n)
            added.append(n)
        }
        return added
    }

    /// Removes what is there; returns the names actually removed.
    mutating func remove(_ names: [String]) -> [String] {
        let gone = names.filter { set.remove($0) != nil }
        if !gone.isEmpty {
            let g = Set(gone)
            streams.removeAll { g.contains($0) }
        }
        return gone
    }

    /// How many of `names` are not subscribed yet (duplicates counted once).
    func newCount(_ names: [String]) -> Int { Set(names).subtracting(set).count }
}

/// What one control message did.
struct ControlOutcome {
    /// The JSON answer to send back.
    var answer: String
    var subscribed: [String] = []
    var unsubscribed: [String] = []
}

enum ControlProtocol {
    static let methods = ["SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY"]

    /// Handles one text message from a client.
    static func handle(
        _ message: some Collection<UInt8>,
        subscriptions: inout StreamSubscriptions,
        serves: (String) -> Bool,
        maxStreams: Int
    ) -> ControlOutcome {
        let request: JSONValue
        do {
            request = try JSONParser.parse(message)
        } catch {
            return ControlOutcome(answer: failure(3, "Invalid JSON: expected \(error.expected) at line \(error.line) column \(error.column)", id: "null"))
        }
        guard case let .object(members) = request else {
            return ControlOutcome(answer: failure(2, "Invalid request: expected a JSON object", id: "null"))
        }
        var seen = Set<String>()
        for (k, _) in members where !seen.insert(k).inserted {
            return ControlOutcome(answer: failure(2, "Invalid request: duplicate field `\(k)`", id: "null"))
        }
        // The id first: every other answer echoes it.
        guard let idValue = request["id"], let id = echoedID(idValue) else {
            return ControlOutcome(answer: failure(2, "Invalid request: request ID must be an unsigned integer", id: "null"))
        }
        guard let methodValue = request["method"] else {
            return ControlOutcome(answer: failure(2, "Invalid request: missing field `method`", id: id))
        }
        guard case let .string(method) = methodValue, methods.contains(method) else {
            let shown: String
            if case let .string(m) = methodValue { shown = "`\(m)`" } else { shown = "value" }
            return ControlOutcome(answer: failure(
                2, "Invalid request: unknown variant \(shown), expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`",
                id: id))
        }
        var params: [JSONValue] = []
        switch request["params"] {
        case nil, .null?: break
        case let .array(p)?: params = p
        default: return ControlOutcome(answer: failure(2, "Invalid request: params must be an array", id: id))
        }

        switch method {
        case "SUBSCRIBE", "UNSUBSCRIBE":
            var names: [String] = []
            for p in params {
                guard case let .string(name) = p, serves(name) else {
                    return ControlOutcome(answer: failure(2, "Invalid request: invalid stream", id: id))
                }
                names.append(name)
            }
            if method == "UNSUBSCRIBE" {
                let gone = subscriptions.remove(names)
                return ControlOutcome(answer: success("null", id: id), unsubscribed: gone)
            }
            // All or nothing: a request that would pass the limit subscribes nothing.
            if subscriptions.count + subscriptions.newCount(names) > maxStreams {
                return ControlOutcome(answer: failure(
                    2, "Invalid request: too many streams, at most \(maxStreams) per connection", id: id))
            }
            let added = subscriptions.add(names)
            return ControlOutcome(answer: success("null", id: id), subscribed: added)
        case "LIST_SUBSCRIPTIONS":
            guard params.isEmpty else { return ControlOutcome(answer: failure(2, "Invalid request: too many parameters", id: id)) }
            let list = "[" + subscriptions.streams.map(JSONText.quoted).joined(separator: ",") + "]"
            return ControlOutcome(answer: success(list, id: id))
        case "SET_PROPERTY":
            guard params.count <= 2 else { return ControlOutcome(answer: failure(2, "Invalid request: too many parameters", id: id)) }
            guard case let .string(name)? = params.first else {
                return ControlOutcome(answer: failure(2, "Invalid request: property name must be a string", id: id))
            }
            guard name == "combined" else { return ControlOutcome(answer: failure(0, "Unknown property", id: id)) }
            guard params.count == 2, case let .bool(value) = params[1] else {
                return ControlOutcome(answer: failure(1, "Invalid value type: expected Boolean", id: id))
            }
            subscriptions.combined = value
            return ControlOutcome(answer: success("null", id: id))
        default: // GET_PROPERTY
            guard params.count <= 1 else { return ControlOutcome(answer: failure(2, "Invalid request: too many parameters", id: id)) }
            guard case let .string(name)? = params.first else {
                return ControlOutcome(answer: failure(2, "Invalid request: property name must be a string", id: id))
            }
            guard name == "combined" else { return ControlOutcome(answer: failure(0, "Unknown property", id: id)) }
            return ControlOutcome(answer: success(subscriptions.combined ? "true" : "false", id: id))
        }
    }

    /// Binance accepts a 64-bit signed integer, an alphanumeric string of at
    /// most 36 characters, or null; the answer echoes it as sent.
    static func echoedID(_ v: JSONValue) -> String? {
        switch v {
        case .null: return "null"
        case .number: return v.int64.map(String.init)
        case let .string(s):
            guard s.count <= 36, s.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)) })
            else { return nil }
            return JSONText.quoted(s)
        default: return nil
        }
    }

    static func success(_ result: String, id: String) -> String { "{\"result\":\(result),\"id\":\(id)}" }

    static func failure(_ code: Int, _ msg: String, id: String) -> String {
        "{\"error\":{\"code\":\(code),\"msg\":\(JSONText.quoted(msg))},\"id\":\(id)}"
    }
}
