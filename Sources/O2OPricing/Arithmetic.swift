/// The arithmetic of prices: integer minor units only, products in full width so a
/// percentage of a large amount or a proportional share cannot overflow, and an
/// exact split of one discount over several lines.
public enum PriceMath {
    /// "123.45" for 12345 minor units (two decimals, as every amount in messages).
    public static func decimal(_ minorUnits: Int64) -> String {
        let value = minorUnits.magnitude
        let cents = value % 100
        return "\(minorUnits < 0 ? "-" : "")\(value / 100).\(cents < 10 ? "0" : "")\(cents)"
    }

    /// floor(value × numerator / denominator) for value, numerator >= 0 and
    /// denominator > 0, computed in 128 bits; the result is at most
    /// max(value, numerator) when numerator <= denominator, so it always fits then.
    public static func scaled(_ value: Int64, by numerator: Int64, over denominator: Int64) -> Int64 {
        precondition(value >= 0 && numerator >= 0 && denominator > 0)
        let (small, overflow) = value.multipliedReportingOverflow(by: numerator)
        if !overflow { return small / denominator }
        let product = value.multipliedFullWidth(by: numerator)
        let (quotient, _) = denominator.dividingFullWidth(product)
        return quotient
    }

    /// value × numerator / denominator rounded half up, for a share of at most the
    /// whole (a numerator above the denominator counts as the whole), in 128 bits:
    /// the result is at most `value`, so it always fits. 0 when any part is not
    /// positive.
    public static func scaledHalfUp(_ value: Int64, by numerator: Int64, over denominator: Int64) -> Int64 {
        guard value > 0, numerator > 0, denominator > 0 else { return 0 }
        let product = value.multipliedFullWidth(by: min(numerator, denominator))
        let (quotient, remainder) = denominator.dividingFullWidth(product)
        return remainder >= denominator - remainder ? quotient + 1 : quotient
    }

    /// floor(amount × bps / 10,000): the discount of a percentage, rounded down.
    static func percentage(_ amount: Int64, bps: Int64) -> Int64 {
        scaled(amount, by: min(max(bps, 0), 10_000), over: 10_000)
    }

    /// Splits `total` over `weights` in proportion, exactly: each share is rounded
    /// down, then the minor units left over go one each to the largest weights
    /// (ties: the earlier position). With total <= sum of weights no share exceeds
    /// its weight, and the shares always add up to `total`.
    public static func split(_ total: Int64, over weights: [Int64]) -> [Int64] {
        let sum = weights.reduce(0, +)
        guard total > 0, sum > 0 else { return weights.map { _ in 0 } }
        let capped = min(total, sum)
        var shares = weights.map { scaled($0, by: capped, over: sum) }
        var left = capped - shares.reduce(0, +)
        if left > 0 {
            let order = weights.indices.sorted { weights[$0] != weights[$1] ? weights[$0] > weights[$1] : $0 < $1 }
            for index in order where left > 0 && weights[index] > 0 {
                shares[index] += 1
                left -= 1
            }
        }
        return shares
    }
}
