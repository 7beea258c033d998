#!/usr/bin/env node
// A stand-in for a real agent CLI (Claude Code, Aider, …): reads the task's input as JSON on
// stdin and answers with one JSON object on stdout, which becomes the task's output.
let text = ''
for await (const chunk of process.stdin) text += chunk
const input = text ? JSON.parse(text) : null
const result = {
  agent: process.env.HIVE_AGENT_ID ?? null,
  task: process.env.HIVE_TASK_ID,
  attempt: Number(process.env.HIVE_ATTEMPT),
  echoed: input,
}
process.stdout.write(`${JSON.stringify(result)}\n`)
