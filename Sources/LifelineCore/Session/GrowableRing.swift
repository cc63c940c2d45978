/// A first-in first-out queue of small values in one ring buffer, shared by the
/// hand-over parts (`StreamSplice`'s history and held queue, `ReplayMemory`'s
/// entries). Owns only the storage and the order.
///
/// Storage is allocated on the first `append` and doubles when full, up to
/// `maxCapacity` (the owner evicts before appending at that bound); it is never
/// shrunk, so a long-lived ring stops allocating once it has reached its
/// working size. `removeAll` keeps the storage.
struct GrowableRing<Element> {
    /// Slots the first allocation gets (fewer if `maxCapacity` is smaller).
    static var initialCapacity: Int { 16 }

    /// Value the unused slots are filled with (never read back).
    private let filler: Element
    /// Bound on the storage in elements; `Int.max` = unbounded.
    let maxCapacity: Int
    private var storage: ContiguousArray<Element> = []
    /// Index in `storage` of the oldest element.
    private var start = 0
    private(set) var count = 0

    init(filler: Element, maxCapacity: Int = .max) {
        self.filler = filler
        self.maxCapacity = max(maxCapacity, 0)
    }

    var isEmpty: Bool { count == 0 }
    /// True when `append` would need more than `maxCapacity` slots.
    var isFull: Bool { count >= maxCapacity }

    /// The `index`-th oldest element (0 = oldest).
    subscript(index: Int) -> Element {
        get { storage[physical(index)] }
        set { storage[physical(index)] = newValue }
    }

    var first: Element? { count == 0 ? nil : storage[start] }

    /// Adds `element` as the newest. Precondition: not `isFull`.
    mutating func append(_ element: Element) {
        precondition(count < maxCapacity, "GrowableRing is at its maxCapacity")
        if count == storage.count { grow() }
        storage[physical(count)] = element
        count += 1
    }

    /// Removes and returns the oldest element. Precondition: not empty.
    @discardableResult
    mutating func removeFirst() -> Element {
        precondition(count > 0, "removeFirst on an empty GrowableRing")
        let element = storage[start]
        start += 1
        if start == storage.count { start = 0 }
        count -= 1
        if count == 0 { start = 0 }
        return element
    }

    /// Forgets every element, keeping the storage for reuse.
    mutating func removeAll() {
        start = 0
        count = 0
    }

    private func physical(_ index: Int) -> Int {
        let slot = start + index
        return slot < storage.count ? slot : slot - storage.count
    }

    /// Re-lays the elements oldest-first into storage twice the size (capped).
    private mutating func grow() {
        let capacity = min(maxCapacity, max(Self.initialCapacity, storage.count * 2))
        var grown = ContiguousArray(repeating: filler, count: capacity)
        for index in 0..<count { grown[index] = self[index] }
        storage = grown
        start = 0
    }
}
