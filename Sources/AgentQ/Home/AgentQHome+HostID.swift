import Foundation

/// The stable ID of the host a home is on, kept in `<home>/host-id`.
extension AgentQHome {
    /// `<home>/host-id`: this host's ID, made once.
    public var hostIDFile: URL { root.appendingPathComponent("host-id") }

    /// This host's stable ID: the host name and a random suffix, written to `<home>/host-id` the
    /// first time and read from it after, so it survives restarts and renames and two homes on
    /// one machine (two "hosts" in a test) still differ.
    ///
    /// Sessions record it: their workspaces live in this home, so only workers of this home run
    /// their turns (unless workspaces are on shared storage). Of several processes making it at
    /// once, the first link wins and the others read its ID.
    ///
    /// ```swift
    /// let id = try home.hostID()   // "build-7-k3v9q2mx"
    /// ```
    /// - throws: ``AgentQError`` `.invalidHome` when the file cannot be read or written, or holds no ID.
    public func hostID() throws -> String {
        if let existing = try readHostID() { return existing }
        try prepare()
        let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz")
        var generator = SystemRandomNumberGenerator()
        let suffix = String((0..<8).map { _ in alphabet[Int(generator.next() % 32)] })
        let name = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
        let safe = String(name.lowercased().map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" }.prefix(40))
        let id = (safe.isEmpty ? "host" : safe) + "-" + suffix
        let temporary = root.appendingPathComponent(".host-id-\(UUID().uuidString)")
        do {
            try Data((id + "\n").utf8).write(to: temporary)
        } catch {
            throw AgentQError(.invalidHome, "cannot write \(temporary.path): \(error.localizedDescription)")
        }
        defer { unlink(temporary.path) }
        // link(2) never replaces: a process that lost the race reads the winner's ID.
        if link(temporary.path, hostIDFile.path) != 0 && errno != EEXIST {
            throw AgentQError(.invalidHome, "cannot create \(hostIDFile.path): \(String(cString: strerror(errno)))")
        }
        guard let stored = try readHostID() else {
            throw AgentQError(.invalidHome, "\(hostIDFile.path) holds no host ID: remove it to make a new one")
        }
        return stored
    }

    private func readHostID() throws -> String? {
        let data: Data
        do {
            data = try Data(contentsOf: hostIDFile)
        } catch CocoaError.fileReadNoSuchFile {
            return nil
        } catch {
            throw AgentQError(.invalidHome, "cannot read \(hostIDFile.path): \(error.localizedDescription)")
        }
        let id = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !id.isEmpty, id.count <= 200, !id.contains(where: \.isNewline) else {
            throw AgentQError(.invalidHome, "\(hostIDFile.path) holds no host ID: remove it to make a new one")
        }
        return id
    }
}
