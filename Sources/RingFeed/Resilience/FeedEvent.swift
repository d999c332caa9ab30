/// What a `ResilientFeed`'s `events` sequence yields: market events, and
/// the trade ids it knows it could not deliver, in the order they happened.
///
/// A gap is a case of the same sequence rather than a sequence of its own:
/// it is only meaningful in position (it comes right before the first trade
/// after the hole), and a consumer reading two sequences could not tell
/// which came first. Connection changes are not here but in `lifecycle`:
/// they are about the connection, not the market, and a consumer that only
/// wants data ignores them by not reading that sequence.
public enum FeedEvent: Sendable, Hashable {
    case market(StreamEvent)
    case gap(TradeGap)

    /// The market event, nil for a gap.
    public var market: StreamEvent? {
        if case let .market(e) = self { return e }
        return nil
    }
}
