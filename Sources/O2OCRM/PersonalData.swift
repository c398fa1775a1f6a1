import O2OMessages
import O2ORPC
import O2OServiceKit

/// Contact data in the one form the server stores and compares, so that a customer
/// cannot be registered twice by writing the same number or address differently.
/// Errors never repeat the value: it is personal data, and error messages are logged.
enum ContactNormal {
    /// An email address, lower-case (the whole address: people type capitals in both
    /// parts and mean the same mailbox).
    static func email(_ value: String, field: String) throws -> String {
        try Validate.email(value, field: field).lowercased()
    }
}

/// Who may see personal data in full, and the masked form everyone else gets.
enum PersonalData {
    /// Admin and service callers, and every caller of a server without tokens (which
    /// listens on loopback only), see it in full; readonly callers get it masked.
    static func visible(to context: RPCServerContext) -> Bool {
        guard let principal = context.principal else { return true }
        return principal.role >= .service
    }

    /// "+8613800138000" → "+86138****8000".
    static func mask(phone: String) -> String {
        guard !phone.isEmpty else { return "" }
        guard phone.count >= 10 else { return String(phone.prefix(1)) + "****" + String(phone.suffix(2)) }
        return String(phone.prefix(6)) + "****" + String(phone.suffix(4))
    }

    /// "zhang.wei@example.com" → "z***@example.com".
    static func mask(email: String) -> String {
        guard let at = email.firstIndex(of: "@") else { return email.isEmpty ? "" : "***" }
        return String(email.prefix(1)) + "***" + String(email[at...])
    }

    /// The region of an address without what locates the person.
    static func mask(address: PostalAddress?) -> PostalAddress? {
        address.map {
            PostalAddress(countryCode: $0.countryCode, province: $0.province, city: $0.city, district: $0.district)
        }
    }

    static let hiddenText = "(hidden)"

    static func shown(_ customer: Customer, to context: RPCServerContext) -> Customer {
        guard !visible(to: context) else { return customer }
        var masked = customer
        masked.phone = mask(phone: customer.phone)
        masked.email = mask(email: customer.email)
        masked.birthday = nil
        return masked
    }

    static func shown(_ address: CustomerAddress, to context: RPCServerContext) -> CustomerAddress {
        guard !visible(to: context) else { return address }
        var masked = address
        masked.address = mask(address: address.address)
        return masked
    }

    static func shown(_ note: InteractionNote, to context: RPCServerContext) -> InteractionNote {
        guard !visible(to: context) else { return note }
        var masked = note
        masked.text = hiddenText
        return masked
    }
}
