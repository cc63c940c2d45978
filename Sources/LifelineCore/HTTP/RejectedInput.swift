/// Why Lifeline refused a handshake input — the `reason` label of
/// `lifeline_rejected_inputs_total{side, reason}`. Owns the fixed value set and which side
/// (the app's request, or upstream's handshake response) each value can occur on; every
/// applicable (side, reason) pair is exported, zero or not. SECURITY.md's "Hostile input"
/// table lists the input behind each value and what the peer gets.
public enum RejectedInput: Int, CaseIterable, Sendable {
    // Either side: the head's bytes and field lines.
    case headTooLarge, tooManyFields, badCharacter, obsFold, badHeaderSyntax
    // The app's request.
    case badRequestLine, badTarget, duplicateHeader, conflictingHeader, bodyOnUpgrade, badHandshake,
         notWebSocket, requestTimeout
    // Upstream's response.
    case badStatusLine, bodyOn101, invalid101, badBody, truncatedResponse, responseTimeout

    /// The label value as exported.
    public var label: String {
        switch self {
        case .headTooLarge: return "head_too_large"
        case .tooManyFields: return "too_many_fields"
        case .badCharacter: return "bad_character"
        case .obsFold: return "obs_fold"
        case .badHeaderSyntax: return "bad_header_syntax"
        case .badRequestLine: return "bad_request_line"
        case .badTarget: return "bad_target"
        case .duplicateHeader: return "duplicate_header"
        case .conflictingHeader: return "conflicting_header"
        case .bodyOnUpgrade: return "body_on_upgrade"
        case .badHandshake: return "bad_handshake"
        case .notWebSocket: return "not_websocket"
        case .requestTimeout: return "request_timeout"
        case .badStatusLine: return "bad_status_line"
        case .bodyOn101: return "body_on_101"
        case .invalid101: return "invalid_101"
        case .badBody: return "bad_body"
        case .truncatedResponse: return "truncated_response"
        case .responseTimeout: return "response_timeout"
        }
    }

    /// Whether this reason can be counted on `side` (and so is exported for it).
    public func applies(to side: MetricSide) -> Bool {
        switch self {
        case .headTooLarge, .tooManyFields, .badCharacter, .obsFold, .badHeaderSyntax:
            return true
        case .badRequestLine, .badTarget, .duplicateHeader, .conflictingHeader, .bodyOnUpgrade, .badHandshake,
             .notWebSocket, .requestTimeout:
            return side == .downstream
        case .badStatusLine, .bodyOn101, .invalid101, .badBody, .truncatedResponse, .responseTimeout:
            return side == .upstream
        }
    }
}

extension MessageHead.Failure {
    /// The metric reason for a malformed field section.
    var rejectedInput: RejectedInput {
        switch self {
        case .tooManyFields: return .tooManyFields
        case .obsFold: return .obsFold
        case .missingColon, .invalidName, .whitespaceBeforeColon: return .badHeaderSyntax
        case .invalidValue, .notUTF8: return .badCharacter
        case .emptyStartLine: return .badHeaderSyntax
        }
    }
}
