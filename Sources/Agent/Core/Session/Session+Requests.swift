import AgentProtocol
import Glibc

extension Session {
    func handleLine(_ line: [UInt8]) {
        if LineFramer.isBlank(line) { return }
        switch codec.decodeControllerLine(line) {
        case .failure(let failure):
            if let id = failure.id {
                if let limit = ignoreThrough, id <= limit { return }
                highestRequestID = max(highestRequestID ?? 0, id)
            }
            sendError(id: failure.id, failure.error)
            if !helloDone && config.requiredToken != nil { end = .rejected }
        case .success(.hello(let hello)):
            handleHello(hello)
        case .success(.ack(let seq)):
            guard helloDone else { return rejectBeforeHello(id: nil) }
            if !out.ack(seq) {
                sendError(id: nil, ProtocolError(.invalidField, "ack of sequence \(seq), but the last one sent is \(out.lastSeq)"))
            }
        case .success(.request(let request)):
            guard helloDone else { return rejectBeforeHello(id: request.id) }
            // Sent again by a controller that could not know it had arrived.
            if let limit = ignoreThrough, request.id <= limit { return }
            highestRequestID = max(highestRequestID ?? 0, request.id)
            handleRequest(request)
        case .success(.bye):
            guard helloDone else { return rejectBeforeHello(id: nil) }
            end = .peerClosed
        }
    }

    private func rejectBeforeHello(id: UInt64?) {
        sendError(id: id, ProtocolError(.helloRequired, "the first message must be a hello"))
        if config.requiredToken != nil { end = .rejected }
    }

    private func handleHello(_ hello: ControllerHello) {
        guard !helloDone else {
            return sendError(id: nil, ProtocolError(.badMessage, "hello was already exchanged in this session"))
        }
        guard hello.version == ProtocolConstants.version else {
            sendError(id: nil, ProtocolError(.versionMismatch,
                "this agent speaks protocol version \(ProtocolConstants.version), the controller version \(hello.version); deploy a matching agent"))
            end = .rejected
            return
        }
        if let required = config.requiredToken {
            guard let token = hello.token, constantTimeEqual(token, required) else {
                sendError(id: nil, ProtocolError(.authFailed, hello.token == nil ? "this listener requires a token" : "wrong token"))
                end = .rejected
                return
            }
        }
        helloDone = true
        config.onAuthenticated?()
        if let resume = hello.resume { return handleResumeHello(resume, window: hello.window) }
        if let asked = hello.window, asked > 0 { window = min(asked, 64 * ProtocolConstants.defaultWindow) }
        sessionID = randomHex(bytes: 16)
        if hello.resumable == true, config.graceNs > 0, let table = config.table {
            resumable = true
            out.memoryLimit = config.replayMemory
            out.spillDirectory = config.spillDirectory
            out.spillLimit = config.spillLimit
            out.sessionID = sessionID
            out.keepsSentLines = true
            table.register(sessionID, mailbox: mailbox)
        }
        send(.hello(AgentHello(
            version: ProtocolConstants.version,
            agent: AgentMain.version,
            session: sessionID,
            pid: getpid(),
            operations: Operation.allCases.map(\.rawValue),
            maxLine: codec.maxLineLength,
            window: window,
            graceMs: resumable ? Int(config.graceNs / 1_000_000) : nil
        )))
    }

    private func handleRequest(_ request: Request) {
        let id = request.id
        if execs[id] != nil || fileOpsInFlight.contains(id) || stdinRequests.contains(id) {
            return sendError(id: id, ProtocolError(.duplicateID, "request \(id) is still in flight"))
        }
        do {
            try request.body.validate()
        } catch {
            return sendError(id: id, error)
        }
        switch request.body {
        case .ping:
            reply(id, .success(.pong(PongResult(monotonicNs: Sys.now()))))
        case .exec(let params):
            startExec(id: id, params)
        case .cancel(let params):
            cancelExec(id: id, params)
        case .stdin(let params):
            feedStdin(id: id, params)
        case .shutdown:
            reply(id, .success(.done(.shutdown)))
            end = .shutdown
        case .configure(let params):
            let refusal = config.configure.map { $0(params) }
                ?? ProtocolError(.invalidField, "agent.configure: an agent on stdio has no idle timeout (it ends with its session)")
            if let refusal { sendError(id: id, refusal) } else { reply(id, .success(.done(.configure))) }
        case .stat, .mkdir, .write, .read, .remove, .chmod, .chown, .symlink, .list, .syncScan, .syncApply:
            if case .mkdir(let params) = request.body, params.scratch == true, !scratchDirectories.contains(params.path) {
                scratchDirectories.append(params.path)
            }
            fileOpsInFlight.insert(id)
            let mailbox = self.mailbox
            let body = request.body, syncs = self.syncs
            fileQueue.async {
                guard mailbox.isOpen else { return }
                mailbox.post(.finished(id: id, outcome: FileOperations.perform(body, syncs: syncs)))
            }
        }
    }

    func handleMailbox() {
        for item in mailbox.drain() {
            switch item {
            case .exited(let pid, let status):
                processExited(pid: pid, status: status)
            case .finished(let id, let outcome):
                fileOpsInFlight.remove(id)
                reply(id, outcome)
            case .attach(let handover):
                attach(handover)
            }
        }
    }
}

func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var diff: UInt8 = 0
    for i in x.indices { diff |= x[i] ^ y[i] }
    return diff == 0
}

func randomHex(bytes: Int) -> String {
    var rng = SystemRandomNumberGenerator()
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes * 2)
    for _ in 0..<bytes {
        let b = UInt8.random(in: 0...255, using: &rng)
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 0xf)])
    }
    return String(decoding: out, as: UTF8.self)
}
