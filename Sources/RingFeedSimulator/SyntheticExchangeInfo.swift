/// The synthetic market's `GET /api/v3/exchangeInfo` (spot) or
/// `/fapi/v1/exchangeInfo` (USD-M futures) body: the subset of Binance's
/// fields a market-data client uses (rate limits, and per symbol its status,
/// assets, precisions and the PRICE_FILTER / LOT_SIZE grids), in Binance's
/// field order for each venue.
enum SyntheticExchangeInfo {
    static func render(venue: Venue, serverMicros: Int64, instruments: [SyntheticInstrument]) -> [UInt8] {
        // Per symbol: about 900 bytes of fixed text, six decimals, four names.
        let names = instruments.reduce(0) { $0 + 2 * $1.symbolBytes.count + $1.baseAsset.utf8.count + $1.quoteAsset.utf8.count * 2 }
        return MarketJSON.render(capacity: 1024 + instruments.count * (1200 + 6 * MarketJSON.maxDecimal) + names) { j in
            j.raw("{\"timezone\":\"UTC\",\"serverTime\":")
            j.time(serverMicros, .millisecond)
            if venue == .spot {
                j.raw(",\"rateLimits\":[")
                j.raw("{\"rateLimitType\":\"REQUEST_WEIGHT\",\"interval\":\"MINUTE\",\"intervalNum\":1,\"limit\":6000},")
                j.raw("{\"rateLimitType\":\"ORDERS\",\"interval\":\"SECOND\",\"intervalNum\":10,\"limit\":100},")
                j.raw("{\"rateLimitType\":\"ORDERS\",\"interval\":\"DAY\",\"intervalNum\":1,\"limit\":200000},")
                j.raw("{\"rateLimitType\":\"RAW_REQUESTS\",\"interval\":\"MINUTE\",\"intervalNum\":5,\"limit\":61000}]")
            } else {
                j.raw(",\"futuresType\":\"U_MARGINED\",\"rateLimits\":[")
                j.raw("{\"rateLimitType\":\"REQUEST_WEIGHT\",\"interval\":\"MINUTE\",\"intervalNum\":1,\"limit\":2400},")
                j.raw("{\"rateLimitType\":\"ORDERS\",\"interval\":\"MINUTE\",\"intervalNum\":1,\"limit\":1200},")
                j.raw("{\"rateLimitType\":\"ORDERS\",\"interval\":\"SECOND\",\"intervalNum\":10,\"limit\":300}]")
            }
            j.raw(",\"exchangeFilters\":[],\"symbols\":[")
            for (i, inst) in instruments.enumerated() {
                if i > 0 { j.byte(UInt8(ascii: ",")) }
                if venue == .spot { spot(&j, inst) } else { futures(&j, inst) }
            }
            j.raw("]}")
        }
    }

    private static func text(_ j: inout MarketJSON, _ s: String) {
        j.string(Array(s.utf8))
    }

    /// A grid value (tick or step) times `multiple`, written like a price.
    private static func grid(_ j: inout MarketJSON, _ inst: SyntheticInstrument, mantissa: Int64, scale: Int,
                             times multiple: Int64, digits: Int) {
        j.decimal(mantissa * multiple, scale: scale, digits: digits)
    }

