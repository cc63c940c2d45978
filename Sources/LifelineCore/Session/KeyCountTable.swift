/// A multiset of `MessageKey`s: how many messages with each key are in
/// `StreamSplice`'s history window. Owns an open-addressing hash table (linear
/// probing, deletion by backward shift, so no tombstones) with O(1) insert,
/// remove and lookup.
///
/// Allocated on the first insert; doubles while more than half full, up to the
/// first power of two ≥ 2 × `maxDistinct` (the window), so the load stays ≤ ½
/// and a hand-over that sees few messages allocates little.
struct KeyCountTable {
    private struct Slot {
        var key: MessageKey
        /// Messages with this key; 0 = empty slot.
        var count: UInt32
    }

    private static var initialCapacity: Int { 64 }
    private static let emptySlot = Slot(key: MessageKey(hash: 0, length: 0), count: 0)

    /// Largest table ever allocated (a power of two).
    private let capacityLimit: Int
    private var slots: ContiguousArray<Slot> = []
    /// log2(slots.count).
    private var bits = 0
    /// Distinct keys present.
    private(set) var distinctCount = 0

    init(maxDistinct: Int) {
        var limit = Self.initialCapacity
        while limit < 2 * maxDistinct { limit *= 2 }
        capacityLimit = limit
    }

    func contains(_ key: MessageKey) -> Bool {
        guard !slots.isEmpty else { return false }
        var index = home(key)
        while slots[index].count > 0 {
            if slots[index].key == key { return true }
            index = (index + 1) & (slots.count - 1)
        }
        return false
    }

    mutating func insert(_ key: MessageKey) {
        if (distinctCount + 1) * 2 > slots.count, slots.count < capacityLimit { grow() }
        var index = home(key)
        while slots[index].count > 0 {
            if slots[index].key == key {
                slots[index].count += 1
                return
            }
            index = (index + 1) & (slots.count - 1)
        }
        slots[index] = Slot(key: key, count: 1)
        distinctCount += 1
    }

    /// Takes one message with `key` out. Precondition: present.
    mutating func remove(_ key: MessageKey) {
        let mask = slots.count - 1
        var index = home(key)
        while slots[index].key != key || slots[index].count == 0 {
            precondition(slots[index].count > 0, "KeyCountTable.remove of an absent key")
            index = (index + 1) & mask
        }
        slots[index].count -= 1
        guard slots[index].count == 0 else { return }
        distinctCount -= 1
        // Backward shift: pull later entries of the probe run into the hole
        // when their home slot is not after it (cyclically).
        var hole = index
        var next = (hole + 1) & mask
        while slots[next].count > 0 {
            let nextHome = home(slots[next].key)
            if (next - nextHome) & mask >= (next - hole) & mask {
                slots[hole] = slots[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        slots[hole] = Self.emptySlot
    }

    /// Forgets every key, keeping the table.
    mutating func removeAll() {
        guard distinctCount > 0 else { return }
        for index in slots.indices { slots[index] = Self.emptySlot }
        distinctCount = 0
    }

    private func home(_ key: MessageKey) -> Int {
        Int(truncatingIfNeeded: key.spread >> UInt64(64 - bits))
    }

    private mutating func grow() {
        let old = slots
        let capacity = slots.isEmpty ? min(Self.initialCapacity, capacityLimit) : slots.count * 2
        slots = ContiguousArray(repeating: Self.emptySlot, count: capacity)
        bits = capacity.trailingZeroBitCount
        let mask = capacity - 1
        for slot in old where slot.count > 0 {
            var index = home(slot.key)
            while slots[index].count > 0 { index = (index + 1) & mask }
            slots[index] = slot
        }
    }
}
