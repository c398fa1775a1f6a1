import O2OPricing
import Testing

@Suite("Price arithmetic")
struct ArithmeticTests {
    @Test("a share rounded half up, exact in 128 bits, never more than the whole")
    func scaledHalfUp() {
        // 0.6% of 123.45: 0.7407 → 0.74; of 124.17: 0.74502 → 0.75.
        #expect(PriceMath.scaledHalfUp(12_345, by: 60, over: 10_000) == 74)
        #expect(PriceMath.scaledHalfUp(12_417, by: 60, over: 10_000) == 75)
        // Exactly half rounds up.
        #expect(PriceMath.scaledHalfUp(5, by: 1, over: 2) == 3)
        // Products beyond 64 bits, and a numerator above the denominator as the whole.
        #expect(PriceMath.scaledHalfUp(.max, by: .max - 1, over: .max) == .max - 1)
        #expect(PriceMath.scaledHalfUp(100, by: 300, over: 200) == 100)
        #expect(PriceMath.scaledHalfUp(100, by: 0, over: 200) == 0 && PriceMath.scaledHalfUp(100, by: 1, over: 0) == 0)
    }
}
