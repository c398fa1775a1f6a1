import O2ORPC

/// Arithmetic on numbers that came from a request, from storage or from the clock. In
/// Swift an overflow traps and takes the whole server down, so every such sum and
/// product goes through here and an overflow becomes INVALID_ARGUMENT naming the field.
public enum Checked {
    public static func add(_ a: Int64, _ b: Int64, field: String) throws -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        guard !overflow else { throw RPCError.invalidArgument(field: field, "is too large") }
        return sum
    }

    public static func multiply(_ a: Int64, _ b: Int64, field: String) throws -> Int64 {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow else { throw RPCError.invalidArgument(field: field, "is too large") }
        return product
    }

    /// The sum of `values`, refused as soon as it no longer fits.
    public static func sum(_ values: some Sequence<Int64>, field: String) throws -> Int64 {
        var total: Int64 = 0
        for value in values { total = try add(total, value, field: field) }
        return total
    }
}
