"""Every write about jobs, one concern a module. Views, the API, consumers and tasks call these.

- `launch`: check a launch (limits, GPU routing, a second run of the same recipe) and create the job
- `lifecycle`: the state machine every state write goes through, the timeline, live events, cancel
- `dispatch`: hand a job to the broker (and mark it for the reaper when the broker is away)
- `run`: what a worker does with a job: claim it, run the engine, report progress, finish it
- `reaper`: periodic repairs: stale jobs re-queued or given up, unsent jobs sent, orphan files removed
- `workers`: workers announcing what they can run
- `throughput`: measured speed of finished jobs, for ETAs
"""
