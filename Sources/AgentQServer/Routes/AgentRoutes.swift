import AgentQ
import Foundation
import Hummingbird

/// The agent endpoints: list, add or replace (the same definition JSON `agentq agents add`
/// reads from a file), show, remove.
struct AgentRoutes: Sendable {
    let environment: ServerEnvironment

    func register(on router: Router<BasicRequestContext>) {
        let queue = environment.queue
        let maxJSONBytes = environment.configuration.maxJSONBytes

        router.get("/agents") { _, _ -> Response in
            let documents = try await blocking { try queue.agents.allAgents().map { $0.jsonText() } }
            return JSONResponse.array(documents)
        }

        router.post("/agents") { request, _ -> Response in
            // Read with the JSON cap, then parsed exactly as a definition file is, so the
            // errors name the same fields.
            let body = try await RequestJSON.object(request, limit: maxJSONBytes)
            let data = try JSONSerialization.data(withJSONObject: body.fields)
            let definition = try AgentDefinition.parse(data, source: "the agent definition")
            let replaced = try await blocking { try queue.agents.save(definition) }
            return JSONResponse.make(definition.jsonText(), status: replaced ? .ok : .created)
        }

        router.get("/agents/{name}") { _, context -> Response in
            let name = try context.pathParameter("name")
            guard let agent = try await blocking({ try queue.agents.agent(named: name) }) else {
                throw AgentQError(.unknownAgent, "no agent named '\(name)'")
            }
            return JSONResponse.make(agent.jsonText())
        }

        router.delete("/agents/{name}") { _, context -> Response in
            let name = try context.pathParameter("name")
            guard try await blocking({ try queue.agents.remove(named: name) }) else {
                throw AgentQError(.unknownAgent, "no agent named '\(name)'")
            }
            return Response(status: .noContent)
        }
    }
}
