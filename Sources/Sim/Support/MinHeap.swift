/// What a `MinHeap` orders by: `precedes` is a strict "comes out first".
protocol HeapOrdered {
    func precedes(_ other: Self) -> Bool
}

/// A binary min-heap: the scheduler's event queue and the in-memory etcd's lease expiries.
struct MinHeap<Element: HeapOrdered> {
    private var elements: [Element] = []

    var first: Element? { elements.first }
    var count: Int { elements.count }
    var isEmpty: Bool { elements.isEmpty }

    mutating func removeAll() { elements.removeAll() }

    mutating func push(_ element: Element) {
        elements.append(element)
        var child = elements.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard elements[child].precedes(elements[parent]) else { break }
            elements.swapAt(child, parent)
            child = parent
        }
    }

    @discardableResult
    mutating func popFirst() -> Element? {
        guard let first = elements.first else { return nil }
        let last = elements.removeLast()
        if !elements.isEmpty {
            elements[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < elements.count, elements[left].precedes(elements[smallest]) { smallest = left }
                if right < elements.count, elements[right].precedes(elements[smallest]) { smallest = right }
                guard smallest != parent else { break }
                elements.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return first
    }
}

extension MinHeap: Sendable where Element: Sendable {}
