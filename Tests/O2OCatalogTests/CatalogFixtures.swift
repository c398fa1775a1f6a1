import O2OClient

func cny(_ fen: Int64) -> Money { Money(minorUnits: fen, currency: "CNY") }

/// A product spec with `skus` SKUs whose codes and barcodes derive from `seed`.
func productSpec(
    _ name: String,
    category: String,
    seed: Int,
    skus: Int = 2,
    tags: [String] = [],
    price: Int64 = 1000
) -> ProductSpec {
    ProductSpec(
        productCode: "PC-\(seed)",
        name: name,
        nameEn: "English \(name)",
        brand: "Brand\(seed % 5)",
        description: "Description of \(name)",
        categoryID: category,
        tags: tags,
        skus: (0..<skus).map { index in
            SkuSpec(
                skuCode: "SKU-\(seed)-\(index)",
                attributes: [
                    SkuAttribute(
                        name: "size",
                        value: ["S", "M", "L", "XL"][index % 4] + (index >= 4 ? "\(index)" : "")
                    )
                ],
                price: cny(price + Int64(index) * 100),
                barcode: DemoDataEAN.make(seed * 10 + index)
            )
        }
    )
}

/// Valid EAN-13 codes for tests.
enum DemoDataEAN {
    static func make(_ serial: Int) -> String {
        var body = "6909999" + String(serial % 100_000)
        while body.count < 12 { body.insert("0", at: body.index(body.startIndex, offsetBy: 7)) }
        let digits = body.utf8.map { Int($0) - 48 }
        var sum = 0
        for (offset, digit) in digits.reversed().enumerated() { sum += digit * (offset % 2 == 0 ? 3 : 1) }
        return body + String((10 - sum % 10) % 10)
    }
}
