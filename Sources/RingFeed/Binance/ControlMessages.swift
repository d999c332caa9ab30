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
