/// Rendering of the trade and book messages in Binance's exact shapes and
/// field orders (spot and USD-M futures), taken from the recorded sessions
/// in ../shared/data/binance and Binance's stream documentation.
extension SyntheticInstrument {
    @inline(__always)
    func price(_ j: inout MarketJSON, _ ticks: Int64) {
        j.decimal(priceMantissa(ticks), scale: tickScale, digits: priceDigits)
    }

    @inline(__always)
    func quantity(_ j: inout MarketJSON, _ lots: Int64) {
        j.decimal(quantityMantissa(lots), scale: lotScale, digits: quantityDigits)
    }

    /// A quote amount given as ticks·lots.
    @inline(__always)
    func quote(_ j: inout MarketJSON, _ tickLots: Int64) {
        j.decimal(quoteMantissa(tickLots), scale: quoteScale, digits: quoteDigits)
    }

    @inline(__always)
    private func symbolField(_ j: inout MarketJSON) {
        j.raw(",\"s\":")
        j.string(symbolBytes)
    }

    /// Spot `<s>@trade`:
    /// {"e":"trade","E":..,"s":..,"t":..,"p":..,"q":..,"T":..,"m":..,"M":true}
    func renderTrade(_ t: SyntheticTrade, _ unit: TimeUnit) -> [UInt8] {
        return MarketJSON.render(capacity: 256 + symbolBytes.count) { j in
            j.raw("{\"e\":\"trade\",\"E\":")
            j.time(t.micros, unit)
            symbolField(&j)
            j.raw(",\"t\":")
            j.int(t.id)
            j.raw(",\"p\":")
            price(&j, t.priceTicks)
            j.raw(",\"q\":")
            quantity(&j, t.lots)
            j.raw(",\"T\":")
            j.time(t.micros, unit)
            j.raw(",\"m\":")
            j.bool(t.buyerIsMaker)
            j.raw(",\"M\":true}")
        }
    }

    /// `<s>@aggTrade`. Spot: e E s a p q f l T m M; futures (as recorded):
    /// e E a s p q f l T m.
    func renderAggTrade(_ t: SyntheticAggTrade, _ unit: TimeUnit) -> [UInt8] {
        return MarketJSON.render(capacity: 300 + symbolBytes.count) { j in
            j.raw("{\"e\":\"aggTrade\",\"E\":")
            j.time(t.micros, unit)
            if venue == .spot {
                symbolField(&j)
                j.raw(",\"a\":")
                j.int(t.id)
            } else {
                j.raw(",\"a\":")
                j.int(t.id)
                symbolField(&j)
            }
            j.raw(",\"p\":")
            price(&j, t.priceTicks)
            j.raw(",\"q\":")
            quantity(&j, t.lots)
            j.raw(",\"f\":")
            j.int(t.firstTradeId)
            j.raw(",\"l\":")
            j.int(t.lastTradeId)
            j.raw(",\"T\":")
            j.time(t.micros, unit)
            j.raw(",\"m\":")
            j.bool(t.buyerIsMaker)
            if venue == .spot { j.raw(",\"M\":true") }
            j.byte(UInt8(ascii: "}"))
        }
    }

    /// [["price","qty"],...]
    func levels(_ j: inout MarketJSON, _ levels: [SyntheticLevel]) {
        j.byte(UInt8(ascii: "["))
        var first = true
        for l in levels {
            if !first { j.byte(UInt8(ascii: ",")) }
            first = false
            j.byte(UInt8(ascii: "["))
            price(&j, l.priceTicks)
            j.byte(UInt8(ascii: ","))
            quantity(&j, l.lots)
            j.byte(UInt8(ascii: "]"))
        }
        j.byte(UInt8(ascii: "]"))
    }

    /// Fixed fields, then per level two decimals and `[,],`.
    private func depthCapacity(_ d: SyntheticDepth) -> Int {
        256 + symbolBytes.count + (d.bids.count + d.asks.count) * (2 * MarketJSON.maxDecimal + 5)
    }