    private static func spot(_ j: inout MarketJSON, _ inst: SyntheticInstrument) {
        j.raw("{\"symbol\":")
        text(&j, inst.symbol)
        j.raw(",\"status\":\"TRADING\",\"baseAsset\":")
        text(&j, inst.baseAsset)
        j.raw(",\"baseAssetPrecision\":8,\"quoteAsset\":")
        text(&j, inst.quoteAsset)
        j.raw(",\"quotePrecision\":8,\"quoteAssetPrecision\":8,\"baseCommissionPrecision\":8,\"quoteCommissionPrecision\":8")
        j.raw(",\"orderTypes\":[\"LIMIT\",\"LIMIT_MAKER\",\"MARKET\",\"STOP_LOSS_LIMIT\",\"TAKE_PROFIT_LIMIT\"]")
        j.raw(",\"icebergAllowed\":true,\"ocoAllowed\":true,\"quoteOrderQtyMarketAllowed\":true")
        j.raw(",\"isSpotTradingAllowed\":true,\"isMarginTradingAllowed\":false")
        j.raw(",\"filters\":[{\"filterType\":\"PRICE_FILTER\",\"minPrice\":")
        grid(&j, inst, mantissa: inst.tickMantissa, scale: inst.tickScale, times: 1, digits: 8)
        j.raw(",\"maxPrice\":")
        grid(&j, inst, mantissa: inst.tickMantissa, scale: inst.tickScale, times: 100_000_000, digits: 8)
        j.raw(",\"tickSize\":")
        grid(&j, inst, mantissa: inst.tickMantissa, scale: inst.tickScale, times: 1, digits: 8)
        j.raw("},{\"filterType\":\"LOT_SIZE\",\"minQty\":")
        grid(&j, inst, mantissa: inst.lotMantissa, scale: inst.lotScale, times: 1, digits: 8)
        j.raw(",\"maxQty\":")
        grid(&j, inst, mantissa: inst.lotMantissa, scale: inst.lotScale, times: 900_000_000, digits: 8)
        j.raw(",\"stepSize\":")
        grid(&j, inst, mantissa: inst.lotMantissa, scale: inst.lotScale, times: 1, digits: 8)
        j.raw("}],\"permissions\":[\"SPOT\"]}")
    }

    private static func futures(_ j: inout MarketJSON, _ inst: SyntheticInstrument) {
        j.raw("{\"symbol\":")
        text(&j, inst.symbol)
        j.raw(",\"pair\":")
        text(&j, inst.symbol)
        j.raw(",\"contractType\":\"PERPETUAL\",\"deliveryDate\":4133404800000,\"onboardDate\":1569398400000")
        j.raw(",\"status\":\"TRADING\",\"baseAsset\":")
        text(&j, inst.baseAsset)
        j.raw(",\"quoteAsset\":")
        text(&j, inst.quoteAsset)
        j.raw(",\"marginAsset\":")
        text(&j, inst.quoteAsset)
        j.raw(",\"pricePrecision\":")
        j.int(Int64(inst.priceDigits))
        j.raw(",\"quantityPrecision\":")
        j.int(Int64(inst.quantityDigits))
        j.raw(",\"baseAssetPrecision\":8,\"quotePrecision\":8")
        j.raw(",\"filters\":[{\"minPrice\":")
        grid(&j, inst, mantissa: inst.tickMantissa, scale: inst.tickScale, times: 1, digits: inst.priceDigits)
        j.raw(",\"maxPrice\":")
        grid(&j, inst, mantissa: inst.tickMantissa, scale: inst.tickScale, times: 100_000_000, digits: inst.priceDigits)
        j.raw(",\"filterType\":\"PRICE_FILTER\",\"tickSize\":")
        grid(&j, inst, mantissa: inst.tickMantissa, scale: inst.tickScale, times: 1, digits: inst.priceDigits)
        j.raw("},{\"stepSize\":")
        grid(&j, inst, mantissa: inst.lotMantissa, scale: inst.lotScale, times: 1, digits: inst.quantityDigits)
        j.raw(",\"filterType\":\"LOT_SIZE\",\"maxQty\":")
        grid(&j, inst, mantissa: inst.lotMantissa, scale: inst.lotScale, times: 900_000_000, digits: inst.quantityDigits)
        j.raw(",\"minQty\":")
        grid(&j, inst, mantissa: inst.lotMantissa, scale: inst.lotScale, times: 1, digits: inst.quantityDigits)
        j.raw("}],\"orderTypes\":[\"LIMIT\",\"MARKET\",\"STOP\",\"STOP_MARKET\",\"TAKE_PROFIT\",\"TAKE_PROFIT_MARKET\",\"TRAILING_STOP_MARKET\"]")
        j.raw(",\"timeInForce\":[\"GTC\",\"IOC\",\"FOK\",\"GTX\"]}")
    }
}
