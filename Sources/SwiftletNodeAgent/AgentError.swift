/// A failure of the agent's own, with the message shown in events and logs.
struct AgentError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
