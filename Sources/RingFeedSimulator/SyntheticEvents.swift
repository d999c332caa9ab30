/// The values one synthetic message is rendered from. Each is captured by a
/// `MarketMessage.render` closure at the moment the market emits it, so a
/// message renders the same whenever and however often it is asked for.

/// One fill between the taker and one resting order.
struct SyntheticTrade {
    var id: Int64
    var priceTicks: Int64
    var lots: Int64
    var micros: Int64
    /// The taker sold: the buyer was the resting (maker) order.
    var buyerIsMaker: Bool
}

/// The fills of one taker order at one price: Binance's aggTrade.
struct SyntheticAggTrade {
    var id: Int64
    var priceTicks: Int64
    var lots: Int64
    var firstTradeId: Int64
    var lastTradeId: Int64
    var micros: Int64
    var buyerIsMaker: Bool
}

/// A changed or listed level: price in ticks, absolute quantity in lots
/// (0 = removed).
struct SyntheticLevel {
    var priceTicks: Int64
    var lots: Int64
}

/// A diff-depth event or a partial-depth snapshot.
struct SyntheticDepth {
    var eventMicros: Int64
    /// Futures "T": the time of the last book change it covers.
    var transactionMicros: Int64
    var firstUpdateId: Int64
    var finalUpdateId: Int64
    var previousFinalUpdateId: Int64
    /// Bids best (highest) first, asks best (lowest) first.
    var bids: [SyntheticLevel]
    var asks: [SyntheticLevel]
}

struct SyntheticBookTicker {
    var updateId: Int64
    var micros: Int64
    var bidTicks: Int64, bidLots: Int64
    var askTicks: Int64, askLots: Int64
}
