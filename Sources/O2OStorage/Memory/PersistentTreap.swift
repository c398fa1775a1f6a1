/// An immutable ordered map from bytes to bytes: a treap with path copying. Every
/// update returns a new root and shares the untouched nodes, so a snapshot of the
/// whole map is just a reference to a root.
final class TreapNode: Sendable {
    let key: StorageBytes
    let value: StorageBytes
    let priority: UInt64
    let left: TreapNode?
    let right: TreapNode?

    init(key: StorageBytes, value: StorageBytes, priority: UInt64, left: TreapNode?, right: TreapNode?) {
        self.key = key
        self.value = value
        self.priority = priority
        self.left = left
        self.right = right
    }

    func with(left: TreapNode?, right: TreapNode?) -> TreapNode {
        TreapNode(key: key, value: value, priority: priority, left: left, right: right)
    }
}

enum Treap {
    static func get(_ node: TreapNode?, _ key: StorageBytes) -> StorageBytes? {
        var node = node
        while let current = node {
            let order = compareBytes(key, current.key)
            if order == 0 { return current.value }
            node = order < 0 ? current.left : current.right
        }
        return nil
    }

    /// The map with `key` set to `value`.
    static func insert(_ node: TreapNode?, _ key: StorageBytes, _ value: StorageBytes, priority: UInt64) -> TreapNode {
        guard let node else { return TreapNode(key: key, value: value, priority: priority, left: nil, right: nil) }
        let order = compareBytes(key, node.key)
        if order == 0 {
            return TreapNode(key: key, value: value, priority: node.priority, left: node.left, right: node.right)
        }
        if priority > node.priority {
            let (left, right) = split(node, key)
            return TreapNode(key: key, value: value, priority: priority, left: left, right: right)
        }
        if order < 0 {
            return node.with(left: insert(node.left, key, value, priority: priority), right: node.right)
        }
        return node.with(left: node.left, right: insert(node.right, key, value, priority: priority))
    }

    /// The map without `key`.
    static func remove(_ node: TreapNode?, _ key: StorageBytes) -> TreapNode? {
        guard let node else { return nil }
        let order = compareBytes(key, node.key)
        if order == 0 { return merge(node.left, node.right) }
        if order < 0 {
            guard node.left != nil else { return node }
            return node.with(left: remove(node.left, key), right: node.right)
        }
        guard node.right != nil else { return node }
        return node.with(left: node.left, right: remove(node.right, key))
    }

    /// Keys below `key`, and keys above it (`key` itself is dropped).
    static func split(_ node: TreapNode?, _ key: StorageBytes) -> (TreapNode?, TreapNode?) {
        guard let node else { return (nil, nil) }
        let order = compareBytes(key, node.key)
        if order == 0 { return (node.left, node.right) }
        if order < 0 {
            let (left, right) = split(node.left, key)
            return (left, node.with(left: right, right: node.right))
        }
        let (left, right) = split(node.right, key)
        return (node.with(left: node.left, right: left), right)
    }

    /// Joins two maps whose keys are all smaller in `left`.
    static func merge(_ left: TreapNode?, _ right: TreapNode?) -> TreapNode? {
        guard let left else { return right }
        guard let right else { return left }
        if left.priority > right.priority {
            return left.with(left: left.left, right: merge(left.right, right))
        }
        return right.with(left: merge(left, right.left), right: right.right)
    }

    /// Up to `limit` entries in `range`, in order.
    static func scan(_ root: TreapNode?, _ range: KeyRange, direction: ScanDirection, limit: Int) -> [KeyValue] {
        var result: [KeyValue] = []
        guard limit > 0 else { return result }
        var stack: [TreapNode] = []
        var node = root
        // Descend to the first node in range, stacking the path.
        while let current = node {
            switch direction {
            case .forward:
                if let lower = range.lower, compareBytes(current.key, lower) < 0 {
                    node = current.right
                } else {
                    stack.append(current)
                    node = current.left
                }
            case .reverse:
                if let upper = range.upper, compareBytes(current.key, upper) >= 0 {
                    node = current.left
                } else {
                    stack.append(current)
                    node = current.right
                }
            }
        }
        while let current = stack.popLast() {
            guard range.contains(current.key) else { break }
            result.append(KeyValue(key: current.key, value: current.value))
            if result.count == limit { break }
            var next = direction == .forward ? current.right : current.left
            while let candidate = next {
                stack.append(candidate)
                next = direction == .forward ? candidate.left : candidate.right
            }
        }
        return result
    }

    static func count(_ node: TreapNode?) -> Int {
        guard let node else { return 0 }
        return 1 + count(node.left) + count(node.right)
    }
}