    /// Diff depth `<s>@depth[@100ms]`. Spot: e E s U u b a; futures: e E T
    /// s U u pu b a. Futures partial depth `<s>@depth<n>` has this shape too.
    func renderDepthUpdate(_ d: SyntheticDepth, _ unit: TimeUnit) -> [UInt8] {
        return MarketJSON.render(capacity: depthCapacity(d)) { j in
            j.raw("{\"e\":\"depthUpdate\",\"E\":")
            j.time(d.eventMicros, unit)
            if venue == .usdmFutures {
                j.raw(",\"T\":")
                j.time(d.transactionMicros, unit)
            }
            symbolField(&j)
            j.raw(",\"U\":")
            j.int(d.firstUpdateId)
            j.raw(",\"u\":")
            j.int(d.finalUpdateId)
            if venue == .usdmFutures {
                j.raw(",\"pu\":")
                j.int(d.previousFinalUpdateId)
            }
            j.raw(",\"b\":")
            levels(&j, d.bids)
            j.raw(",\"a\":")
            levels(&j, d.asks)
            j.byte(UInt8(ascii: "}"))
        }
    }

    /// Partial depth `<s>@depth<5|10|20>[@100ms]`. Spot:
    /// {"lastUpdateId":..,"bids":..,"asks":..}; futures: depthUpdate-shaped.
    func renderPartialDepth(_ d: SyntheticDepth, _ unit: TimeUnit) -> [UInt8] {
        if venue == .usdmFutures { return renderDepthUpdate(d, unit) }
        return MarketJSON.render(capacity: depthCapacity(d)) { j in
            j.raw("{\"lastUpdateId\":")
            j.int(d.finalUpdateId)
            j.raw(",\"bids\":")
            levels(&j, d.bids)
            j.raw(",\"asks\":")
            levels(&j, d.asks)
            j.byte(UInt8(ascii: "}"))
        }
    }

    /// REST depth snapshot body. Spot: {"lastUpdateId","bids","asks"};
    /// futures: {"lastUpdateId","E","T","bids","asks"} (times in ms).
    func renderSnapshot(lastUpdateId: Int64, micros: Int64, transactionMicros: Int64,
                        bids: [SyntheticLevel], asks: [SyntheticLevel]) -> [UInt8] {
        return MarketJSON.render(capacity: 192 + (bids.count + asks.count) * 91) { j in
            j.raw("{\"lastUpdateId\":")
            j.int(lastUpdateId)
            if venue == .usdmFutures {
                j.raw(",\"E\":")
                j.time(micros, .millisecond)
                j.raw(",\"T\":")
                j.time(transactionMicros, .millisecond)
            }
            j.raw(",\"bids\":")
            levels(&j, bids)
            j.raw(",\"asks\":")
            levels(&j, asks)
            j.byte(UInt8(ascii: "}"))
        }
    }

    /// `<s>@bookTicker`. Spot: u s b B a A; futures (as recorded): e u s b B
    /// a A T E.
    func renderBookTicker(_ t: SyntheticBookTicker, _ unit: TimeUnit) -> [UInt8] {
        return MarketJSON.render(capacity: 320 + symbolBytes.count) { j in
            if venue == .usdmFutures {
                j.raw("{\"e\":\"bookTicker\",\"u\":")
            } else {
                j.raw("{\"u\":")
            }
            j.int(t.updateId)
            symbolField(&j)
            j.raw(",\"b\":")
            price(&j, t.bidTicks)
            j.raw(",\"B\":")
            quantity(&j, t.bidLots)
            j.raw(",\"a\":")
            price(&j, t.askTicks)
            j.raw(",\"A\":")
            quantity(&j, t.askLots)
            if venue == .usdmFutures {
                j.raw(",\"T\":")
                j.time(t.micros, unit)
                j.raw(",\"E\":")
                j.time(t.micros, unit)
            }
            j.byte(UInt8(ascii: "}"))
        }
    }
}
