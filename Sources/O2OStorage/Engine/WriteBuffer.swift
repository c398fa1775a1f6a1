/// A transaction's own writes, in key order, overlaid on what it reads from its
/// snapshot: reads see their own writes, and scans merge both. Shared by every engine.
struct WriteBuffer: Sendable {
    /// nil marks a delete.
    private(set) var entries: [StorageBytes: StorageBytes?] = [:]

    var isEmpty: Bool { entries.isEmpty }

    mutating func put(_ key: StorageBytes, _ value: StorageBytes) { entries[key] = .some(value) }
    mutating func delete(_ key: StorageBytes) { entries[key] = .some(nil) }

    /// `.some(value)` or `.some(nil)` (deleted here) when this buffer decides the key;
    /// nil when the snapshot does.
    func lookup(_ key: StorageBytes) -> StorageBytes?? { entries[key] }

    /// The buffer's entries in `range`, in scan order.
    func entries(in range: KeyRange, direction: ScanDirection) -> [(key: StorageBytes, value: StorageBytes?)] {
        let inRange = entries.filter { range.contains($0.key) }.map { (key: $0.key, value: $0.value) }
        return inRange.sorted {
            let order = compareBytes($0.key, $1.key)
            return direction == .forward ? order < 0 : order > 0
        }
    }

    /// Merges a snapshot scan with the buffer. `fetch(limit)` scans the snapshot; it is
    /// asked for enough extra entries to cover the ones the buffer deletes.
    func mergedScan(
        _ range: KeyRange,
        direction: ScanDirection,
        limit: Int,
        fetch: (Int) async throws -> [KeyValue]
    ) async throws -> [KeyValue] {
        let local = entries(in: range, direction: direction)
        if local.isEmpty { return try await fetch(limit) }
        let deletions = local.filter { $0.value == nil }.count
        let base = try await fetch(limit + deletions + local.count)
        var merged: [StorageBytes: StorageBytes] = [:]
        for entry in base { merged[entry.key] = entry.value }
        for entry in local {
            if let value = entry.value { merged[entry.key] = value } else { merged.removeValue(forKey: entry.key) }
        }
        let sorted = merged.map { KeyValue(key: $0.key, value: $0.value) }.sorted {
            let order = compareBytes($0.key, $1.key)
            return direction == .forward ? order < 0 : order > 0
        }
        // The base scan stopped early: entries past its last key may be missing, so
        // keep only what lies before that point.
        if base.count == limit + deletions + local.count, let last = base.last?.key {
            let bounded = sorted.filter {
                let order = compareBytes($0.key, last)
                return direction == .forward ? order <= 0 : order >= 0
            }
            return Array(bounded.prefix(limit))
        }
        return Array(sorted.prefix(limit))
    }
}
