// Drives the official openai Node SDK (pinned in install_clients.sh) against
// zend, for test_clients.py. Usage:
//   node openai_chat.mjs plain|stream BASE_URL
// The SDK comes from $ZEN_CLIENTS_DIR/node_modules (never committed), so the
// import is dynamic. Prints one JSON object on stdout with what the SDK saw;
// any SDK error (a malformed chunk sequence included) exits non-zero.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [mode, baseURL] = process.argv.slice(2);
const sdk = join(process.env.ZEN_CLIENTS_DIR, 'node_modules', 'openai', 'index.mjs');
const { default: OpenAI } = await import(pathToFileURL(sdk).href);

// maxRetries 0: a failure must show as a failure, not as a retried success.
const client = new OpenAI({ apiKey: 'dummy', baseURL, maxRetries: 0, timeout: 20000 });

async function plain() {
  const c = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'say hi' }],
  });
  return {
    object: c.object,
    content: c.choices[0].message.content,
    role: c.choices[0].message.role,
    finish_reason: c.choices[0].finish_reason,
    usage: c.usage,
  };
}

const TOOLS = ['get_weather', 'get_time'].map((name) => ({
  type: 'function',
  function: {
    name,
    description: `${name} for a city`,
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
    },
  },
}));

async function stream() {
  // The SDK's own accumulator: it checks the chunk sequence (tool-call
  // indexes, argument pieces) and builds the final completion from it.
  const s = client.chat.completions.stream({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'weather and time in Paris?' }],
    tools: TOOLS,
    stream_options: { include_usage: true },
  });
  const doneArgs = [];
  s.on('tool_calls.function.arguments.done', (e) => {
    doneArgs.push({ name: e.name, index: e.index, arguments: JSON.parse(e.arguments) });
  });
  let chunks = 0;
  const usageChunks = [];
  for await (const chunk of s) {
    chunks += 1;
    if (chunk.usage) usageChunks.push({ choices: chunk.choices.length, usage: chunk.usage });
  }
  const final = await s.finalChatCompletion();
  const msg = final.choices[0].message;
  return {
    chunks,
    usage_chunks: usageChunks,
    content: msg.content,
    finish_reason: final.choices[0].finish_reason,
    tool_calls: (msg.tool_calls || []).map((t) => ({
      id: t.id,
      type: t.type,
      name: t.function.name,
      arguments: JSON.parse(t.function.arguments),
    })),
    done_args: doneArgs,
    usage: final.usage,
  };
}

const out = mode === 'plain' ? await plain() : await stream();
process.stdout.write(JSON.stringify(out) + '\n');
