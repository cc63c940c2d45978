import CLibev

/// Where a connection sits in one `DeadlineList`: its neighbours and its deadline.
/// The neighbours are unowned: a connection unlinks itself before it goes away.
struct DeadlineLink {
    unowned(unsafe) var previous: Connection?
    unowned(unsafe) var next: Connection?
    var deadline: Double = 0
    var isLinked = false
}

/// The connections of one loop waiting for one kind of keep-alive deadline on one side
/// (the next ping, or a pong deadline). Every entry is added with the same delay, so
/// appending keeps the list in deadline order: O(1) to add or remove, and one `ev_timer`
/// armed to the head's deadline serves them all (ev.pod "Be smart about timeouts", the
/// linked-list approach). No per-ping heap work, no re-sorting.
final class DeadlineList {
    enum Kind { case ping, pong }

    let kind: Kind
    let loop: EventLoop
    private unowned(unsafe) var head: Connection?
    private unowned(unsafe) var tail: Connection?
    private(set) var count = 0
    private var timer: TimerWatcher!
    private var armedFor: Double = .infinity
    /// Called for each entry whose deadline has come, after it was unlinked.
    var onDue: ((Connection) -> Void)?

    init(kind: Kind, loop: EventLoop) {
        self.kind = kind
        self.loop = loop
        timer = TimerWatcher(owner: self, callback: deadlineListCallback)
    }

    deinit { timer.free(loop: loop.raw) }

    /// Appends `connection` with `deadline` (at or after the tail's, give or take the
    /// loop's processing jitter).
    func append(_ connection: Connection, deadline: Double) {
        var link = self.link(of: connection)
        precondition(!link.isLinked, "already in the list")
        link = DeadlineLink(previous: tail, next: nil, deadline: deadline, isLinked: true)
        setLink(link, of: connection)
        if let tail { modifyLink(of: tail) { $0.next = connection } } else { head = connection }
        tail = connection
        count += 1
        if head === connection { arm() }
    }

    func remove(_ connection: Connection) {
        let link = self.link(of: connection)
        guard link.isLinked else { return }
        if let previous = link.previous { modifyLink(of: previous) { $0.next = link.next } } else { head = link.next }
        if let next = link.next { modifyLink(of: next) { $0.previous = link.previous } } else { tail = link.previous }
        setLink(DeadlineLink(), of: connection)
        count -= 1
        if head == nil { disarm() }
    }

    /// Entries in list order (for a reload that changes the interval: they are re-added sorted).
    func removeAll() -> [Connection] {
        var entries: [Connection] = []
        while let first = head {
            entries.append(first)
            remove(first)
        }
        return entries
    }

    fileprivate func fire() {
        armedFor = .infinity
        let now = loop.now
        while let first = head, link(of: first).deadline <= now {
            remove(first)
            onDue?(first)
        }
        arm()
    }

    private func arm() {
        guard let first = head else { return disarm() }
        let deadline = link(of: first).deadline
        guard deadline != armedFor else { return }
        armedFor = deadline
        timer.arm(after: deadline - loop.now, loop: loop.raw)
    }

    private func disarm() {
        armedFor = .infinity
        timer.disarm(loop: loop.raw)
    }

    @inline(__always) private func link(of connection: Connection) -> DeadlineLink {
        kind == .ping ? connection.pingLink : connection.pongLink
    }

    @inline(__always) private func setLink(_ link: DeadlineLink, of connection: Connection) {
        if kind == .ping { connection.pingLink = link } else { connection.pongLink = link }
    }

    @inline(__always) private func modifyLink(of connection: Connection, _ change: (inout DeadlineLink) -> Void) {
        if kind == .ping { change(&connection.pingLink) } else { change(&connection.pongLink) }
    }
}

private let deadlineListCallback: lifeline_ev_timer_cb = { _, watcher, _ in
    Unmanaged<DeadlineList>.fromOpaque(watcher!.pointee.data!)._withUnsafeGuaranteedRef { $0.fire() }
}

/// The four deadline lists of a loop (ping and pong, for each side), and the glue that
/// keeps a connection linked where its heartbeat's current deadlines say.
final class KeepAliveScheduler {
    private let lists: [DeadlineList]   // [downstream ping, downstream pong, upstream ping, upstream pong]

    init(loop: EventLoop, onDue: @escaping (Connection) -> Void) {
        lists = [DeadlineList(kind: .ping, loop: loop), DeadlineList(kind: .pong, loop: loop),
                 DeadlineList(kind: .ping, loop: loop), DeadlineList(kind: .pong, loop: loop)]
        for list in lists { list.onDue = onDue }
    }

    private func pingList(_ connection: Connection) -> DeadlineList { lists[connection.role == .downstream ? 0 : 2] }
    private func pongList(_ connection: Connection) -> DeadlineList { lists[connection.role == .downstream ? 1 : 3] }

    /// Links `connection` where its heartbeat's deadlines are (or unlinks it).
    func reschedule(_ connection: Connection) {
        let pingAt = connection.heartbeat?.nextPingAt
        let pongAt = connection.heartbeat?.pongDeadline
        relink(connection, in: pingList(connection), current: connection.pingLink, to: pingAt)
        relink(connection, in: pongList(connection), current: connection.pongLink, to: pongAt)
    }

    func untrack(_ connection: Connection) {
        pingList(connection).remove(connection)
        pongList(connection).remove(connection)
    }

    /// After a reload changed the interval: every tracked connection of `role` re-linked
    /// in deadline order.
    func rebuild(role: Connection.Role, reconfigure: (Connection) -> Void) {
        let base = role == .downstream ? 0 : 2
        var connections = lists[base].removeAll()
        var seen = Set(connections.map(ObjectIdentifier.init))
        for connection in lists[base + 1].removeAll() where seen.insert(ObjectIdentifier(connection)).inserted {
            connections.append(connection)
        }
        connections.forEach(reconfigure)
        connections.sort { ($0.heartbeat?.nextPingAt ?? .infinity) < ($1.heartbeat?.nextPingAt ?? .infinity) }
        for connection in connections {
            relink(connection, in: lists[base], current: connection.pingLink, to: connection.heartbeat?.nextPingAt)
        }
        connections.sort { ($0.heartbeat?.pongDeadline ?? .infinity) < ($1.heartbeat?.pongDeadline ?? .infinity) }
        for connection in connections {
            relink(connection, in: lists[base + 1], current: connection.pongLink, to: connection.heartbeat?.pongDeadline)
        }
    }

    private func relink(_ connection: Connection, in list: DeadlineList, current: DeadlineLink, to deadline: Double?) {
        if current.isLinked && current.deadline == deadline { return }
        list.remove(connection)
        if let deadline { list.append(connection, deadline: deadline) }
    }
}
