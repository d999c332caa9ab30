/// One REST depth snapshot request through the weight budget: the weight
/// is taken before the request goes out (waiting if the window is full) and
/// moved to the time the answer came, with the exchange's own count, a
/// 429 or 418 stops every request of the budget for the Retry-After the
/// exchange named, and the body is scanned off the loop thread.
enum SnapshotFetcher {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func fetch(_ url: String, limit: Int, futures: Bool, budget: WeightBudget, options: BookOptions,
                      loop: EventLoop) async -> Result<RawSnapshot, Failure> {
        let grant: WeightBudget.Grant
        do {
            grant = try await budget.acquire(WeightBudget.depthWeight(limit: limit, futures: futures))
        } catch {
            return .failure(Failure(description: "cancelled"))
        }
        let response: HTTPResponse
        do {
            response = try await HTTPClient.get(url, on: loop, tls: options.tls, maxBodySize: 16 << 20,
                                                timeout: options.snapshotTimeout)
        } catch {
            budget.answered(grant) // it may have reached the exchange
            return .failure(Failure(description: "\(url): \(error)"))
        }
        budget.answered(grant, usedWeight: response.header("X-MBX-USED-WEIGHT-1M").flatMap { Int($0) })
        switch response.status {
        case 200:
            do {
                return .success(try RawSnapshot(json: response.body))
            } catch {
                return .failure(Failure(description: "\(url): body is not a depth snapshot (\(error))"))
            }
        case 429, 418:
            // Too many requests (418: the IP is banned for a while): every
            // book of the budget waits. Binance sends Retry-After in seconds.
            let seconds = response.header("Retry-After").flatMap { Int($0) } ?? (response.status == 418 ? 120 : 60)
            budget.backOff(for: .seconds(max(1, seconds)))
            return .failure(Failure(description: "\(url): HTTP \(response.status), all snapshot requests wait \(seconds) s"))
        default:
            let text = String(response.text.prefix(200))
            return .failure(Failure(description: "\(url): HTTP \(response.status) \(text)"))
        }
    }
}
