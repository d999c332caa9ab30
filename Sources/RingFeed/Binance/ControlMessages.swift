/// Binance's live control messages on a market-stream connection:
/// SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY,
/// each with a request id that the answer carries back.

/// A control request, encoded once and sent as one text message. All the
/// streams of one call travel in one request.
public struct ControlRequest: Sendable, Equatable {
    public enum Method: String, Sendable {
        case subscribe = "SUBSCRIBE"
        case unsubscribe = "UNSUBSCRIBE"
        case listSubscriptions = "LIST_SUBSCRIPTIONS"
        case setProperty = "SET_PROPERTY"
        case getProperty = "GET_PROPERTY"
    }

    public var method: Method
    /// Parameters as JSON values, already encoded ("\"btcusdt@trade\"", "true").
    public var params: [String]
    public var id: Int64

    public static func subscribe(_ streams: [String], id: Int64) -> ControlRequest {
        ControlRequest(method: .subscribe, params: streams.map(jsonString), id: id)
    }
    public static func unsubscribe(_ streams: [String], id: Int64) -> ControlRequest {
        ControlRequest(method: .unsubscribe, params: streams.map(jsonString), id: id)
    }
    public static func listSubscriptions(id: Int64) -> ControlRequest {
        ControlRequest(method: .listSubscriptions, params: [], id: id)
    }
    public static func setProperty(_ name: String, _ value: Bool, id: Int64) -> ControlRequest {
        ControlRequest(method: .setProperty, params: [jsonString(name), value ? "true" : "false"], id: id)
    }
    public static func getProperty(_ name: String, id: Int64) -> ControlRequest {
        ControlRequest(method: .getProperty, params: [jsonString(name)], id: id)
    }

    /// The JSON text, e.g. {"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}.
    public var json: String {
        var s = "{\"method\":\"\(method.rawValue)\""
        if method != .listSubscriptions || !params.isEmpty {
            s += ",\"params\":[" + params.joined(separator: ",") + "]"
        }
        s += ",\"id\":\(id)}"
        return s
    }
}

/// One caller of a control request, waiting for its answer.
struct ControlCaller: Sendable {
    var continuation: CheckedContinuation<[UInt8], any Error>
    /// Runs on the loop thread as a successful answer is read, before any
    /// later message is (payloads that follow may be the new streams').
    var onSuccess: (@Sendable () -> Void)?
    /// Its SUBSCRIBE / UNSUBSCRIBE streams, to send its part alone.
    var streams: [String]
}

/// One control message on the wire, and everyone waiting for its answer:
/// queued in the connection's pacer, then pending under its id. Several
/// SUBSCRIBE calls (or several UNSUBSCRIBE calls) waiting for room travel
/// as one frame with the union of their streams.
struct ControlFrame: Sendable {
    /// `.subscribe` or `.unsubscribe` with `streams`; nil: `make` builds it.
    var method: ControlRequest.Method?
    var streams: [String]
    var make: (@Sendable (Int64) -> ControlRequest)?
    var callers: [ControlCaller]
    /// False for what must go alone: opaque requests, and the parts of a
    /// merged frame the server refused (each sent again for its own answer).
    var mergeable: Bool

    /// A SUBSCRIBE or UNSUBSCRIBE call's frame.
    static func streams(_ method: ControlRequest.Method, _ streams: [String], _ caller: ControlCaller) -> ControlFrame {
        ControlFrame(method: method, streams: streams, make: nil, callers: [caller], mergeable: true)
    }

    /// Any other request (opaque: never merged).
    static func opaque(_ make: @escaping @Sendable (Int64) -> ControlRequest, _ caller: ControlCaller) -> ControlFrame {
        ControlFrame(method: nil, streams: [], make: make, callers: [caller], mergeable: false)
    }

    func request(id: Int64) -> ControlRequest {
        if let make { return make(id) }
        return method == .unsubscribe ? .unsubscribe(streams, id: id) : .subscribe(streams, id: id)
    }

    /// Takes `other` in if both are the same kind of stream request, both
    /// mergeable, and the union stays within `cap` names. Never mixes a
    /// SUBSCRIBE with an UNSUBSCRIBE.
    mutating func merge(_ other: ControlFrame, cap: Int) -> Bool {
        guard mergeable, other.mergeable, let m = method, m == other.method,
              m == .subscribe || m == .unsubscribe else { return false }
        var added: [String] = []
        for s in other.streams where !streams.contains(s) && !added.contains(s) { added.append(s) }
        guard streams.count + added.count <= cap else { return false }
        streams += added
        callers += other.callers
        return true
    }

    /// Each caller's part as a frame of its own, in order, not mergeable.
    func split() -> [ControlFrame] {
        callers.map { ControlFrame(method: method, streams: $0.streams, make: make, callers: [$0], mergeable: false) }
    }

    /// Fails every caller with `error`.
    func fail(_ error: any Error) {
        for c in callers { c.continuation.resume(throwing: error) }
    }
}

/// Why a control request did not succeed.
public enum ControlError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The exchange answered with an error object: Binance's code and message
    /// (0 unknown property, 1 invalid value type, 2 invalid request, 3 invalid JSON).
    case rejected(code: Int64, message: String)
    /// No answer within the request timeout.
    case timedOut
    /// The connection ended before the answer came.
    case connectionClosed
    /// The answer was not the JSON the request calls for.
    case unexpectedResult(String)

    public var description: String {
        switch self {
        case let .rejected(code, message): "the exchange refused the request (code \(code)): \(message)"
        case .timedOut: "no answer to the request in time"
        case .connectionClosed: "the connection ended before the answer"
        case let .unexpectedResult(text): "unexpected answer: \(text)"
        }
    }
}

/// JSON text helpers for the small, cold messages of the control protocol
/// (the hot paths write bytes directly).
public enum JSONText {
    /// The JSON string literal of `s`, quotes included.
    public static func quoted(_ s: String) -> String { jsonString(s) }
}

/// JSON string literal for a Swift string (control messages only).
func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 {
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}

/// Decodes a JSON string's contents (the bytes between the quotes, escapes
/// included) into a Swift string; nil if an escape is malformed.
func decodeJSONStringBody(_ body: some Collection<UInt8>) -> String? {
    guard case let .string(text)? = try? JSONParser.parse([34] + Array(body) + [34]) else { return nil }
    return text
}

/// Parses a JSON array of strings (LIST_SUBSCRIPTIONS' result); nil for
/// anything else.
func parseJSONStringArray(_ text: some Collection<UInt8>) -> [String]? {
    guard case let .array(items)? = try? JSONParser.parse(text) else { return nil }
    var out: [String] = []
    for item in items {
        guard case let .string(s) = item else { return nil }
        out.append(s)
    }
    return out
}
