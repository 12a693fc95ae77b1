import Testing

/// Every test of `agentq serve`, one at a time.
///
/// Each starts a server process with a worker pool and waits on it; run side by side they
/// load a 2-core machine enough to starve the rest of the suite's async tests, which share the
/// same two cooperative threads. One after another they take about as long in all.
@Suite(.serialized) struct ServerSuite {}
